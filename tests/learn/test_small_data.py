"""Small tables: repeated folds, the wider space, the whole budget, noise-aware selection and
the defaults that are always candidates (issue 22)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from civicml._errors import SpecError
from civicml.learn import FAMILIES, FeatureRoles, _finish, _search, build_pipeline, train
from civicml.learn._cv import SMALL_ROWS, cross_validate, cv_repeats, make_splitter
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import get_metric
from civicml.learn._select import Candidate, Constraints
from civicml.learn._spaces import LIBRARY_DEFAULTS, WARM_START, is_default, suggest
from civicml.learn._stats import beats_beyond_noise, one_sided_bar, within_noise


def _frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, FeatureRoles]:
    X, y = make_classification(n, 6, n_informative=3, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    return frame, y, FeatureRoles(numeric=list(frame.columns))


def test_repeats_follow_the_documented_rule() -> None:
    assert [cv_repeats(n) for n in (10, 999, 1000, SMALL_ROWS - 1, SMALL_ROWS)] == [3, 3, 2, 2, 1]
    # each repeat needs 10 s of a budget
    assert [cv_repeats(300, b) for b in (5.0, 8.0, 19.9, 20.0, 60.0)] == [1, 1, 1, 2, 3]
    assert cv_repeats(1500, 60.0) == 2 and cv_repeats(50_000, 60.0) == 1
    splits = list(
        make_splitter("binary", 5, 0, grouped=False, repeats=3).split(
            np.zeros(60), np.tile([0, 1], 30)
        )
    )
    assert len(splits) == 15
    # each repeat's folds partition the rows, and the repeats are shuffled differently
    for r in range(3):
        rows = np.sort(np.concatenate([va for _, va in splits[5 * r : 5 * r + 5]]))
        assert rows.tolist() == list(range(60))
    assert not np.array_equal(splits[0][1], splits[5][1])
    # groups are never repeated (a group split has too few shuffles)
    assert type(make_splitter("binary", 5, 0, grouped=True, repeats=3)).__name__.startswith(
        "StratifiedGroup"
    )


def test_repeated_cv_out_of_fold_output_is_the_mean_of_the_repeats() -> None:
    X, y, roles = _frame(80)
    pipe = build_pipeline(FAMILIES["linear"], "binary", roles, {}, 0)
    classes = np.array([0, 1])
    splits = list(make_splitter("binary", 4, 0, grouped=False, repeats=2).split(X, y))
    both = cross_validate(pipe, X, y, task="binary", classes=classes, splits=splits)
    one = cross_validate(pipe, X, y, task="binary", classes=classes, splits=splits[:4])
    two = cross_validate(pipe, X, y, task="binary", classes=classes, splits=splits[4:])
    assert len(both.fold_metrics) == 8
    np.testing.assert_allclose(both.oof, (one.oof + two.oof) / 2)


def test_train_records_what_the_estimate_rests_on_and_uses_the_budget() -> None:
    X, y, roles = _frame(150)
    budget = 3.0
    started = time.monotonic()
    res = train(X, pd.Series(y, name="y"), roles=roles, budget_seconds=budget, cv_repeats=3)
    wall = time.monotonic() - started
    est = res.extra["estimate"]
    assert est == res.leaderboard.extra["estimate"]
    assert (est["rows"], est["folds"], est["repeats"], est["fits_per_candidate"]) == (
        120,
        5,
        3,
        15,
    )
    assert est["small_data"] is True
    ok = [e for e in res.leaderboard.entries if e.status == "ok" and e.family != "ensemble"]
    assert all(len(e.extra["fold_scores"]) == 15 for e in ok)
    # the whole budget is used (minus the reserve for the refit), never more than 5% over
    assert 0.7 * budget <= wall <= 1.05 * budget + 0.3
    for key in ("noise_selection", "defaults_check"):
        assert key in res.extra and key in res.leaderboard.extra


def test_max_trials_runs_are_not_repeated_unless_asked() -> None:
    X, y, roles = _frame(60)
    ys = pd.Series(y, name="y")
    kw: dict[str, Any] = {
        "max_trials": 1,
        "families": ["linear"],
        "ensemble": False,
        "calibrate": False,
        "test_size": 0,
    }
    assert train(X, ys, roles=roles, **kw).extra["estimate"]["repeats"] == 1
    res = train(X, ys, roles=roles, cv_repeats=2, cv_folds=3, **kw)
    assert res.extra["estimate"]["repeats"] == 2
    assert res.extra["estimate"]["fits_per_candidate"] == 6
    assert res.extra["estimate"]["small_data"] is False  # no wider space without a budget


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_cv_repeats_is_one_clear_error(bad: Any) -> None:
    X, y, roles = _frame(60)
    with pytest.raises(SpecError, match="cv_repeats"):
        train(X, pd.Series(y), roles=roles, max_trials=1, families=["linear"], cv_repeats=bad)


def test_lightgbm_library_defaults_are_a_warm_start_and_defaults_are_marked() -> None:
    assert ("lightgbm", LIBRARY_DEFAULTS["lightgbm"]) in WARM_START
    assert LIBRARY_DEFAULTS["lightgbm"]["n_estimators"] == 100
    assert LIBRARY_DEFAULTS["lightgbm"]["learning_rate"] == 0.1
    assert is_default("linear", {}) and not is_default("lightgbm", {"num_leaves": 63})
    X, y, roles = _frame(60)
    res = train(
        X,
        pd.Series(y),
        roles=roles,
        max_trials=3,
        families=["linear", "lightgbm"],
        ensemble=False,
        calibrate=False,
        cv_folds=3,
        test_size=0,
    )
    flags = {e.name: e.extra["default"] for e in res.leaderboard.entries if e.family != "ensemble"}
    assert flags["linear"] and flags["lightgbm"] and flags["lightgbm_2"]
    assert (
        flags["lightgbm_2"] is True and res.leaderboard.get("lightgbm_2").params["num_leaves"] == 31
    )


def test_defaults_are_never_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y, roles = _frame(120)

    class Always(optuna.pruners.BasePruner):
        def prune(self, study: Any, trial: Any) -> bool:
            return True

    monkeypatch.setattr(optuna.pruners, "MedianPruner", lambda **kw: Always())
    res = train(
        X,
        pd.Series(y),
        roles=roles,
        max_trials=4,
        families=["linear", "knn"],
        ensemble=False,
        calibrate=False,
        test_size=0,
    )
    by_name = {e.name: e for e in res.leaderboard.entries}
    assert by_name["linear"].status == "ok" and by_name["knn"].status == "ok"  # defaults
    assert {by_name[n].status for n in ("linear_2", "knn_2") if n in by_name} <= {"pruned"}
    assert any(e.status == "pruned" for e in res.leaderboard.entries)


def test_small_space_is_wider_and_its_models_fit() -> None:
    X, y, roles = _frame(80)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen: dict[str, set[Any]] = {"l1_ratio": set(), "max_depth": set()}
    for _ in range(12):
        trial = study.ask()
        lin = suggest(trial, "linear", "binary", small=True)
        gbm = suggest(trial, "lightgbm", "binary", small=True)
        seen["l1_ratio"].add(lin["l1_ratio"])
        seen["max_depth"].add(gbm["max_depth"])
        if gbm["max_depth"] > 0:
            assert gbm["num_leaves"] <= 2 ** gbm["max_depth"]
        assert 1e-4 <= lin["C"] <= 1e3
        study.tell(trial, 0.0)
    assert seen["l1_ratio"] > {0.0} and len(seen["max_depth"]) > 1
    assert "l1_ratio" not in suggest(study.ask(), "linear", "binary")  # the usual space
    for params in ({"C": 0.1, "l1_ratio": 1.0, "class_weight": "balanced"}, {"l1_ratio": 0.5}):
        pipe = build_pipeline(FAMILIES["linear"], "binary", roles, params, 0).fit(X, y)
        assert pipe.score(X, y) > 0.6
    fit = build_pipeline(FAMILIES["random_forest"], "binary", roles, {"max_depth": 2}, 0).fit(X, y)
    assert max(t.get_depth() for t in fit[-1].estimators_) <= 2


def test_a_family_too_slow_for_the_time_left_does_not_end_the_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sampler proposes only kNN, which never fits: the search asks other families and
    runs to its deadline instead of stopping after a run of skips."""

    class OnlyKnn(optuna.samplers.RandomSampler):
        def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
            if name == "family":
                return "knn"
            return super().sample_independent(study, trial, name, dist)

    monkeypatch.setattr(optuna.samplers, "TPESampler", lambda **kw: OnlyKnn(seed=0))
    real_fits = _search._fits
    monkeypatch.setattr(_search, "_fits", lambda fam, *a: fam != "knn" and real_fits(fam, *a))
    X, y, roles = _frame(60)
    events: list[tuple[str, dict[str, Any]]] = []
    budget = 1.5
    deadline = time.monotonic() + budget
    config = _search.SearchConfig(
        families=["baseline", "linear", "knn"], max_trials=None, seed=0, deadline=deadline
    )
    splits = list(make_splitter("binary", 3, 0, grouped=False).split(X, y))
    records = _search.run_search(
        X,
        y,
        task="binary",
        classes=np.array([0, 1]),
        splits=splits,
        roles=roles,
        metric=get_metric(None, "binary"),
        config=config,
        emit=lambda kind, **kw: events.append((kind, kw)),
    )
    assert all(r.family != "knn" for r in records)
    assert sum(r.family == "linear" for r in records) >= 2
    assert time.monotonic() >= deadline - 0.3  # ran to the deadline, not stopped early


