"""The MLP family: registered with torch, trained in a pipeline, exported to ONNX with parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the deep extra (torch==2.13.0) is not installed")

from civicml.bundle._onnx import export_onnx, parity
from civicml.components._mlp_net import embedding_dims
from civicml.components._mlp_train import fit_tabular_mlp
from civicml.learn import FeatureRoles
from civicml.learn._candidates import build_pipeline, families_for, family_of

BENEFITS = Path(__file__).resolve().parents[2] / "examples" / "benefits" / "benefits.csv"


@pytest.fixture(scope="module")
def benefits() -> tuple[pd.DataFrame, pd.Series, FeatureRoles]:
    d = pd.read_csv(BENEFITS)
    y = d.pop("ui")
    cats = ["state"] + [c for c in d.columns if d[c].dtype.kind not in "if"]
    roles = FeatureRoles(numeric=[c for c in d.columns if c not in cats], categorical=cats)
    X = d.copy()
    rng = np.random.default_rng(0)
    for c in ["age", "tenure", "rr"]:
        X.loc[rng.random(len(X)) < 0.05, c] = np.nan
    X["state"] = X["state"].astype(float)
    X.loc[rng.random(len(X)) < 0.05, "state"] = np.nan
    return X, y, roles


def test_family_registered_with_torch() -> None:
    names = [f.name for f in families_for("binary")]
    assert names[-1] == "mlp" and family_of("mlp").flavour == "deep"


def test_family_skipped_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    import civicml.learn._candidates as cand

    monkeypatch.setattr(cand, "_torch_available", lambda: False)
    assert "mlp" not in [f.name for f in cand.families_for("binary")]


def test_fit_is_deterministic_and_stops_early() -> None:
    rng = np.random.default_rng(1)
    X = np.c_[rng.integers(0, 4, 300), rng.normal(size=(300, 2))]
    y = (X[:, 1] > 0).astype(int)
    a = fit_tabular_mlp(X, y, task="classification", n_categorical=1, patience=2, max_epochs=200)
    b = fit_tabular_mlp(X, y, task="classification", n_categorical=1, patience=2, max_epochs=200)
    assert a["n_epochs_"] < 200
    for wa, wb in zip(a["coefs_"], b["coefs_"], strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert embedding_dims(a["cardinalities_"]) == [3]


def test_pipeline_on_real_data_exports_to_onnx_with_parity(benefits) -> None:
    X, y, roles = benefits
    pipe = build_pipeline(family_of("mlp"), "binary", roles, {"max_epochs": 30}, 0)
    assert pipe.named_steps["model"].n_categorical == len(roles.categorical)
    train, test = X.iloc[:3000], X.iloc[3000:].copy()
    test.iloc[:5, test.columns.get_loc("state")] = 999.0  # a state never seen
    pipe.fit(train, y.iloc[:3000])
    from sklearn.metrics import roc_auc_score

    auc = roc_auc_score(y.iloc[3000:] == "yes", pipe.predict_proba(test)[:, 1])
    assert auc > 0.6
    exported = export_onnx(pipe, train.head(50))
    assert exported.model is not None, exported.reason
    result = parity(exported.model, pipe, test)
    assert result.n_nan_rows > 50
    assert result.ok and result.max_abs_diff < 1e-5, result


def test_regression_pipeline_onnx_parity() -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X.loc[::7, "bmi"] = np.nan
    roles = FeatureRoles(numeric=list(X.columns))
    pipe = build_pipeline(family_of("mlp"), "regression", roles, {"max_epochs": 80}, 0)
    pipe.fit(X.iloc[:350], y.iloc[:350])
    exported = export_onnx(pipe, X.head(20))
    assert exported.model is not None, exported.reason
    assert parity(exported.model, pipe, X.iloc[350:]).ok
