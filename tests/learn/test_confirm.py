"""The fresh-fold check (learn._confirm) and the guard's third step that uses it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from civicml.learn import FeatureRoles, _finish, train
from civicml.learn._confirm import fresh_fold_scores, per_fold_scores
from civicml.learn._cv import SMALL_ROWS, CVResult
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import get_metric
from civicml.learn._problem import Problem
from civicml.learn._search import TrialRecord
from civicml.learn._spaces import LIBRARY_DEFAULTS
from civicml.learn._train import _fresh_splits, cv_splits

DEFAULT = [0.80, 0.90, 0.70, 0.85, 0.75]
STEADY = [s + 0.02 for s in DEFAULT]  # beats the reference beyond the noise on the search's folds


def _board() -> Leaderboard:
    board = Leaderboard("roc_auc", True)
    for name, folds, default in (("lightgbm", DEFAULT, True), ("lightgbm_3", STEADY, False)):
        board.entries.append(
            Entry(
                name=name,
                family="lightgbm",
                params=dict(LIBRARY_DEFAULTS["lightgbm"]) if default else {"num_leaves": 7},
                cv_mean={"roc_auc": float(np.mean(folds))},
                cv_std={"roc_auc": float(np.std(folds, ddof=1))},
                fit_seconds=0.1,
                predict_us_per_row=1.0,
                simplicity=4,
                extra={"fold_scores": folds, "default": default},
            )
        )
    return board


class _P:
    metric = get_metric("roc_auc", "binary")
    splits = [(np.arange(80), np.arange(80, 100))]
    fresh_splits = [(np.arange(80), np.arange(80, 100))]
    y_tr = np.zeros(100)
    seed = 0
    fresh_seed = 1


def _guard(board: Leaderboard, confirm: Any) -> tuple[str, dict[str, Any]]:
    cands = {c.name: _finish._candidate(board.get(c.name), "roc_auc") for c in board.entries}
    extra: dict[str, Any] = {}
    kept = _finish._defaults_guard(
        cands["lightgbm_3"], list(cands.values()), board, _P(), extra, confirm=confirm
    )
    return kept.name, extra["defaults_check"]


def test_a_choice_that_does_not_beat_the_defaults_on_fresh_folds_gives_way() -> None:
    asked: list[tuple[str, str]] = []

    def gone(chosen: str, ref: str) -> tuple[list[float], list[float]]:
        asked.append((chosen, ref))
        # on folds the search never saw, the margin is 0.004: within the noise
        return [0.81, 0.89, 0.71, 0.85, 0.76], [0.80, 0.90, 0.70, 0.85, 0.75]

    name, check = _guard(_board(), gone)
    assert asked == [("lightgbm_3", "lightgbm")]
    assert name == "lightgbm" and check["kept_default"] is True
    assert check["kept_because"] == "fresh folds" and check["without_fresh_check"] == "lightgbm_3"
    # the search's own folds said it beat them: that is recorded too
    assert check["margin"] == pytest.approx(0.02) and check["margin"] > check["standard_error"]
    fresh = check["fresh_folds"]
    assert fresh["run"] is True and fresh["beats"] is False and fresh["seed"] == 1
    assert fresh["margin"] == pytest.approx(0.004) and fresh["margin"] <= fresh["standard_error"]
    assert "fresh folds" in _finish.GUARD_RULE


def test_on_fresh_folds_one_standard_error_is_not_enough() -> None:
    # 0.01 ahead on the fresh folds, 1.5 corrected standard errors: past step 2's bar, short of
    # the one-sided 5% test's 2.13 on five folds, so the defaults stay
    fresh = ([0.81, 0.86, 0.80, 0.85, 0.80], [0.80, 0.84, 0.78, 0.85, 0.80])
    name, check = _guard(_board(), lambda c, r: fresh)
    got = check["fresh_folds"]
    assert name == "lightgbm" and check["kept_because"] == "fresh folds"
    assert got["standard_error"] < got["margin"] < got["bar"] * got["standard_error"]
    assert got["alpha"] == 0.05 and got["bar"] == pytest.approx(2.132, abs=1e-3)


def test_a_choice_that_beats_the_defaults_on_fresh_folds_stands() -> None:
    name, check = _guard(_board(), lambda c, r: (STEADY, DEFAULT))
    assert name == "lightgbm_3" and check["kept_default"] is False
    assert check["fresh_folds"]["beats"] is True
    assert check["fresh_folds"]["margin"] == pytest.approx(0.02)


def test_a_fresh_check_that_cannot_run_says_why_and_a_clear_lead_stands() -> None:
    # 0.02 ahead on every one of the search's folds: past any bar, checked or not
    name, check = _guard(_board(), lambda c, r: "not run: it needs about 9.0 s and 1.0 s are left")
    assert name == "lightgbm_3" and check["kept_default"] is False
    assert check["fresh_check_not_run"].startswith("not run: it needs")
    assert check["unconfirmed"]["beats"] is True
    assert "fresh_folds" not in check


def test_a_fresh_check_that_cannot_run_needs_the_confirmatory_bar_on_the_search_folds() -> None:
    # 0.01 ahead on the search's folds, 1.5 corrected standard errors: past step 2's one
    # standard error, short of the one-sided 5% test's 2.13 on five folds. The fresh folds ran
    # out of time, so nothing confirmed the lead: the defaults stay.
    board = _board()
    board.get("lightgbm").extra["fold_scores"] = [0.80, 0.84, 0.78, 0.85, 0.80]
    board.get("lightgbm").cv_mean["roc_auc"] = 0.814
    board.get("lightgbm_3").extra["fold_scores"] = [0.81, 0.86, 0.80, 0.85, 0.80]
    board.get("lightgbm_3").cv_mean["roc_auc"] = 0.824
    name, check = _guard(board, lambda c, r: "linear did not finish on the fresh folds (timeout)")
    assert name == "lightgbm" and check["kept_default"] is True
    assert check["kept_because"] == "fresh folds" and check["without_fresh_check"] == "lightgbm_3"
    got = check["unconfirmed"]
    assert got["beats"] is False and got["folds"] == 5 and got["alpha"] == 0.05
    assert got["standard_error"] < got["margin"] < got["bar"] * got["standard_error"]
    assert "fresh_folds" not in check


def test_the_fresh_check_is_not_asked_when_the_search_keeps_the_defaults() -> None:
    board = _board()
    board.get("lightgbm_3").extra["fold_scores"] = [0.81, 0.89, 0.71, 0.85, 0.76]
    board.get("lightgbm_3").cv_mean["roc_auc"] = 0.804

    def never(chosen: str, ref: str) -> Any:
        raise AssertionError("the fresh check ran although the search kept the defaults")

    name, check = _guard(board, never)
    assert name == "lightgbm" and check["kept_because"] == "noise"
    assert "fresh_folds" not in check and "without_fresh_check" not in check


def _line_problem(n: int = 60) -> Problem:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=n)})
    y = 3 * X["x"].to_numpy() + rng.normal(scale=0.1, size=n)
    rmse = get_metric("rmse", "regression")
    splits = cv_splits(X, y, "regression", 4, 0, None, 2)
    fresh = _fresh_splits(X, y, "regression", 4, 1, None, 2, splits)
    return Problem(
        X, y, X[:0], y[:0], "regression", np.array([]), splits, FeatureRoles(["x"]), rmse, 0, 2,
        fresh, 1,
    )  # fmt: skip


def test_fresh_folds_are_other_shuffles_of_the_same_shape_and_only_on_small_tables() -> None:
    p = _line_problem()
    assert len(p.fresh_splits) == len(p.splits) == 8
    for r in range(2):  # each repeat's fresh folds still partition the rows
        rows = np.concatenate([va for _, va in p.fresh_splits[4 * r : 4 * r + 4]])
        assert sorted(rows.tolist()) == list(range(60))
    assert not any(
        np.array_equal(np.sort(a[1]), np.sort(b[1]))
        for a, b in zip(p.splits, p.fresh_splits, strict=True)
    )
    X = pd.DataFrame({"x": np.zeros(SMALL_ROWS)})
    y = np.tile([0, 1], SMALL_ROWS // 2)
    big = cv_splits(X, y, "binary", 5, 0, None, 1)
    assert _fresh_splits(X, y, "binary", 5, 1, None, 1, big) == []
    # grouped regression folds do not reshuffle with a new seed: no fresh folds
    groups = np.arange(60) % 12
    Xs, ys = X[:60], np.arange(60.0)
    grouped = cv_splits(Xs, ys, "regression", 4, 0, groups, 1)
    assert _fresh_splits(Xs, ys, "regression", 4, 1, groups, 1, grouped) == []
    # the search's own seed gives the search's own folds, which are not fresh
    small = cv_splits(Xs, ys, "regression", 4, 0, None, 1)
    assert _fresh_splits(Xs, ys, "regression", 4, 0, None, 1, small) == []


def test_fresh_fold_scores_refit_each_configuration_once_and_mix_an_ensemble() -> None:
    p = _line_problem()
    fits: list[str] = []

    class Counted(LinearRegression):
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            fits.append("line")
            return super().fit(X, y, sample_weight)

    pipes = {"line": Counted(), "mean": DummyRegressor()}
    mixes = {"line": {"line": 1.0}, "mean": {"mean": 1.0}, "ensemble": {"line": 3.0, "mean": 1.0}}
    got = fresh_fold_scores(mixes, pipes, p)
    assert isinstance(got, dict) and len(fits) == len(p.fresh_splits)  # once, though used twice
    assert np.mean(got["line"]) < np.mean(got["ensemble"]) < np.mean(got["mean"])
    # the mix is the weighted sum of the configurations' out-of-fold outputs
    from civicml.learn._cv import cross_validate

    oof = {
        k: cross_validate(
            v, p.X_tr, p.y_tr, task="regression", classes=p.classes, splits=p.fresh_splits[:4]
        ).oof
        for k, v in (("line", LinearRegression()), ("mean", DummyRegressor()))
    }
    # scored per repeat of the fresh folds, on that repeat's own out-of-fold outputs
    want = per_fold_scores(p, 0.75 * oof["line"] + 0.25 * oof["mean"], p.fresh_splits[:4])
    np.testing.assert_allclose(got["ensemble"][:4], want)
    # past the deadline, or without fresh folds, it says why instead
    assert fresh_fold_scores(mixes, pipes, p, deadline=time.monotonic() - 1) == (
        "the time left ran out"
    )
    assert fresh_fold_scores(mixes, pipes, _replace(p, fresh_splits=[])) == "no fresh folds"


def test_fresh_fold_scores_keep_the_whole_repeats_that_finished_in_time() -> None:
    p = _line_problem()  # two repeats of four folds
    slow_from: list[int] = []

    class SlowLater(LinearRegression):
        """Fast on the first repeat's four folds, then past the deadline."""

        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            slow_from.append(1)
            if len(slow_from) > 4:
                time.sleep(0.6)
            return super().fit(X, y, sample_weight)

    mixes = {"line": {"line": 1.0}, "mean": {"mean": 1.0}}
    pipes = {"line": make_pipeline(SlowLater()), "mean": make_pipeline(DummyRegressor())}
    got = fresh_fold_scores(mixes, pipes, p, deadline=time.monotonic() + 0.3)
    assert isinstance(got, dict) and len(got["line"]) == len(got["mean"]) == 4
    # the first repeat alone, scored as without a deadline
    full = fresh_fold_scores(mixes, {"line": LinearRegression(), "mean": DummyRegressor()}, p)
    assert isinstance(full, dict)
    np.testing.assert_allclose(got["line"], full["line"][:4])

    # a failure is not a lack of time: it says why, whatever repeat it came in
    class FailLater(LinearRegression):
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
            slow_from.append(2)
            if slow_from.count(2) > 4:
                raise ValueError("singular matrix")
            return super().fit(X, y, sample_weight)

    got = fresh_fold_scores(
        mixes, {"line": make_pipeline(FailLater()), "mean": make_pipeline(DummyRegressor())}, p
    )
    assert isinstance(got, str) and "singular matrix" in got