def _board(scores: dict[str, tuple[int, list[float], bool]]) -> Leaderboard:
    board = Leaderboard("roc_auc", True)
    for name, (simplicity, folds, default) in scores.items():
        board.entries.append(
            Entry(
                name=name,
                family=name.split("_")[0] if name != "lightgbm_2" else "lightgbm",
                params={},
                cv_mean={"roc_auc": float(np.mean(folds))},
                cv_std={"roc_auc": float(np.std(folds, ddof=1))},
                fit_seconds=0.1,
                predict_us_per_row=1.0,
                simplicity=simplicity,
                extra={"fold_scores": folds, "default": default},
            )
        )
    return board


class _P:
    metric = get_metric("roc_auc", "binary")
    splits = [(np.arange(80), np.arange(80, 100))]
    y_tr = np.zeros(100)


def _cands(board: Leaderboard) -> list[Candidate]:
    return [_finish._candidate(e, "roc_auc") for e in board.ranked()]


def test_noise_rule_prefers_the_simpler_model_only_within_the_noise() -> None:
    noisy = [0.70, 0.90, 0.75, 0.88, 0.80]  # mean 0.806, a wide spread
    board = _board(
        {
            "lightgbm_3": (4, noisy, False),  # tuned; the linear default is the best default
            "linear": (1, [0.79, 0.80, 0.78, 0.80, 0.79], True),
            "baseline": (0, [0.80] * 5, True),
        }
    )
    extra: dict[str, Any] = {}
    cands = _cands(board)
    best = cands[0]
    chosen = _finish._noise_rule(best, cands, board, _P(), extra)
    assert (best.name, chosen.name) == ("baseline", "linear") or chosen.name == "linear"
    assert extra["noise_selection"]["chosen_for_noise"] is True
    assert extra["noise_selection"]["behind_best"] <= extra["noise_selection"]["standard_error"]
    # a steady, clearly better model is kept
    steady = _board(
        {
            "lightgbm": (4, [0.90, 0.91, 0.90, 0.91, 0.90], True),
            "linear": (1, [0.80, 0.81, 0.80, 0.80, 0.79], True),
        }
    )
    cands = _cands(steady)
    assert _finish._noise_rule(cands[0], cands, steady, _P(), extra).name == "lightgbm"
    assert extra["noise_selection"]["chosen_for_noise"] is False


