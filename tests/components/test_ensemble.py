from __future__ import annotations

import numpy as np
import pandas as pd

from civicml.bundle import load_bundle, save_bundle
from civicml.components import CalibratedModel, WeightedEnsemble
from civicml.learn import FAMILIES, FeatureRoles, build_pipeline


def _data(n: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], size=n)}
    )
    X.loc[::5, "b"] = np.nan
    y = np.where(X["a"] + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    return X, y


def test_weighted_ensemble_and_calibrated_model_round_trip_through_bundle(tmp_path) -> None:
    X, y = _data()
    roles = FeatureRoles(numeric=["a", "b"], categorical=["c"])
    members = [
        build_pipeline(FAMILIES[f], "binary", roles, None, 0)
        for f in ("linear", "lightgbm", "hist_gb")
    ]
    ens = WeightedEnsemble(members, [0.5, 0.3, 0.2], "binary").fit(X, y)
    model = CalibratedModel(ens, method="isotonic").fit(X, y)
    expected = model.predict_proba(X)
    assert np.allclose(expected.sum(axis=1), 1.0)
    save_bundle(tmp_path / "b", model=model, documents={"x.json": {"a": 1}})
    loaded = load_bundle(tmp_path / "b").model
    assert np.allclose(loaded.predict_proba(X), expected)
    assert list(loaded.predict(X[:3])) == list(model.predict(X[:3]))


def test_weighted_ensemble_regression_average() -> None:
    from sklearn.dummy import DummyRegressor
    from sklearn.linear_model import LinearRegression

    X = np.arange(10.0).reshape(-1, 1)
    y = 2 * X.ravel()
    ens = WeightedEnsemble([LinearRegression(), DummyRegressor()], [1, 1], "regression").fit(X, y)
    assert np.allclose(ens.predict(X), (y + y.mean()) / 2)
