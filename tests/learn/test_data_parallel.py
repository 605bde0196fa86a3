"""Data-parallel LightGBM on a real Dask cluster (scheduler + 2 worker processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml.data import partition_plan, sample_for_search
from civicml.learn import FeatureRoles, build_preprocessor, fit_data_parallel, holdout_mask


def _table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    region = rng.choice(["north", "south", "wales"], size=n)
    df = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": np.round(x[:, 2], 3)})
    df.loc[rng.random(n) < 0.05, "x1"] = np.nan
    df["region"] = region
    df["paid"] = rng.choice(["yes", "no"], size=n)
    logit = 1.5 * x[:, 0] - x[:, 1] + (region == "wales") * 1.0
    df["outcome"] = np.where(logit + rng.logistic(size=n) > 0, "granted", "refused")
    return df


def test_holdout_mask_is_the_same_whatever_the_partitioning() -> None:
    df = _table(4000)
    key = sorted(df.columns)
    whole = holdout_mask(df, key, 0.25, seed=3)
    parts = np.concatenate(
        [holdout_mask(df.iloc[i : i + 700], key, 0.25, 3) for i in range(0, 4000, 700)]
    )
    assert (whole == parts).all()
    assert 0.22 < whole.mean() < 0.28
    assert not (holdout_mask(df, key, 0.25, seed=4) == whole).all()  # the seed keys the hash
    # a repeated row cannot sit on both sides
    twice = pd.concat([df.head(50), df.head(50)], ignore_index=True)
    m = holdout_mask(twice, key, 0.5, 3)
    assert (m[:50] == m[50:]).all()


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_fit_on_the_cluster_matches_a_local_fit(
    tmp_path: Path, dask_address: str, kind: str
) -> None:
    from distributed import Client

    df = _table(12_000)
    path = tmp_path / f"t.{kind}"
    if kind == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)
    sample = sample_for_search(path, "outcome", max_rows=5_000, seed=0)
    roles = FeatureRoles(numeric=["x0", "x1", "x2"], categorical=["region", "paid"])
    prep = build_preprocessor(roles, "tree").fit(sample[roles.features])
    with Client(dask_address, set_as_default=False) as client:
        fit = fit_data_parallel(
            partition_plan(path),
            client=client,
            prep=prep,
            example=sample[roles.features].head(5),
            target="outcome",
            task="binary",
            classes=["granted", "refused"],
            model=("lightgbm", {"n_estimators": 60, "num_leaves": 15}),
            split=(0.2, 0),
        )
    assert fit.n_train + fit.n_holdout == len(df)
    assert fit.workers == 2 and fit.partitions >= 1
    # the held-out rows are exactly those the hash holds out: none was trained on
    typed = sample_for_search(path, "outcome", max_rows=len(df), seed=0)
    side = holdout_mask(typed, sorted(typed.columns), 0.2, 0)
    assert fit.n_holdout == int(side.sum())
    assert set(fit.holdout["x0"].round(9)) <= set(typed.loc[side, "x0"].round(9))
    # answers in the original labels, with the quality of one machine's fit on the same rows
    proba = fit.pipeline.predict_proba(fit.holdout[roles.features])[:, 1]
    assert set(fit.pipeline.predict(fit.holdout[roles.features].head(50))) <= {"granted", "refused"}
    from lightgbm import LGBMClassifier
    from sklearn.metrics import roc_auc_score

    train_rows = typed.loc[~side]
    local = LGBMClassifier(n_estimators=60, num_leaves=15, verbose=-1, random_state=0)
    local.fit(prep.transform(train_rows[roles.features]), train_rows["outcome"])
    y = (fit.holdout["outcome"] == "refused").to_numpy()
    auc_cluster = roc_auc_score(y, proba)
    auc_local = roc_auc_score(
        y, local.predict_proba(prep.transform(fit.holdout[roles.features]))[:, 1]
    )
    assert auc_cluster > 0.75
    assert abs(auc_cluster - auc_local) < 0.01


def test_a_regression_on_the_cluster(tmp_path: Path, dask_address: str) -> None:
    from distributed import Client

    df = _table(6_000).drop(columns="outcome")
    df["amount"] = 3 * df["x0"] - df["x2"] + (df["region"] == "wales") * 2.0
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    roles = FeatureRoles(numeric=["x0", "x1", "x2"], categorical=["region", "paid"])
    prep = build_preprocessor(roles, "tree").fit(df[roles.features])
    with Client(dask_address, set_as_default=False) as client:
        fit = fit_data_parallel(
            partition_plan(path),
            client=client,
            prep=prep,
            example=df[roles.features].head(5),
            target="amount",
            task="regression",
            model=("lightgbm", {"n_estimators": 80}),
            split=(0.25, 1),
        )
    assert fit.n_train + fit.n_holdout == len(df)
    pred = fit.pipeline.predict(fit.holdout[roles.features])
    resid = fit.holdout["amount"].to_numpy() - pred
    assert np.sqrt(np.mean(resid**2)) < 0.25 * fit.holdout["amount"].std()


@pytest.mark.parametrize(
    ("task", "params"),
    [
        ("binary", {"C": 0.5, "class_weight": "balanced"}),
        ("multiclass", {"C": 2.0}),
        ("regression", {"alpha": 3.0}),
    ],
)
def test_linear_models_on_the_cluster_equal_one_machines(
    tmp_path: Path, dask_address: str, task: str, params: dict
) -> None:
    """The partitions' sums (ridge) or gradients (logistic, L-BFGS) give scikit-learn's own
    solution on the same training rows."""
    from distributed import Client
    from sklearn.linear_model import LogisticRegression, Ridge

    df = _table(4_000, seed=2)
    if task == "multiclass":
        df["outcome"] = np.where(df["x2"] > 0.5, "high", df["outcome"])
    if task == "regression":
        df["outcome"] = 2 * df["x0"] - df["x2"] + (df["region"] == "wales") * 1.5
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    typed = sample_for_search(path, "outcome", max_rows=len(df), seed=0)
    roles = FeatureRoles(numeric=["x0", "x1", "x2"], categorical=["region", "paid"])
    prep = build_preprocessor(roles, "scaled").fit(typed[roles.features])
    classes = sorted(typed["outcome"].unique()) if task != "regression" else []
    with Client(dask_address, set_as_default=False) as client:
        fit = fit_data_parallel(
            partition_plan(path),
            client=client,
            prep=prep,
            example=typed[roles.features].head(5),
            target="outcome",
            task=task,
            classes=classes,
            model=("linear", params),
            split=(0.2, 0),
        )
    side = holdout_mask(typed, sorted(typed.columns), 0.2, 0)
    rows = typed.loc[~side]
    Xt, X_hold = prep.transform(rows[roles.features]), prep.transform(fit.holdout[roles.features])
    if task == "regression":
        ref = Ridge(alpha=3.0).fit(Xt, rows["outcome"])
        got = fit.pipeline.predict(fit.holdout[roles.features])
        assert np.allclose(got, ref.predict(X_hold), atol=1e-8)
        return
    ref = LogisticRegression(
        C=params["C"], class_weight=params.get("class_weight"), max_iter=2000, tol=1e-10
    )
    ref.fit(Xt, rows["outcome"])
    got = fit.pipeline.predict_proba(fit.holdout[roles.features])
    assert np.abs(got - ref.predict_proba(X_hold)).max() < 1e-3
    assert list(fit.pipeline.classes_) == classes
