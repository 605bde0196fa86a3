"""ONNX export of a fitted pipeline, kept only after a parity test on held-out rows (NaN included).

Each input column becomes its own ONNX input (numbers as float, anything else as string), so the
ColumnTransformer converts column by column. Columns that a ``FunctionTransformer(to_str)``
reads are fed as the very strings ``to_str`` would make, so categories match exactly.

civicml's own components convert through converters registered here:

- ``FunctionTransformer(to_str)``: identity on the string input (the feed already holds
  ``to_str``'s strings); a ``FunctionTransformer`` without ``func`` is an identity too.
- ``AsCategorical``: identity on the ordinal codes (its categories are the codes
  ``0..k-1`` seen at fit). LightGBM's categorical splits (``==`` on a set of codes) are unfolded
  by onnxmltools into chains of ``BRANCH_EQ`` nodes; missing and unknown codes (NaN) fall to
  the "not in set" branch as in LightGBM. Parity tests cover NaN and unknown categories.
- ``WeightedEnsemble``: weighted sum of the members' probabilities (or values).
- ``CalibratedModel``: the model's probabilities through sigmoid (``logit`` → linear →
  sigmoid) or isotonic (piecewise-linear interpolation, clipped) calibrators.
- ``TabularMLPClassifier`` / ``TabularMLPRegressor``: each category code is checked (finite,
  whole, in ``0..k-1``, else index 0 as in numpy) and looked up in its embedding table
  (``Gather``); NaN numbers read as 0; then ``MatMul``/``Add``/``Relu`` layers and ``Softmax``
  (or ``* y_scale + y_mean``).

``DateFeatures``, text columns (TF-IDF or sentence embeddings) and HistGradientBoosting with native categorical splits have no
converter: export returns no model and says why. It never fakes a conversion, and
:func:`parity` decides whether an exported model is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["OnnxExport", "ParityResult", "export_onnx", "onnx_feed", "parity", "string_columns"]


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


def _is_to_str(step: Any) -> bool:
    from sklearn.preprocessing import FunctionTransformer

    from civicml.components import to_str

    return isinstance(step, FunctionTransformer) and step.func is to_str


def _walk_column_transformers(model: Any) -> Iterable[Any]:
    """Every ColumnTransformer inside ``model`` (pipelines, ensembles, calibrated wrappers)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    from civicml.components import CalibratedModel, WeightedEnsemble

    if isinstance(model, ColumnTransformer):
        yield model
    elif isinstance(model, Pipeline):
        for _, step in model.steps:
            yield from _walk_column_transformers(step)
    elif isinstance(model, WeightedEnsemble):
        for est in getattr(model, "estimators_", []):
            yield from _walk_column_transformers(est)
    elif isinstance(model, CalibratedModel):
        yield from _walk_column_transformers(getattr(model, "estimator_", None))


def string_columns(pipeline: Any, X_sample: pd.DataFrame) -> list[str]:
    """Input columns fed to ONNX as strings: non-numeric ones, and those read by ``to_str``."""
    out = {str(c) for c in X_sample.columns if not _is_numeric(X_sample[c])}
    for ct in _walk_column_transformers(pipeline):
        for _, trans, cols in getattr(ct, "transformers_", ct.transformers):
            first = trans.steps[0][1] if hasattr(trans, "steps") else trans
            if _is_to_str(first) and isinstance(cols, (list, tuple)):
                out.update(str(c) for c in cols)
    return [str(c) for c in X_sample.columns if str(c) in out]


