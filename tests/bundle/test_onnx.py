from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

from civicml.bundle._onnx import export_onnx, onnx_feed, parity, string_columns
from civicml.components import CalibratedModel, WeightedEnsemble
from civicml.learn import FAMILIES, FeatureRoles, build_pipeline


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    X.loc[::7, "b"] = np.nan
    y = (X["a"] + rng.normal(scale=0.5, size=n) > 0).astype(int).to_numpy()
    return X, y


def _mixed(n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Benefits-like rows: numbers with NaN, categories with missing values; a held-out set
    with NaN rows and categories never seen in training."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "rr": rng.uniform(0, 1, n),
            "joblost": rng.choice(["slack_work", "position_abolished", "other", "seasonal"], n),
            "sex": rng.choice(["male", "female"], n),
        }
    )
    X.loc[::9, "rr"] = np.nan
    X["joblost"] = X["joblost"].astype(object)
    X.loc[::11, "joblost"] = None
    logit = (X["age"] - 45) / 15 + (X["joblost"] == "slack_work") * 1.2 + X["rr"].fillna(0.5)
    y = (logit + rng.normal(scale=0.7, size=n) > 0.6).astype(int).to_numpy()
    hold = X.sample(250, random_state=2).reset_index(drop=True)
    hold.loc[::5, "joblost"] = "never_seen"
    hold.loc[::6, "age"] = np.nan
    return X, hold, y


ROLES = FeatureRoles(numeric=["age", "rr"], categorical=["joblost", "sex"])
FAST = {"lightgbm": {"n_estimators": 30}, "hist_gb": {"max_iter": 20}, "linear": None}


def _pipe(family: str, roles: FeatureRoles = ROLES) -> object:
    return build_pipeline(FAMILIES[family], "binary", roles, FAST.get(family), 0)


@pytest.mark.parametrize("family", ["linear", "hist_gb", "random_forest", "lightgbm"])
def test_numeric_pipeline_exports_with_parity_on_nan_rows(family: str) -> None:
    X, y = _data()
    roles = FeatureRoles(numeric=["a", "b"])
    pipe = build_pipeline(
        FAMILIES[family],
        "binary",
        roles,
        {"n_estimators": 20} if family in ("random_forest", "lightgbm") else None,
        0,
    ).fit(X, y)
    exp = export_onnx(pipe, X.head())
    if exp.model is None:
        pytest.skip(exp.reason)
    res = parity(exp.model, pipe, X, atol=1e-3)
    assert res.n_nan_rows > 0 and res.n_rows == len(X)
    # The verdict is honest: a model is only "ok" (and only then saved) when it truly matches.
    assert res.ok == (res.max_abs_diff <= 1e-3 and res.label_agreement == 1.0)
    if family in ("hist_gb", "linear", "lightgbm"):
        assert res.ok, res


def test_lightgbm_with_native_categoricals_matches_on_nan_and_unknown_categories() -> None:
    X, hold, y = _mixed()
    pipe = _pipe("lightgbm").fit(X, y)
    # to_str columns are fed as to_str's own strings (missing -> "None"/"nan").
    assert string_columns(pipe, X) == ["joblost", "sex"]
    exp = export_onnx(pipe, X.head(50))
    assert exp.model is not None, exp.reason
    res = parity(exp.model, pipe, hold)
    assert res.ok and res.n_nan_rows > 0, res
    # A categorical split really exists (else the test proves nothing about BRANCH_EQ chains).
    dump = pipe.steps[-1][1].booster_.dump_model()
    assert "==" in str(dump["tree_info"])


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated_model_exports_with_parity(method: str) -> None:
    X, hold, y = _mixed()
    model = CalibratedModel(_pipe("lightgbm"), method=method).fit(X, y)
    exp = export_onnx(model, X.head(50))
    assert exp.model is not None, exp.reason
    res = parity(exp.model, model, hold)
    assert res.ok, res


def test_weighted_ensemble_and_calibrated_ensemble_export_with_parity() -> None:
    X, hold, y = _mixed()
    num = FeatureRoles(numeric=["age", "rr"])
    ens = WeightedEnsemble(
        [_pipe("lightgbm"), _pipe("hist_gb", num), _pipe("linear", num)], [2, 1, 1], "binary"
    ).fit(X, y)
    for model in (ens, CalibratedModel.from_parts(ens, [_sigmoid(ens, X, y)], "sigmoid")):
        exp = export_onnx(model, X.head(50))
        assert exp.model is not None, exp.reason
        res = parity(exp.model, model, hold)
        assert res.ok, res


def _sigmoid(model: object, X: pd.DataFrame, y: np.ndarray) -> object:
    from civicml.components import fit_calibrators

    return fit_calibrators(model.predict_proba(X), y, "sigmoid")[0]  # type: ignore[attr-defined]


def test_regression_ensemble_exports_with_parity() -> None:
    X, hold, y = _mixed()
    yr = X["age"].fillna(40).to_numpy() * 2 + y
    members = [
        build_pipeline(FAMILIES["lightgbm"], "regression", ROLES, {"n_estimators": 20}, 0),
        build_pipeline(FAMILIES["hist_gb"], "regression", FeatureRoles(numeric=["rr"]), None, 0),
    ]
    ens = WeightedEnsemble(members, [1, 1], "regression").fit(X, yr)
    exp = export_onnx(ens, X.head(50))
    assert exp.model is not None, exp.reason
    assert parity(exp.model, ens, hold).ok


@pytest.mark.parametrize(
    ("family", "why"),
    [("hist_gb", "native categorical"), ("linear", "OneHotEncoder")],
)
def test_unconvertible_mixed_pipelines_give_reasons(family: str, why: str) -> None:
    X, _, y = _mixed()
    exp = export_onnx(_pipe(family).fit(X, y), X.head(50))
    assert exp.model is None and why in (exp.reason or "")


def test_unconvertible_pipeline_gives_a_reason() -> None:
    X, y = _data()
    X["when"] = "2024-01-01"
    roles = FeatureRoles(numeric=["a", "b"], date=["when"])
    pipe = build_pipeline(FAMILIES["linear"], "binary", roles, None, 0).fit(X, y)
    exp = export_onnx(pipe, X.head())
    assert exp.model is None and "DateFeatures" in (exp.reason or "")


def test_parity_fails_honestly_on_a_wrong_model() -> None:
    X, y = _data()
    roles = FeatureRoles(numeric=["a", "b"])
    pipe = build_pipeline(FAMILIES["linear"], "binary", roles, None, 0).fit(X, y)
    other = build_pipeline(FAMILIES["linear"], "binary", roles, None, 0).fit(X, 1 - y)
    exp = export_onnx(other, X.head())
    assert exp.model is not None
    assert not parity(exp.model, pipe, X).ok


def test_onnx_feed_types() -> None:
    X = pd.DataFrame({"n": [1.0, np.nan], "s": ["a", None]})
    feed = onnx_feed(X)
    assert feed["n"].dtype == np.float32 and feed["s"][0, 0] == "a"
    assert feed["s"][1, 0] in ("nan", "None")  # exactly what to_str makes of the missing value
    assert onnx_feed(X, ["n", "s"])["n"].tolist() == [["1"], ["nan"]]  # as to_str: 1.0 is "1"