def test_a_simpler_model_within_the_noise_must_also_beat_the_lightgbm_defaults() -> None:
    # the tuned model is best by a noisy margin; the linear model and a tuned kNN are within
    # its noise, but only the kNN beats LightGBM's library defaults out of fold
    board = _board(
        {
            "lightgbm_3": (4, [0.70, 0.90, 0.75, 0.88, 0.80], False),  # mean 0.806
            "lightgbm": (4, [0.79, 0.81, 0.80, 0.80, 0.80], True),  # mean 0.800
            "knn_2": (2, [0.80, 0.81, 0.80, 0.80, 0.80], False),  # mean 0.802
            "linear": (1, [0.79, 0.80, 0.78, 0.80, 0.79], True),  # mean 0.792
        }
    )
    extra: dict[str, Any] = {}
    assert _finish._select(board, _P(), Constraints(), extra) == "knn_2"
    noise = extra["noise_selection"]
    assert noise["chosen"] == "knn_2" and noise["chosen_for_noise"] is True
    assert noise["best_default"] == "lightgbm" and noise["passed_over"] == ["linear"]
    assert extra["defaults_check"]["kept_default"] is False
    # without the kNN, the linear model (within the noise, below the default) is not chosen:
    # the best-scoring tuned model stands, as it beats the default
    board.entries = [e for e in board.entries if e.name != "knn_2"]
    assert _finish._select(board, _P(), Constraints(), extra) == "lightgbm_3"
    assert extra["noise_selection"]["chosen_for_noise"] is False
    # and a linear model above the LightGBM defaults' mean is chosen for the noise
    board.get("linear").cv_mean["roc_auc"] = 0.801
    assert _finish._select(board, _P(), Constraints(), extra) == "linear"
    assert extra["noise_selection"]["passed_over"] == []