def onnx_feed(
    X: pd.DataFrame, string_columns: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """ONNX Runtime inputs for ``X``: one (n, 1) tensor per column.

    String columns hold exactly what :func:`civicml.components.to_str` makes of the values
    (missing values become ``"nan"``/``"None"`` as there); the others are float32 with NaN.
    """
    from civicml.components import to_str

    strings = set(string_columns) if string_columns is not None else None
    feed = {}
    for col in X.columns:
        s = X[col]
        as_str = (str(col) in strings) if strings is not None else not _is_numeric(s)
        if as_str:
            feed[str(col)] = to_str(np.asarray(s, dtype=object).reshape(-1, 1))
        else:
            feed[str(col)] = s.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
    return feed


# -- converters for civicml's components ------------------------------------------------------


def _function_transformer_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import StringTensorType

    model = operator.raw_operator
    if model.func is not None and not _is_to_str(model):
        raise NotImplementedError(
            f"FunctionTransformer({getattr(model.func, '__name__', model.func)!r}) has no ONNX "
            "converter"
        )
    if _is_to_str(model):
        for var in operator.inputs:
            if not isinstance(var.type, StringTensorType):
                raise NotImplementedError(
                    "to_str on a numeric input cannot be reproduced exactly in ONNX"
                )
    n = operator.inputs[0].type.shape[0]
    width = sum(int(v.type.shape[1]) for v in operator.inputs)
    operator.outputs[0].type = operator.inputs[0].type.__class__([n, width])


def _function_transformer_convert(scope: Any, operator: Any, container: Any) -> None:
    names = [v.full_name for v in operator.inputs]
    if len(names) == 1:
        container.add_node(
            "Identity",
            names[0],
            operator.outputs[0].full_name,
            name=scope.get_unique_operator_name("Id"),
        )
    else:
        container.add_node(
            "Concat",
            names,
            operator.outputs[0].full_name,
            name=scope.get_unique_operator_name("Concat"),
            axis=1,
        )


def _as_categorical_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    model = operator.raw_operator
    for cats in model.categories_:
        if list(cats) != [float(i) for i in range(len(cats))]:
            raise NotImplementedError(
                "AsCategorical's categories are not the codes 0..k-1; no exact ONNX converter"
            )
    shape = operator.inputs[0].type.shape
    operator.outputs[0].type = FloatTensorType([shape[0], model.n_features_in_])


def _as_categorical_convert(scope: Any, operator: Any, container: Any) -> None:
    container.add_node(
        "Identity",
        operator.inputs[0].full_name,
        operator.outputs[0].full_name,
        name=scope.get_unique_operator_name("AsCategorical"),
    )


def _is_classifier(model: Any) -> bool:
    return getattr(model, "task", "binary") != "regression" and hasattr(model, "classes_")


def _wrapper_parser(scope: Any, model: Any, inputs: Any, custom_parsers: Any = None) -> Any:
    """Parse the wrapped models first; the wrapper's operator reads their outputs."""
    from skl2onnx._parse import _parse_sklearn
    from skl2onnx.common.data_types import (
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    from civicml.components import CalibratedModel

    members = [model.estimator_] if isinstance(model, CalibratedModel) else model.estimators_
    classifier = _is_classifier(model)
    sub_outputs = []
    for est in members:
        outs = _parse_sklearn(scope, est, list(inputs), custom_parsers=custom_parsers)
        if classifier and len(outs) != 2:
            raise NotImplementedError(f"{type(est).__name__} gave no probability output")
        sub_outputs.append(outs[1] if classifier else outs[0])
    this = scope.declare_local_operator(_ALIASES[type(model).__name__], model)
    this.inputs = sub_outputs
    if classifier:
        ints = np.issubdtype(np.asarray(model.classes_).dtype, np.integer)
        label = scope.declare_local_variable(
            "label", Int64TensorType() if ints else StringTensorType()
        )
        proba = scope.declare_local_variable("probabilities", FloatTensorType())
        this.outputs.extend([label, proba])
    else:
        this.outputs.append(scope.declare_local_variable("variable", FloatTensorType()))
    return list(this.outputs)


def _wrapper_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    model = operator.raw_operator
    n = operator.inputs[0].type.shape[0] if operator.inputs[0].type.shape else None
    if _is_classifier(model):
        ints = np.issubdtype(np.asarray(model.classes_).dtype, np.integer)
        operator.outputs[0].type = Int64TensorType([n]) if ints else StringTensorType([n])
        operator.outputs[1].type = FloatTensorType([n, len(model.classes_)])
    else:
        operator.outputs[0].type = FloatTensorType([n, 1])


def _labels(proba: Any, classes: np.ndarray, opv: int, out: str) -> Any:
    from skl2onnx.algebra.onnx_ops import OnnxArgMax, OnnxGather

    arg = OnnxArgMax(proba, axis=1, keepdims=0, op_version=opv)
    if np.issubdtype(classes.dtype, np.integer):
        table = classes.astype(np.int64)
    else:
        table = classes.astype(str).astype(object)
    return OnnxGather(table, arg, op_version=opv, output_names=[out])


def _ensemble_convert(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra.onnx_ops import OnnxIdentity, OnnxMul, OnnxReshape, OnnxSum

    model = operator.raw_operator
    opv = container.target_opset
    classifier = _is_classifier(model)
    parts = []
    for var, w in zip(operator.inputs, model.weights_, strict=True):
        value: Any = var
        if not classifier:
            value = OnnxReshape(var, np.array([-1, 1], dtype=np.int64), op_version=opv)
        parts.append(OnnxMul(value, np.array([w], dtype=np.float32), op_version=opv))
    total = parts[0] if len(parts) == 1 else OnnxSum(*parts, op_version=opv)
    if classifier:
        proba = OnnxIdentity(total, op_version=opv, output_names=[operator.outputs[1].full_name])
        label = _labels(proba, np.asarray(model.classes_), opv, operator.outputs[0].full_name)
        label.add_to(scope, container)
        proba.add_to(scope, container)
    else:
        out = OnnxIdentity(total, op_version=opv, output_names=[operator.outputs[0].full_name])
        out.add_to(scope, container)


def _calibrate_column(p: Any, cal: Any, method: str, opv: int) -> Any:
    """ONNX for one calibrator applied to a (n, 1) probability column."""
    from skl2onnx.algebra import onnx_ops as ops

    f32 = np.float32
    if method == "isotonic":
        xs = np.asarray(cal.X_thresholds_, dtype=np.float64)
        ys = np.asarray(cal.y_thresholds_, dtype=np.float64)
        if len(xs) == 1:
            return ops.OnnxAdd(
                ops.OnnxMul(p, np.array([0.0], dtype=f32), op_version=opv),
                np.array([ys[0]], dtype=f32),
                op_version=opv,
            )
        widths = np.diff(xs)
        slopes = np.diff(ys) / widths
        x = ops.OnnxMax(
            ops.OnnxMin(p, np.array([xs[-1]], dtype=f32), op_version=opv),
            np.array([xs[0]], dtype=f32),
            op_version=opv,
        )
        seg = ops.OnnxMin(
            ops.OnnxMax(
                ops.OnnxSub(x, xs[:-1].astype(f32).reshape(1, -1), op_version=opv),
                np.array([0.0], dtype=f32),
                op_version=opv,
            ),
            widths.astype(f32).reshape(1, -1),
            op_version=opv,
        )
        total = ops.OnnxReduceSumApi11(
            ops.OnnxMul(seg, slopes.astype(f32).reshape(1, -1), op_version=opv),
            axes=[1],
            keepdims=1,
            op_version=opv,
        )
        return ops.OnnxAdd(total, np.array([ys[0]], dtype=f32), op_version=opv)
    # sigmoid: logistic regression on logit(clip(p, 1e-7, 1 - 1e-7))
    clipped = ops.OnnxClip(
        p, np.array(1e-7, dtype=f32), np.array(1 - 1e-7, dtype=f32), op_version=opv
    )
    logit = ops.OnnxLog(
        ops.OnnxDiv(
            clipped,
            ops.OnnxSub(np.array([1.0], dtype=f32), clipped, op_version=opv),
            op_version=opv,
        ),
        op_version=opv,
    )
    coef = float(np.ravel(cal.coef_)[0])
    intercept = float(np.ravel(cal.intercept_)[0])
    z = ops.OnnxAdd(
        ops.OnnxMul(logit, np.array([coef], dtype=f32), op_version=opv),
        np.array([intercept], dtype=f32),
        op_version=opv,
    )
    return ops.OnnxSigmoid(z, op_version=opv)


def _calibrated_convert(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra import onnx_ops as ops

    model = operator.raw_operator
    opv = container.target_opset
    f32 = np.float32
    if model.method not in ("sigmoid", "isotonic"):
        raise NotImplementedError(f"calibration method {model.method!r} has no ONNX converter")
    raw = operator.inputs[0]
    k = len(model.classes_)
    cols = [k - 1] if k == 2 else list(range(k))
    calibrated = []
    for j, cal in zip(cols, model.calibrators_, strict=True):
        pj = ops.OnnxSlice(
            raw,
            np.array([j], dtype=np.int64),
            np.array([j + 1], dtype=np.int64),
            np.array([1], dtype=np.int64),
            op_version=opv,
        )
        calibrated.append(_calibrate_column(pj, cal, model.method, opv))
    if k == 2:
        p1 = ops.OnnxClip(
            calibrated[0], np.array(0.0, dtype=f32), np.array(1.0, dtype=f32), op_version=opv
        )
        p0 = ops.OnnxSub(np.array([1.0], dtype=f32), p1, op_version=opv)
        proba_expr = ops.OnnxConcat(p0, p1, axis=1, op_version=opv)
    else:
        stacked = ops.OnnxConcat(*calibrated, axis=1, op_version=opv)
        stacked = ops.OnnxMax(stacked, np.array([1e-9], dtype=f32), op_version=opv)
        total = ops.OnnxReduceSumApi11(stacked, axes=[1], keepdims=1, op_version=opv)
        proba_expr = ops.OnnxDiv(stacked, total, op_version=opv)
    proba = ops.OnnxIdentity(
        proba_expr, op_version=opv, output_names=[operator.outputs[1].full_name]
    )
    label = _labels(proba, np.asarray(model.classes_), opv, operator.outputs[0].full_name)
    label.add_to(scope, container)
    proba.add_to(scope, container)


def _mlp_convert(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.algebra import onnx_ops as ops

    model = operator.raw_operator
    opv = container.target_opset
    f32, i64 = np.float32, np.int64
    x = operator.inputs[0]
    c = int(model.n_categorical)
    d = int(model.n_features_in_)

    def cols(lo: int, hi: int) -> Any:
        return ops.OnnxSlice(
            x,
            np.array([lo], dtype=i64),
            np.array([hi], dtype=i64),
            np.array([1], dtype=i64),
            op_version=opv,
        )

    def finite_or_zero(v: Any) -> Any:
        bad = ops.OnnxOr(
            ops.OnnxIsNaN(v, op_version=opv), ops.OnnxIsInf(v, op_version=opv), op_version=opv
        )
        return ops.OnnxWhere(bad, np.array([0.0], dtype=f32), v, op_version=opv)

    parts: list[Any] = []
    for j, (table, card) in enumerate(zip(model.embeddings_, model.cardinalities_, strict=True)):
        code = cols(j, j + 1)
        valid = ops.OnnxAnd(
            ops.OnnxAnd(
                ops.OnnxGreaterOrEqual(code, np.array([0.0], dtype=f32), op_version=opv),
                ops.OnnxLess(code, np.array([float(card)], dtype=f32), op_version=opv),
                op_version=opv,
            ),
            ops.OnnxEqual(ops.OnnxFloor(code, op_version=opv), code, op_version=opv),
            op_version=opv,
        )
        safe = ops.OnnxWhere(valid, code, np.array([-1.0], dtype=f32), op_version=opv)
        idx = ops.OnnxCast(
            ops.OnnxReshape(
                ops.OnnxAdd(safe, np.array([1.0], dtype=f32), op_version=opv),
                np.array([-1], dtype=i64),
                op_version=opv,
            ),
            to=7,  # INT64
            op_version=opv,
        )
        parts.append(ops.OnnxGather(np.asarray(table, dtype=f32), idx, axis=0, op_version=opv))
    if d > c:
        parts.append(finite_or_zero(cols(c, d) if c else x))
    h: Any = parts[0] if len(parts) == 1 else ops.OnnxConcat(*parts, axis=1, op_version=opv)
    n_layers = len(model.coefs_)
    for i, (w, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        h = ops.OnnxAdd(
            ops.OnnxMatMul(h, np.asarray(w, dtype=f32), op_version=opv),
            np.asarray(b, dtype=f32).reshape(1, -1),
            op_version=opv,
        )
        if i < n_layers - 1:
            h = ops.OnnxRelu(h, op_version=opv)
    if hasattr(model, "classes_"):
        proba = ops.OnnxSoftmax(
            h, axis=1, op_version=opv, output_names=[operator.outputs[1].full_name]
        )
        label = _labels(proba, np.asarray(model.classes_), opv, operator.outputs[0].full_name)
        label.add_to(scope, container)
        proba.add_to(scope, container)
    else:
        out = ops.OnnxAdd(
            ops.OnnxMul(h, np.array([model.y_scale_], dtype=f32), op_version=opv),
            np.array([model.y_mean_], dtype=f32),
            op_version=opv,
            output_names=[operator.outputs[0].full_name],
        )
        out.add_to(scope, container)


_ALIASES = {
    "WeightedEnsemble": "CivicmlWeightedEnsemble",
    "CalibratedModel": "CivicmlCalibratedModel",
}
_REGISTERED = False


def _imputer_with_indicator(original_shape: Any, original_convert: Any) -> tuple[Any, Any]:
    """SimpleImputer converters that also handle ``add_indicator=True`` (skl2onnx does not).

    The imputed block is ``Where(IsNaN(x), statistics, x)``; the indicator block is
    ``IsNaN`` of the columns that had missing values at fit, as floats, concatenated after it
    (scikit-learn's layout).
    """

    def shape(operator: Any) -> None:
        model = operator.raw_operator
        if not getattr(model, "add_indicator", False):
            original_shape(operator)
            return
        from skl2onnx.common.data_types import FloatTensorType

        if any(not isinstance(v.type, FloatTensorType) for v in operator.inputs):
            raise NotImplementedError("SimpleImputer(add_indicator=True) on non-float input")
        stats = np.asarray(model.statistics_, dtype=float)
        if np.isnan(stats).any() or not (
            model.missing_values is np.nan or model.missing_values != model.missing_values
        ):
            raise NotImplementedError("SimpleImputer with empty columns or non-NaN markers")
        n = operator.inputs[0].type.shape[0]
        width = len(stats) + len(model.indicator_.features_)
        operator.outputs[0].type = FloatTensorType([n, width])

    def convert(scope: Any, operator: Any, container: Any) -> None:
        model = operator.raw_operator
        if not getattr(model, "add_indicator", False):
            original_convert(scope, operator, container)
            return
        from skl2onnx.algebra import onnx_ops as ops

        opv = container.target_opset
        names = [v.full_name for v in operator.inputs]
        x: Any = names[0] if len(names) == 1 else ops.OnnxConcat(*names, axis=1, op_version=opv)
        stats = np.asarray(model.statistics_, dtype=np.float32).reshape(1, -1)
        nan = ops.OnnxIsNaN(x, op_version=opv)
        imputed = ops.OnnxWhere(nan, stats, x, op_version=opv)
        feats = np.asarray(model.indicator_.features_, dtype=np.int64)
        flags = ops.OnnxCast(
            ops.OnnxGather(nan, feats, axis=1, op_version=opv),
            to=1,  # FLOAT
            op_version=opv,
        )
        out = ops.OnnxConcat(
            imputed, flags, axis=1, op_version=opv, output_names=[operator.outputs[0].full_name]
        )
        out.add_to(scope, container)

    return shape, convert


def _register() -> None:
    """Register converters for LightGBM (onnxmltools) and civicml's components (once)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from sklearn.preprocessing import FunctionTransformer

    from civicml.components import AsCategorical, CalibratedModel, WeightedEnsemble

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
        update_registered_converter(
            lgb.LGBMRegressor,
            "LgbmRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
            options={"split": None},
        )
    except ImportError:
        pass
    update_registered_converter(
        FunctionTransformer,
        "SklearnFunctionTransformer",
        _function_transformer_shape,
        _function_transformer_convert,
    )
    from skl2onnx.common._registration import get_converter, get_shape_calculator
    from sklearn.impute import SimpleImputer

    imp_shape, imp_convert = _imputer_with_indicator(
        get_shape_calculator("SklearnImputer"), get_converter("SklearnImputer")
    )
    update_registered_converter(SimpleImputer, "SklearnImputer", imp_shape, imp_convert)
    update_registered_converter(
        AsCategorical, "CivicmlAsCategorical", _as_categorical_shape, _as_categorical_convert
    )
    from civicml.components import TabularMLPClassifier, TabularMLPRegressor

    update_registered_converter(
        TabularMLPClassifier,
        "CivicmlTabularMLPClassifier",
        calculate_linear_classifier_output_shapes,
        _mlp_convert,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        TabularMLPRegressor,
        "CivicmlTabularMLPRegressor",
        calculate_linear_regressor_output_shapes,
        _mlp_convert,
    )
    update_registered_converter(
        WeightedEnsemble,
        "CivicmlWeightedEnsemble",
        _wrapper_shape,
        _ensemble_convert,
        parser=_wrapper_parser,
    )
    update_registered_converter(
        CalibratedModel,
        "CivicmlCalibratedModel",
        _wrapper_shape,
        _calibrated_convert,
        parser=_wrapper_parser,
    )
    _REGISTERED = True


def _unsupported(pipeline: Any) -> str | None:
    """A reason when ``pipeline`` holds a piece known to have no exact converter."""
    from sklearn.preprocessing import FunctionTransformer

    from civicml.components import DateFeatures

    seen: list[Any] = []

    def visit(obj: Any) -> None:
        seen.append(obj)
        for attr in ("steps", "transformers_", "estimators_"):
            for item in getattr(obj, attr, None) or []:
                visit(item[1] if isinstance(item, tuple) else item)
        est = getattr(obj, "estimator_", None)
        if est is not None and est is not obj:
            visit(est)

    visit(pipeline)
    for obj in seen:
        if isinstance(obj, DateFeatures):
            return "DateFeatures (date columns) has no ONNX converter"
        if isinstance(obj, FunctionTransformer) and obj.func is not None and not _is_to_str(obj):
            name = getattr(obj.func, "__name__", repr(obj.func))
            return f"FunctionTransformer({name}) has no ONNX converter"
        if type(obj).__name__ == "OneHotEncoder" and obj.handle_unknown != "ignore":
            return (
                f"OneHotEncoder(handle_unknown={obj.handle_unknown!r}) fails on unknown "
                "categories in ONNX Runtime (scikit-learn maps them to the infrequent column)"
            )
        cats = getattr(obj, "is_categorical_", None)
        if (
            type(obj).__name__.startswith("HistGradientBoosting")
            and cats is not None
            and np.any(cats)
        ):
            return "HistGradientBoosting with native categorical splits has no exact ONNX converter"
    return None


def _classifiers(model: Any) -> list[Any]:
    """Every scikit-learn classifier (and pipeline ending in one) outside civicml's wrappers."""
    from civicml.components import CalibratedModel, WeightedEnsemble

    if isinstance(model, CalibratedModel):
        return _classifiers(model.estimator_)
    if isinstance(model, WeightedEnsemble):
        return [m for est in model.estimators_ for m in _classifiers(est)]
    if not hasattr(model, "predict_proba"):
        return []
    found = [model]
    if hasattr(model, "steps"):
        found += _classifiers(model.steps[-1][1])
    return found


def export_onnx(pipeline: Any, X_sample: pd.DataFrame, *, target_opset: int = 17) -> OnnxExport:
    """Convert a fitted pipeline with skl2onnx (LightGBM through onnxmltools).

    Returns ``OnnxExport(None, reason)`` when a converter is missing or conversion fails. The
    caller must run :func:`parity` before trusting the model.
    """
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    except ImportError as exc:
        return OnnxExport(None, f"skl2onnx is not installed ({exc})")
    reason = _unsupported(pipeline)
    if reason:
        return OnnxExport(None, reason)
    try:
        _register()
    except Exception as exc:  # pragma: no cover - a broken skl2onnx install
        return OnnxExport(None, f"could not register ONNX converters: {exc}")
    strings = set(string_columns(pipeline, X_sample))
    inputs = [
        (str(c), StringTensorType([None, 1]) if str(c) in strings else FloatTensorType([None, 1]))
        for c in X_sample.columns
    ]
    options = {id(m): {"zipmap": False} for m in _classifiers(pipeline)} or None
    try:
        onx = to_onnx(
            pipeline,
            initial_types=inputs,
            target_opset={"": target_opset, "ai.onnx.ml": 3},
            options=options,
        )
    except Exception as exc:  # skl2onnx raises many types for unsupported pieces
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        return OnnxExport(
            None, f"no ONNX converter for this pipeline: {type(exc).__name__}: {first}"
        )
    return OnnxExport(onx.SerializeToString(), None)


def parity(
    onnx_model: bytes, pipeline: Any, X_holdout: pd.DataFrame, *, atol: float = 1e-4
) -> ParityResult:
    """Compare ONNX Runtime with the pipeline on ``X_holdout`` (rows with NaN included)."""
    import onnxruntime as ort

    n_nan = int(X_holdout.isna().any(axis=1).sum())
    try:
        sess = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
        strings = [i.name for i in sess.get_inputs() if i.type == "tensor(string)"]
        outs = sess.run(None, onnx_feed(X_holdout, strings))
    except Exception:  # ONNX Runtime refused a row: that is a failed parity test
        return ParityResult(len(X_holdout), n_nan, float("inf"), 0.0, False)
    if hasattr(pipeline, "predict_proba") and len(outs) > 1:
        expected = np.asarray(pipeline.predict_proba(X_holdout), dtype=float)
        got = np.asarray(outs[1], dtype=float)
        want = np.asarray(pipeline.predict(X_holdout)).ravel()
        labels_ok = np.asarray(outs[0]).ravel().astype(want.dtype) == want
    else:
        expected = np.asarray(pipeline.predict(X_holdout), dtype=float).ravel()
        got = np.asarray(outs[0], dtype=float).ravel()
        scale = max(1.0, float(np.nanmax(np.abs(expected))) if len(expected) else 1.0)
        got, expected = got / scale, expected / scale
        labels_ok = np.ones(len(expected), dtype=bool)
    if got.shape != expected.shape:
        return ParityResult(len(X_holdout), n_nan, float("inf"), 0.0, False)
    diff = float(np.max(np.abs(got - expected))) if len(expected) else 0.0
    if np.isnan(diff):
        diff = float("inf")
    agreement = float(np.mean(labels_ok)) if len(labels_ok) else 1.0
    return ParityResult(len(X_holdout), n_nan, diff, agreement, diff <= atol and agreement == 1.0)