def test_the_search_keeps_back_one_repeat_of_the_fresh_check_when_it_will_run() -> None:
    p = _line_problem()  # 4 folds a repeat, 45 training rows and 15 held out a fold

    def rec(name: str, family: str, folds: list[float], params: Any = None) -> TrialRecord:
        res = CVResult([{"rmse": f} for f in folds], np.zeros(60), 4.0, 1.0)
        res.fold_seconds = [1.0] * 4
        return TrialRecord(name, family, params or {}, res)

    ref = rec("lightgbm", "lightgbm", [3.0, 3.2, 2.9, 3.1], dict(LIBRARY_DEFAULTS["lightgbm"]))
    recs = [
        rec("linear", "linear", [1.0, 1.1, 0.9, 1.0]),  # far ahead of the reference
        rec("knn", "knn", [1.1, 1.2, 1.0, 1.1]),
        rec("forest", "random_forest", [2.0, 2.1, 1.9, 2.0]),
        ref,
    ]
    # the best two and the reference, each 4 folds of 1 s, with a 25% margin
    assert _finish.fresh_check_reserve(recs, p) == pytest.approx(3 * 1.25 * 4.0)
    # the best so far within the noise of the reference: step 2 keeps it, the check will not run
    level = [rec("linear", "linear", [2.9, 3.3, 2.8, 3.1]), ref]
    assert _finish.fresh_check_reserve(level, p) == 0.0
    # no reference scored, or no fresh folds (a large table): nothing kept back
    assert _finish.fresh_check_reserve(recs[:3], p) == 0.0
    assert _finish.fresh_check_reserve(recs, _replace(p, fresh_splits=[])) == 0.0