def test_the_guard_compares_with_a_more_complex_default() -> None:
    # a tuned linear model (chosen, say, for a constraint) below LightGBM's defaults out of fold
    board = _board({"lightgbm": (4, [0.85] * 5, True), "linear_2": (1, [0.84] * 5, False)})
    cands = {c.name: c for c in _cands(board)}
    extra: dict[str, Any] = {}
    kept = _finish._defaults_guard(cands["linear_2"], list(cands.values()), board, _P(), extra)
    assert kept.name == "lightgbm" and extra["defaults_check"]["kept_default"] is True
    # a cheaper model the energy rule traded for stands against a more complex default
    kept = _finish._defaults_guard(
        cands["linear_2"], list(cands.values()), board, _P(), extra, energy=True
    )
    assert kept.name == "linear_2" and extra["defaults_check"]["best_default"] is None


def test_noise_rule_is_not_applied_to_a_large_table() -> None:
    noisy = [0.70, 0.90, 0.75, 0.88, 0.80]
    board = _board(
        {"lightgbm": (4, noisy, True), "linear": (1, [0.79, 0.80, 0.78, 0.80, 0.79], True)}
    )

    class _Large(_P):
        y_tr = np.zeros(_finish.SMALL_ROWS)

    extra: dict[str, Any] = {}
    cands = _cands(board)
    assert _finish._noise_rule(cands[0], cands, board, _Large(), extra).name == cands[0].name
    assert extra["noise_selection"]["chosen_for_noise"] is False
    assert "not applied" in extra["noise_selection"]["rule"]


def test_within_noise_is_the_corrected_one_standard_error_rule() -> None:
    best = [0.8, 0.9, 0.7, 0.85, 0.75]
    se = np.sqrt((1 / 5 + 20 / 80) * np.var(best, ddof=1))
    ok, behind, got = within_noise(
        best, 0.8 - se + 1e-9, n_train=80, n_test=20, greater_is_better=True
    )
    assert ok and got == pytest.approx(se) and behind == pytest.approx(se - 1e-9)
    assert not within_noise(best, 0.8 - se - 1e-6, n_train=80, n_test=20, greater_is_better=True)[0]
    # lower is better (log loss): a higher score is behind
    assert not within_noise([0.1, 0.1, 0.1], 0.2, n_train=80, n_test=20, greater_is_better=False)[0]
    assert within_noise([0.1, 0.12, 0.11], 0.09, n_train=80, n_test=20, greater_is_better=False)[0]
    assert not within_noise([0.9], 0.9, n_train=80, n_test=20, greater_is_better=True)[0]


