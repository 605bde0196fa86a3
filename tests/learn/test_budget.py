"""The wall-clock budget: folds that stop from the inside, warm starts checked, honest ensembles."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, make_classification

from civicml.learn import FAMILIES, FeatureRoles, build_pipeline, train
from civicml.learn._cv import FoldTimeout, fit_within
from civicml.learn._ensemble import _fast_scorer, caruana_cross_fitted_oof, oof_score
from civicml.learn._metrics import get_metric


def _frame(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, FeatureRoles]:
    X, y = make_classification(n, 8, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    return frame, y, FeatureRoles(numeric=list(frame.columns))


@pytest.mark.parametrize(
    ("family", "params"),
    [("random_forest", {"n_estimators": 30}), ("hist_gb", {"max_iter": 40})],
)
def test_chunked_fit_gives_exactly_the_single_fit_model(family: str, params: dict) -> None:
    X, y, roles = _frame()
    plain = build_pipeline(FAMILIES[family], "binary", roles, params, 0).fit(X, y)
    chunked = build_pipeline(FAMILIES[family], "binary", roles, params, 0)
    fit_within(chunked, X, y, time.monotonic() + 60)
    np.testing.assert_array_equal(plain.predict_proba(X), chunked.predict_proba(X))
    assert chunked.steps[-1][1].warm_start is False  # left as a plain model


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("lightgbm", {"n_estimators": 20000, "learning_rate": 0.01, "subsample": 1.0}),
        ("random_forest", {"n_estimators": 3000}),
        ("hist_gb", {"max_iter": 3000, "max_leaf_nodes": 63}),
    ],
)
def test_a_slow_fold_stops_near_its_deadline(family: str, params: dict) -> None:
    X, y, roles = _frame(3000)
    pipe = build_pipeline(FAMILIES[family], "binary", roles, params, 0)
    t0 = time.monotonic()
    with pytest.raises(FoldTimeout):
        fit_within(pipe, X, y, t0 + 0.4)
    assert time.monotonic() - t0 < 1.5


def _digits() -> tuple[pd.DataFrame, np.ndarray, FeatureRoles]:
    d = load_digits(as_frame=True)
    return d.data, d.target.to_numpy(), FeatureRoles(numeric=list(d.data.columns))


def test_a_slow_saga_fold_stops_near_its_deadline() -> None:
    # an elastic-net logistic regression on ten classes: saga needs seconds per fold to converge
    X, y, roles = _digits()
    pipe = build_pipeline(FAMILIES["linear"], "multiclass", roles, {"C": 5.0, "l1_ratio": 0.5}, 0)
    t0 = time.monotonic()
    with pytest.raises(FoldTimeout) as stopped:
        fit_within(pipe, X, y, t0 + 0.4)
    assert time.monotonic() - t0 < 1.0
    assert "solver epochs" in str(stopped.value)
    est = pipe.steps[-1][1]
    assert est.warm_start is False and est.max_iter == 2000  # left as it was built


def test_a_saga_fit_in_chunks_matches_the_single_fit() -> None:
    X, y, roles = _digits()
    X, y = X[:400], y[:400]
    params = {"C": 0.05, "l1_ratio": 1.0}
    plain = build_pipeline(FAMILIES["linear"], "multiclass", roles, params, 0).fit(X, y)
    chunked = build_pipeline(FAMILIES["linear"], "multiclass", roles, params, 0)
    fit_within(chunked, X, y, time.monotonic() + 60)
    assert np.abs(plain.predict_proba(X) - chunked.predict_proba(X)).max() < 0.01
    assert (plain.predict(X) == chunked.predict(X)).mean() > 0.99


def test_budget_is_kept_with_warm_starts_on_real_data() -> None:
    d = load_breast_cancer(as_frame=True)
    X, y = d.data, d.target.rename("y")
    roles = FeatureRoles(numeric=list(X.columns))
    t0 = time.monotonic()
    r = train(X, y, roles=roles, budget_seconds=5, seed=0, cv_folds=5)
    took = time.monotonic() - t0
    assert took <= 5 * 1.05
    assert r.leaderboard.best is not None and r.test_metrics["roc_auc"] > 0.9
    # every warm-start trial either finished or was stopped by the clock, never ran on
    assert {e.status for e in r.leaderboard.entries} <= {"ok", "pruned", "timeout"}


def test_ensemble_is_kept_only_when_cross_fitted_weights_still_win() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = rng.normal(size=n)
    fold = np.arange(n) % 4
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(4)]
    rmse = get_metric("rmse", "regression")
    a, b = y + rng.normal(size=n), y + rng.normal(size=n)  # independent errors: blending helps

    def scores(oofs: list[np.ndarray]) -> list[float]:
        outs = caruana_cross_fitted_oof(
            oofs, y, splits, metric=rmse, task="regression", classes=None
        )
        return [oof_score(rmse, "regression", y, o, None) for o in outs]

    ens, single = scores([a, b])
    assert ens < single
    ens2, single2 = scores([a, a.copy()])
    assert ens2 == pytest.approx(single2)


@pytest.mark.parametrize(
    ("task", "name", "k"),
    [
        ("binary", "roc_auc", 2),
        ("binary", "log_loss", 2),
        ("multiclass", "log_loss", 3),
        ("regression", "rmse", 0),
        ("regression", "mae", 0),
    ],
)
def test_fast_scorers_agree_with_scikit_learn(task: str, name: str, k: int) -> None:
    rng = np.random.default_rng(1)
    m = get_metric(name, task)
    if k:
        classes = np.array(["a", "b", "c"][:k], dtype=object)
        y = classes[rng.integers(0, k, 300)]
        out = rng.dirichlet(np.ones(k), 300)
    else:
        classes, y = None, rng.normal(size=300)
        out = y + rng.normal(size=300)
    fast = _fast_scorer(m, task, y, classes)
    assert fast is not None
    assert fast(out) == pytest.approx(oof_score(m, task, y, out, classes), rel=1e-9)


def test_a_configuration_too_big_for_the_time_left_is_shrunk_or_skipped() -> None:
    from civicml.learn._cv import CVResult
    from civicml.learn._search import SearchConfig, TrialRecord, _fits, _shrink_to_fit

    past = CVResult([{}], np.zeros(1), 1.0, 1.0, fold_seconds=[1.0] * 5)  # 1 s a fold
    rec = TrialRecord("random_forest", "random_forest", {"n_estimators": 200}, past)
    cfg = SearchConfig(["random_forest"], None, 0, deadline=time.monotonic() + 3.0)
    # 400 trees would take ~10 s for 5 folds; ~3 s are left: cut to ~100 trees, which fits
    small = _shrink_to_fit("random_forest", {"n_estimators": 400}, [rec], cfg, 5)
    assert 20 <= small["n_estimators"] < 140
    assert _fits("random_forest", small, [rec], cfg, 5)
    # far too big even at a quarter of its size: left as asked, and then skipped
    cfg.deadline = time.monotonic() + 0.5
    huge = _shrink_to_fit("random_forest", {"n_estimators": 400}, [rec], cfg, 5)
    assert huge == {"n_estimators": 400}
    assert not _fits("random_forest", huge, [rec], cfg, 5)


def test_an_mlp_fold_stops_at_its_deadline() -> None:
    pytest.importorskip("torch", reason="the deep extra is not installed")
    X, y, roles = _frame(3000)
    params = {"max_epochs": 5000, "patience": 5000, "hidden_units": 256}
    pipe = build_pipeline(FAMILIES["mlp"], "binary", roles, params, 0)
    # the first fit of a process imports torch and its compiler (seconds, not stoppable)
    build_pipeline(FAMILIES["mlp"], "binary", roles, {"max_epochs": 1}, 0).fit(X.head(50), y[:50])
    from civicml.learn._cv import stoppable

    assert stoppable(pipe)

    t0 = time.monotonic()
    with pytest.raises(FoldTimeout, match="epochs"):
        fit_within(pipe, X, y, t0 + 0.5)
    assert time.monotonic() - t0 < 1.5


def test_an_untried_unstoppable_family_is_not_started_near_the_deadline() -> None:
    from civicml.learn._cv import CVResult, stoppable
    from civicml.learn._search import SearchConfig, TrialRecord, _too_late_to_try

    cfg = SearchConfig(["linear", "random_forest"], None, 0, deadline=time.monotonic() + 0.5)
    cfg.min_untried = 2.0
    assert not stoppable(FAMILIES["linear"].make("binary", {}, 0))
    assert _too_late_to_try("linear", {}, [], cfg, "binary")  # 0.5 s left, 2 s needed
    assert not _too_late_to_try("random_forest", {}, [], cfg, "binary")  # stopped from inside
    cfg.deadline = time.monotonic() + 10.0
    assert not _too_late_to_try("linear", {}, [], cfg, "binary")
    # a slow baseline (the same preprocessing and folds) raises the floor
    slow = CVResult([{}], np.zeros(1), 1.0, 1.0, fold_seconds=[1.2] * 5)
    base = TrialRecord("baseline", "baseline", {}, slow)
    assert _too_late_to_try("linear", {}, [base], cfg, "binary")
    # a tried family is judged by its own timings instead
    tried = TrialRecord(
        "linear", "linear", {}, CVResult([{}], np.zeros(1), 0.1, 1.0, fold_seconds=[0.1])
    )
    assert not _too_late_to_try("linear", {}, [base, tried], cfg, "binary")
