"""ONNX export of a fitted pipeline, kept only after a parity test on held-out rows (NaN included).

Each input column becomes its own ONNX input (numbers as float, anything else as string), so the
ColumnTransformer converts column by column. Where no converter exists (civicml's own
components, for example), export returns no model and says why; it never fakes a conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["OnnxExport", "ParityResult", "export_onnx", "onnx_feed", "parity"]


@dataclass(frozen=True)
class OnnxExport:
    """The serialised ONNX model, or None with the reason it could not be made."""

    model: bytes | None
    reason: str | None = None


@dataclass(frozen=True)
class ParityResult:
    """How closely ONNX Runtime reproduces the pipeline on the same rows."""

    n_rows: int
    n_nan_rows: int
    max_abs_diff: float
    label_agreement: float
    ok: bool


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def onnx_feed(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """ONNX Runtime inputs for ``X``: one (n, 1) tensor per column."""
    feed = {}
    for col in X.columns:
        s = X[col]
        if _is_numeric(s):
            feed[str(col)] = s.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
        else:
            feed[str(col)] = np.asarray(s.astype(object), dtype=object).astype(str).reshape(-1, 1)
    return feed


def export_onnx(pipeline: Any, X_sample: pd.DataFrame, *, target_opset: int = 17) -> OnnxExport:
    """Convert a fitted pipeline with skl2onnx (LightGBM through onnxmltools).

    Returns ``OnnxExport(None, reason)`` when a converter is missing or conversion fails.
    """
    try:
        from skl2onnx import to_onnx, update_registered_converter
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    except ImportError as exc:
        return OnnxExport(None, f"skl2onnx is not installed ({exc})")
    try:
        import lightgbm as lgb
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            lgb.LGBMClassifier,
            "LgbmClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
        )
    except ImportError:
        pass
    inputs = [
        (
            str(c),
            FloatTensorType([None, 1]) if _is_numeric(X_sample[c]) else StringTensorType([None, 1]),
        )
        for c in X_sample.columns
    ]
    options = None
    if hasattr(pipeline, "predict_proba"):
        options = {id(pipeline): {"zipmap": False}}
    try:
        onx = to_onnx(pipeline, initial_types=inputs, target_opset=target_opset, options=options)
    except Exception as exc:  # skl2onnx raises many types for unsupported pieces
        first = str(exc).splitlines()[0] if str(exc) else ""
        return OnnxExport(
            None, f"no ONNX converter for this pipeline: {type(exc).__name__}: {first}"
        )
    return OnnxExport(onx.SerializeToString(), None)


def parity(
    onnx_model: bytes, pipeline: Any, X_holdout: pd.DataFrame, *, atol: float = 1e-4
) -> ParityResult:
    """Compare ONNX Runtime with the pipeline on ``X_holdout`` (rows with NaN included)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    outs = sess.run(None, onnx_feed(X_holdout))
    n_nan = int(X_holdout.isna().any(axis=1).sum())
    if hasattr(pipeline, "predict_proba"):
        expected = np.asarray(pipeline.predict_proba(X_holdout), dtype=float)
        got = np.asarray(outs[1], dtype=float)
        labels_ok = np.asarray(outs[0]).ravel() == np.asarray(pipeline.predict(X_holdout)).ravel()
    else:
        expected = np.asarray(pipeline.predict(X_holdout), dtype=float).ravel()
        got = np.asarray(outs[0], dtype=float).ravel()
        scale = max(1.0, float(np.nanmax(np.abs(expected))) if len(expected) else 1.0)
        got, expected = got / scale, expected / scale
        labels_ok = np.ones(len(expected), dtype=bool)
    diff = float(np.max(np.abs(got - expected))) if len(expected) else 0.0
    agreement = float(np.mean(labels_ok)) if len(labels_ok) else 1.0
    return ParityResult(len(X_holdout), n_nan, diff, agreement, diff <= atol and agreement == 1.0)