def test_a_tuned_model_replaces_a_default_only_when_it_beats_it() -> None:
    board = _board(
        {
            "lightgbm": (4, [0.85] * 5, True),
            "lightgbm_3": (4, [0.85] * 5, False),  # tuned, ties the default: not better
        }
    )
    cands = {c.name: c for c in _cands(board)}
    extra: dict[str, Any] = {}
    kept = _finish._defaults_guard(cands["lightgbm_3"], list(cands.values()), board, _P(), extra)
    assert kept.name == "lightgbm" and extra["defaults_check"]["kept_default"] is True
    board.entries[1].cv_mean["roc_auc"] = 0.86
    cands = {c.name: c for c in _cands(board)}
    kept = _finish._defaults_guard(cands["lightgbm_3"], list(cands.values()), board, _P(), extra)
    assert kept.name == "lightgbm_3" and extra["defaults_check"]["kept_default"] is False
    assert extra["defaults_check"]["best_default"] == "lightgbm"


def _guard(board: Leaderboard) -> tuple[str, dict[str, Any]]:
    cands = {c.name: c for c in _cands(board)}
    extra: dict[str, Any] = {}
    kept = _finish._defaults_guard(cands["lightgbm_3"], list(cands.values()), board, _P(), extra)
    return kept.name, extra["defaults_check"]


def _with_reference(board: Leaderboard, name: str = "lightgbm") -> Leaderboard:
    """``board`` with ``name`` as LightGBM's library defaults (the guard's reference)."""
    board.get(name).params = dict(LIBRARY_DEFAULTS["lightgbm"])
    return board


def test_the_reference_gives_way_only_beyond_the_noise() -> None:
    default = [0.80, 0.90, 0.70, 0.85, 0.75]  # hard and easy folds, shared by both
    # better by 0.004 on average, but the paired differences swing from -0.02 to 0.03
    close = [0.83, 0.88, 0.71, 0.86, 0.74]
    scores = {"lightgbm": (4, default, True), "lightgbm_3": (4, close, False)}
    # LightGBM's family defaults (not the library's) are no reference: the mean decides
    name, check = _guard(_board(scores))
    assert name == "lightgbm_3" and check["kept_default"] is False and "reference" not in check
    # LightGBM's library defaults are kept: the tuned model's margin is within the noise
    name, check = _guard(_with_reference(_board(scores)))
    assert name == "lightgbm" and check["kept_default"] is True
    assert check["kept_because"] == "noise" and check["reference"] == "lightgbm"
    assert check["rule"] == _finish.GUARD_RULE and check["challenger"] == "lightgbm_3"
    assert check["without_noise_step"] == "lightgbm_3"
    assert check["margin"] == pytest.approx(0.004)
    assert 0 < check["margin"] <= check["standard_error"]
    # better by 0.02 on every fold: beyond the noise, whatever the spread of the folds
    steady = [s + 0.02 for s in default]
    name, check = _guard(
        _with_reference(_board({"lightgbm": (4, default, True), "lightgbm_3": (4, steady, False)}))
    )
    assert name == "lightgbm_3" and check["kept_default"] is False
    assert check["margin"] == pytest.approx(0.02) and check["margin"] > check["standard_error"]
    # folds that do not pair (a different number of them): the mean decides, no noise claimed
    name, check = _guard(
        _with_reference(
            _board({"lightgbm": (4, default, True), "lightgbm_3": (4, close[:4], False)})
        )
    )
    assert name == "lightgbm_3" and check["margin"] is None and check["standard_error"] is None
    worse = [0.70, 0.80, 0.60, 0.75]  # unpaired and below the mean
    name, check = _guard(
        _with_reference(_board({"lightgbm": (4, default, True), "lightgbm_3": (4, worse, False)}))
    )
    assert name == "lightgbm" and check["kept_because"] == "mean"


