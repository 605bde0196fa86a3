from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from civicml.learn import FeatureRoles, bootstrap_ci, corrected_ttest, train, verdict
from civicml.learn._ensemble import caruana, choose_calibration
from civicml.learn._metrics import get_metric


def _data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "g": rng.choice(["a", "b", "c"], size=n),
        }
    )
    X.loc[::13, "x2"] = np.nan
    logit = 1.5 * X["x1"] - X["x2"].fillna(0) + (X["g"] == "b")
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="y")
    return X, y


ROLES = FeatureRoles(numeric=["x1", "x2"], categorical=["g"])


def test_max_trials_is_respected_and_byte_for_byte_reproducible() -> None:
    X, y = _data()
    kw = dict(roles=ROLES, max_trials=3, seed=3, cv_folds=3)
    r1, r2 = train(X, y, **kw), train(X, y, **kw)
    trials = [e for e in r1.leaderboard.entries if e.family not in ("baseline", "ensemble")]
    assert len(trials) == 3
    # Timings are the only fields that differ run to run; they are left out of the comparison.
    a = json.dumps(r1.leaderboard.to_dict(timings=False), sort_keys=True)
    b = json.dumps(r2.leaderboard.to_dict(timings=False), sort_keys=True)
    assert a == b
    assert "fit_seconds" in r1.leaderboard.to_dict()["entries"][0]


def test_budget_mode_overrun_is_small_and_pruning_happens() -> None:
    X, y = _data(600)
    t0 = time.monotonic()
    # Three quick families: with all of them the forests' warm starts alone can fill the 8 s on
    # a slow machine, leaving no tuned trial to prune (1 run in 16 did so).
    r = train(
        X,
        y,
        roles=ROLES,
        budget_seconds=8,
        seed=0,
        cv_folds=4,
        families=["linear", "lightgbm", "knn"],
    )
    took = time.monotonic() - t0
    assert took <= 8 * 1.05
    statuses = [e.status for e in r.leaderboard.entries]
    assert statuses.count("ok") >= 3
    assert "pruned" in statuses or "timeout" in statuses


def test_ensemble_kept_only_when_it_beats_best_single_oof() -> None:
    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    noise = np.array([1, -1, 1, -1, 1, -1.0])
    rmse = get_metric("rmse", "regression")
    w, s = caruana([y + noise, y - noise], y, metric=rmse, task="regression", classes=None)
    assert w.tolist() == [0.5, 0.5] and s == 0.0
    # a copy of the same model cannot improve: the ensemble degenerates to one member
    w2, s2 = caruana([y + noise, y + noise], y, metric=rmse, task="regression", classes=None)
    assert s2 == pytest.approx(1.0) and (w2 > 0).sum() == 1
    X, yy = _data()
    r = train(X, yy, roles=ROLES, max_trials=4, seed=0, cv_folds=3)
    ens = r.extra.get("ensemble")
    assert ens is not None
    # kept only when it wins on its own OOF predictions and again with cross-fitted weights
    honest = ens["cross_fitted_oof_score"] is not None and (
        ens["cross_fitted_oof_score"] > ens["cross_fitted_best_single_oof_score"]
    )
    assert ens["kept"] == (ens["oof_score"] > ens["best_single_oof_score"] and honest)
    assert ("ensemble" in [e.name for e in r.leaderboard.entries]) == ens["kept"]


def test_calibration_chosen_only_when_it_improves_oof_log_loss() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    p_true = rng.random(n)
    y = (rng.random(n) < p_true).astype(int)
    splits = [
        (np.flatnonzero(np.arange(n) % 4 != k), np.flatnonzero(np.arange(n) % 4 == k))
        for k in range(4)
    ]
    good = np.column_stack([1 - p_true, p_true])
    method, losses = choose_calibration(good, y, splits)
    assert method is None
    squashed = 0.5 + (p_true - 0.5) * 0.3  # badly under-confident
    method, losses = choose_calibration(np.column_stack([1 - squashed, squashed]), y, splits)
    assert method in ("sigmoid", "isotonic") and losses[method] < losses["none"]


def test_threshold_reflects_costs_in_training() -> None:
    X, y = _data()
    cheap = train(X, y, roles=ROLES, max_trials=1, cv_folds=3, cost_fp=1, cost_fn=10)
    dear = train(X, y, roles=ROLES, max_trials=1, cv_folds=3, cost_fp=10, cost_fn=1)
    assert cheap.threshold.value < dear.threshold.value
    assert cheap.threshold.expected_cost_per_1000 >= 0


def test_bootstrap_interval_covers_and_leaderboard_has_intervals() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for seed in range(40):
        y = rng.normal(size=200)
        p = y + rng.normal(size=200)  # true RMSE 1
        lo, hi = bootstrap_ci("rmse", y, p, n_boot=300, seed=seed)
        covered += lo <= 1.0 <= hi
    assert covered >= 32
    X, yy = _data()
    r = train(X, yy, roles=ROLES, max_trials=3, seed=0, cv_folds=3)
    chosen = r.leaderboard.get(r.best)
    lo, hi = chosen.extra["test_ci95"]
    assert lo <= chosen.extra["test_score"] <= hi
    assert r.leaderboard.comparison is not None and "reliably" in r.leaderboard.comparison["text"]


def test_corrected_t_test_known_example() -> None:
    a = [0.80, 0.82, 0.81, 0.83, 0.79]
    b = [0.78, 0.80, 0.80, 0.80, 0.78]
    t, p = corrected_ttest(a, b, n_train=800, n_test=200)
    # d = [.02,.02,.01,.03,.01]: mean .018, var 7e-5; t = .018 / sqrt((1/5 + 1/4) * 7e-5)
    assert t == pytest.approx(0.018 / np.sqrt(0.45 * 7e-5))
    assert p == pytest.approx(0.0327, abs=1e-3)
    c = verdict(
        "B",
        "A",
        [0.8, 0.81, 0.79],
        [0.8, 0.8, 0.8],
        n_train=800,
        n_test=200,
        greater_is_better=True,
    )
    assert not c.reliable and c.text.startswith("B is not reliably better than A")


def test_constraints_pick_interpretable_or_small_and_say_what_was_given_up() -> None:
    X, y = _data(400)
    r = train(
        X, y, roles=ROLES, max_trials=3, seed=0, cv_folds=3, selection={"interpretable": True}
    )
    assert r.best in ("linear", "baseline")
    sel = r.extra["selection"]
    top = r.leaderboard.ranked()[0].name
    if top != r.best:
        assert sel["given_up"]["instead_of"] == top and "interpretable" in sel["given_up"]["text"]
    r2 = train(
        X, y, roles=ROLES, max_trials=3, seed=0, cv_folds=3, selection={"max_model_size_mb": 0.05}
    )
    chosen = r2.leaderboard.get(r2.best)
    assert chosen.model_bytes is not None and chosen.model_bytes <= 50_000
    assert r2.extra["pareto"] and all("predict_ms" in p for p in r2.extra["pareto"])
