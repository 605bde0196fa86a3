from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

from civicml.bundle._onnx import export_onnx, parity
from civicml.learn import FAMILIES, FeatureRoles, build_pipeline


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[::7, "b"] = np.nan
    y = (X["a"] + rng.normal(scale=0.5, size=n) > 0).astype(int).to_numpy()
    return X, y


@pytest.mark.parametrize("family", ["linear", "hist_gb", "random_forest"])
def test_numeric_pipeline_exports_with_parity_on_nan_rows(family: str) -> None:
    X, y = _data()
    roles = FeatureRoles(numeric=["a", "b"])
    pipe = build_pipeline(
        FAMILIES[family],
        "binary",
        roles,
        {"n_estimators": 20} if family == "random_forest" else None,
        0,
    ).fit(X, y)
    exp = export_onnx(pipe, X.head())
    if exp.model is None:
        pytest.skip(exp.reason)
    res = parity(exp.model, pipe, X, atol=1e-3)
    assert res.n_nan_rows > 0 and res.n_rows == len(X)
    # The verdict is honest: a model is only "ok" (and only then saved) when it truly matches.
    assert res.ok == (res.max_abs_diff <= 1e-3 and res.label_agreement == 1.0)
    if family == "hist_gb":
        assert res.ok, res


def test_unconvertible_pipeline_gives_a_reason() -> None:
    X, y = _data()
    X["when"] = "2024-01-01"
    roles = FeatureRoles(numeric=["a", "b"], date=["when"])
    pipe = build_pipeline(FAMILIES["linear"], "binary", roles, None, 0).fit(X, y)
    exp = export_onnx(pipe, X.head())
    assert exp.model is None and exp.reason