def test_another_default_within_the_noise_does_not_replace_the_reference() -> None:
    # the linear defaults score best on the mean, by less than the noise: LightGBM's library
    # defaults stay; a tuned model below the linear defaults gives way first (step 1)
    board = _with_reference(
        _board(
            {
                "linear": (1, [0.81, 0.90, 0.72, 0.84, 0.76], True),  # mean 0.806
                "lightgbm": (4, [0.80, 0.90, 0.70, 0.85, 0.75], True),  # mean 0.800
                "lightgbm_3": (4, [0.80, 0.91, 0.70, 0.85, 0.76], False),  # mean 0.804
            }
        )
    )
    name, check = _guard(board)
    assert name == "lightgbm" and check["without_noise_step"] == "linear"
    assert check["best_default"] == "linear" and check["kept_because"] == "noise"
    # the linear defaults far ahead on every fold replace the reference
    board.get("linear").extra["fold_scores"] = [0.90, 0.99, 0.80, 0.94, 0.85]
    board.get("linear").cv_mean["roc_auc"] = 0.896
    name, check = _guard(board)
    assert name == "linear" and check["kept_default"] is True and check["margin"] > 0.09
    # a cheaper model the energy rule traded for is not compared with the (more complex) reference
    cands = {c.name: c for c in _cands(board)}
    extra: dict[str, Any] = {}
    kept = _finish._defaults_guard(
        cands["linear"], list(cands.values()), board, _P(), extra, energy=True
    )
    assert kept.name == "linear" and "reference" not in extra["defaults_check"]


def test_beats_beyond_noise_pairs_the_folds() -> None:
    a = [0.80, 0.90, 0.70, 0.85, 0.75]
    b = [s - 0.01 for s in a]
    beats, margin, se, bar, folds = beats_beyond_noise(
        a, b, n_train=80, n_test=20, greater_is_better=True
    )
    assert beats and margin == pytest.approx(0.01) and se == pytest.approx(0.0, abs=1e-12)
    assert (bar, folds) == (1.0, 5)
    # the one-candidate standard error of a's folds would call the same margin noise
    assert within_noise(a, float(np.mean(b)), n_train=80, n_test=20, greater_is_better=True)[0]
    # lower is better: b (lower) beats a
    assert beats_beyond_noise(b, a, n_train=80, n_test=20, greater_is_better=False)[0]
    assert not beats_beyond_noise(a, b, n_train=80, n_test=20, greater_is_better=False)[0]
    d = np.array([0.03, -0.02, 0.01, 0.01, -0.01])
    se_want = np.sqrt((1 / 5 + 20 / 80) * np.var(d, ddof=1))
    got = beats_beyond_noise(np.add(b, d), b, n_train=80, n_test=20, greater_is_better=True)
    assert got[0] is False and got[2] == pytest.approx(se_want)
    # unpaired or too few folds: no verdict
    for x, y in (([0.9, 0.8], [0.8]), ([0.9], [0.8]), ([0.9, np.nan], [0.8, 0.8])):
        ok, m, s, _, _ = beats_beyond_noise(x, y, n_train=80, n_test=20, greater_is_better=True)
        assert ok is False and m != m and s != s
    # a fold either side scored NaN is left out, and the bar counts the folds that remain
    got = beats_beyond_noise(
        [0.9, np.nan, 0.9, 0.92],
        [0.8, 0.8, 0.85, 0.8],
        n_train=80,
        n_test=20,
        greater_is_better=True,
        alpha=0.05,
    )
    assert got.folds == 3 and got.bar == pytest.approx(one_sided_bar(3, 0.05))


def test_calibration_that_lowers_the_primary_metric_is_declined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 50)
    p1 = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.15, 100), 0.01, 0.99)
    oof = np.column_stack([1 - p1, p1])
    splits = list(make_splitter("binary", 5, 0, grouped=False).split(oof, y))

    class P:
        task, y_tr, classes, repeats = "binary", y, np.array([0, 1]), 1
        metric = get_metric("roc_auc", "binary")
        n_folds = 5

    P.splits = splits  # type: ignore[attr-defined]
    monkeypatch.setattr(_finish, "choose_calibration", lambda *a: ("isotonic", {"none": 1.0}))
    # a calibration that throws the ranking away (every row the prior)
    monkeypatch.setattr(_finish, "cross_fitted_calibration", lambda o, *a: np.full_like(o, 0.5))
    extra: dict[str, Any] = {}
    model = object()
    out, out_oof = _finish._calibrate(model, oof, P(), Leaderboard("roc_auc", True), extra)
    assert out is model and out_oof is oof
    assert extra["calibration"]["method"] is None
    assert "lower the out-of-fold roc_auc" in extra["calibration"]["declined"]