def _replace(p: Problem, **kw: Any) -> Problem:
    from dataclasses import replace

    return replace(p, **kw)


def test_the_check_does_not_run_when_it_would_not_leave_time_to_refit() -> None:
    p = _line_problem()
    slow = CVResult([], np.zeros(60), 40.0, 1.0, fold_seconds=[5.0] * 8)
    recs = {n: TrialRecord(n, "linear", {}, slow) for n in ("linear", "lightgbm")}
    opts = _finish.FinishOptions(deadline=time.monotonic() + 5.0)
    confirm = _finish._confirmer(recs, [], p, opts)
    assert confirm is not None
    got = confirm("linear", "lightgbm")
    assert got == "not run: one repeat of the fresh folds needs about 50.0 s and 0.0 s are left"
    # time for one repeat of the two (4 folds each, 0.25 s a fold): the first repeat is used
    quick = CVResult([], np.zeros(60), 2.0, 1.0, fold_seconds=[0.25] * 8)
    recs = {n: TrialRecord(n, "linear", {}, quick) for n in ("linear", "lightgbm")}
    opts = _finish.FinishOptions(deadline=time.monotonic() + 5.5)
    got = _finish._confirmer(recs, [], p, opts)("linear", "lightgbm")
    assert not isinstance(got, str) and len(got[0]) == len(got[1]) == 4
    # without a deadline, every repeat
    got = _finish._confirmer(recs, [], p, _finish.FinishOptions())("linear", "lightgbm")
    assert not isinstance(got, str) and len(got[0]) == len(got[1]) == 8
    # a large table (no fresh folds) has no check at all
    assert _finish._confirmer(recs, [], _replace(p, fresh_splits=[]), opts) is None


def test_train_on_a_small_table_records_the_fresh_check() -> None:
    # a straight line with noise: the linear model beats LightGBM's defaults on any folds
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = pd.Series(2 * X["a"] - X["b"] + rng.normal(scale=0.3, size=200), name="y")
    res = train(
        X,
        y,
        roles=FeatureRoles(numeric=["a", "b"]),
        max_trials=4,
        families=["linear", "lightgbm"],
        cv_repeats=2,
        ensemble=False,
        seed=0,
    )
    check = res.extra["defaults_check"]
    ref = res.leaderboard.get(check["reference"])
    assert ref.params == LIBRARY_DEFAULTS["lightgbm"] and res.best.startswith("linear")
    assert check["fresh_folds"]["run"] is True and check["fresh_folds"]["beats"] is True
    assert check["fresh_folds"]["folds"] == res.extra["estimate"]["fits_per_candidate"]
    assert check["fresh_folds"]["margin"] > check["fresh_folds"]["standard_error"] > 0
    assert check["fresh_folds"]["seed"] == 1  # the folds were shuffled with the next seed