def test_a_table_too_large_for_its_budget_gets_fewer_folds_not_a_constant_model() -> None:
    """Found by bench/automl: on 262k rows in 30 s no candidate finished five folds, so the
    constant baseline was chosen. The folds are cut to what the budget can fit instead."""
    from civicml.learn._cv import ROW_FITS_PER_SECOND, folds_for_budget

    assert folds_for_budget(ROW_FITS_PER_SECOND, 5, 10.0) == 5
    assert folds_for_budget(10 * ROW_FITS_PER_SECOND, 5, 3.0) == 2
    rng = np.random.default_rng(0)
    n = 30_000
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    y = pd.Series((X["x0"] + X["x1"] + rng.normal(scale=0.5, size=n) > 0).astype(int))
    roles = FeatureRoles(numeric=list(X.columns))
    result = train(
        X, y, roles=roles, budget_seconds=2.0, cv_folds=5, families=["linear", "lightgbm"]
    )
    est = result.extra["estimate"]
    assert est["folds"] == 2 and "5 folds asked, 2 used" in est["folds_cut"]
    assert result.best != "baseline"


def _records(oofs: dict[str, np.ndarray], y: np.ndarray, splits: list) -> dict[str, Any]:
    from civicml.learn._cv import CVResult
    from civicml.learn._search import TrialRecord

    recs = {}
    for name, out in oofs.items():
        folds = [{"rmse": float(np.sqrt(np.mean((out[va] - y[va]) ** 2)))} for _, va in splits]
        cv = CVResult(folds, out, 0.01, 1.0, fold_seconds=[0.001] * len(splits))
        family = name.rstrip("0123456789").rstrip("_")
        recs[name] = TrialRecord(name, family, {}, cv, default=name == "lightgbm")
    return recs


def test_the_ensemble_is_scored_and_guarded_on_its_cross_fitted_outputs() -> None:
    from types import SimpleNamespace

    from civicml.learn._ensemble import caruana_cross_fitted_oof
    from civicml.learn._train import _entry

    rng = np.random.default_rng(3)
    n = 240
    y = rng.normal(size=n)
    fold = np.arange(n) % 4
    splits = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(4)]
    # two real models with independent errors, and noise the in-sample weights can fit
    oofs = {"lightgbm": y + rng.normal(size=n), "knn_2": y + rng.normal(size=n)}
    oofs |= {f"extra_trees_{i}": y + 1.5 * rng.normal(size=n) for i in range(6)}
    recs = _records(oofs, y, splits)
    board = Leaderboard("rmse", False, entries=[_entry(r, "rmse") for r in recs.values()])
    rmse = get_metric("rmse", "regression")
    problem = SimpleNamespace(
        metric=rmse, task="regression", y_tr=y, classes=np.array([]), splits=splits, n_folds=4
    )
    extra: dict[str, Any] = {}
    members, ens_oof = _finish._ensemble(board, recs, problem, _finish.FinishOptions(), extra)
    assert members and extra["ensemble"]["kept"] is True
    honest, _ = caruana_cross_fitted_oof(
        [recs[e.name].cv.oof for e in board.ranked() if e.name != "ensemble"][:8],
        y,
        splits,
        metric=rmse,
        task="regression",
        classes=None,
    )
    np.testing.assert_allclose(ens_oof, honest)
    entry = board.get("ensemble")
    want = [float(np.sqrt(np.mean((honest[va] - y[va]) ** 2))) for _, va in splits]
    np.testing.assert_allclose(entry.extra["fold_scores"], want)
    # the leaderboard's figure is the cross-fitted one, worse than the in-sample weights' score
    assert entry.cv_mean["rmse"] > extra["ensemble"]["oof_score"]
    # the guard pairs the ensemble with the reference on the same kind of scores
    a, b = _finish._paired_scores(
        board, problem, "ensemble", "lightgbm", {**oofs, "ensemble": ens_oof}
    )
    np.testing.assert_allclose(a, want)
    ref = oofs["lightgbm"]
    np.testing.assert_allclose(b, [np.sqrt(np.mean((ref[va] - y[va]) ** 2)) for _, va in splits])
