"""After the search: ensemble, select under constraints, refit, calibrate, threshold, compare."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from civicml.components import CalibratedModel, WeightedEnsemble, apply_calibrators, fit_calibrators
from civicml.learn._candidates import FAMILIES, build_pipeline
from civicml.learn._confirm import fresh_fold_scores, per_fold_scores
from civicml.learn._cv import SMALL_ROWS, predict_outputs
from civicml.learn._ensemble import (
    caruana,
    caruana_cross_fitted_oof,
    choose_calibration,
    cross_fitted_calibration,
    oof_score,
)
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import Metric, compute_metrics
from civicml.learn._problem import Problem
from civicml.learn._search import TrialRecord
from civicml.learn._select import Candidate, Constraints, pareto_front, select
from civicml.learn._spaces import LIBRARY_DEFAULTS
from civicml.learn._stats import (
    VECTORISED,
    NoiseTest,
    beats_beyond_noise,
    bootstrap_ci,
    one_sided_bar,
    verdict,
    within_noise,
)
from civicml.learn._threshold import Threshold, choose_threshold

__all__ = ["FinishOptions", "Finished", "finish", "fresh_check_reserve"]

ENSEMBLE = "ensemble"
GUARD_RULE = (
    "a tuned model or ensemble replaces the best default configuration (any family's, "
    "LightGBM's library defaults included, whatever its complexity) only when its "
    "cross-validated mean is better; and any choice replaces LightGBM's library defaults "
    "(the model a plain LightGBM fit gives) only when it beats them beyond the noise: its "
    "paired per-fold margin over them exceeds one corrected standard error, and on a small "
    "table it does so again on fresh folds that the search never saw, there by a one-sided "
    "corrected t-test at the 5% level (when the fresh folds cannot run in time, by that test "
    "on the search's own folds)"
)
# The level of the fresh-fold check's one-sided test: the fresh folds confirm what the search's
# own folds suggested, so they are held to the conventional bar of a confirmatory test.
FRESH_ALPHA = 0.05

Members = list[tuple[TrialRecord, float]]
# The fresh-fold check: (chosen, reference) -> their per-fold scores on the fresh folds, or why not.
Confirm = Callable[[str, str], "tuple[list[float], list[float]] | str"]


@dataclass
class Finished:
    name: str
    pipeline: Any
    threshold: Threshold | None
    test_outputs: np.ndarray | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FinishOptions:
    """How the search's records are finished.

    Attributes
    ----------
    constraints : limits the chosen model must meet
    deadline : monotonic seconds by which to be done (None: no wall clock, ``max_trials`` mode)
    cost_fp, cost_fn : the costs of a false positive and a false negative (binary threshold)
    ensemble : whether to try a weighted ensemble of the best candidates
    calibrate : whether to calibrate the chosen classifier's probabilities
    """

    constraints: Constraints = field(default_factory=Constraints)
    deadline: float | None = None
    cost_fp: float = 1.0
    cost_fn: float = 1.0
    ensemble: bool = True
    calibrate: bool = True

    def time_left(self) -> float:
        """Seconds until the deadline (infinite without one)."""
        return math.inf if self.deadline is None else self.deadline - time.monotonic()


def finish(
    records: list[TrialRecord],
    board: Leaderboard,
    problem: Problem,
    options: FinishOptions,
    emit: Callable[..., None],
) -> Finished:
    """Turn the search's records into the final fitted model and the leaderboard's statistics."""
    by_name = {r.name: r for r in records}
    extra: dict[str, Any] = {}
    members: Members = []
    ens_oof = None
    if options.ensemble:
        members, ens_oof = _ensemble(board, by_name, problem, options, extra)
        board.extra["ensemble"] = extra.get("ensemble")

    oofs = {name: rec.cv.oof for name, rec in by_name.items() if rec.cv.oof is not None}
    if ens_oof is not None:
        oofs[ENSEMBLE] = ens_oof
    confirm = _confirmer(by_name, members, problem, options)
    chosen = _select(board, problem, options.constraints, extra, oofs=oofs, confirm=confirm)
    emit("refit_start", name=chosen)
    final, final_oof = _refit(chosen, members, ens_oof, by_name, problem)
    if problem.task != "regression" and options.calibrate and chosen != "baseline":
        final, final_oof = _calibrate(final, final_oof, problem, board, extra)

    threshold = None
    if problem.task == "binary":
        y, classes = problem.y_tr, problem.classes
        threshold = _threshold(
            y == classes[1],
            final_oof[:, 1],
            problem.metric,
            classes,
            y,
            options.cost_fp,
            options.cost_fn,
        )

    X_te = problem.X_te
    test_out = predict_outputs(final, X_te, problem.task, problem.classes) if len(X_te) else None
    if test_out is not None:
        _held_out_scores(board, chosen, test_out, by_name, problem, options)
    _compare(board, problem.splits)
    extra["comparison"] = board.comparison
    return Finished(chosen, final, threshold, test_out, extra)


def fresh_repeat_cost(rec: TrialRecord, n_folds: int) -> float:
    """Seconds to cross-validate ``rec``'s configuration once more on one repeat of ``n_folds``
    fresh folds: its mean fold fit time from the search, with a 25% margin."""
    return 1.25 * rec.cv.fit_seconds * n_folds / max(len(rec.cv.fold_seconds), 1)


def fresh_check_reserve(records: list[TrialRecord], problem: Problem) -> float:
    """Seconds the search keeps back, on a table with fresh folds, for one repeat of the
    defaults guard's fresh-fold check (:func:`_confirmer`): the best two finished
    configurations (the choice, or an ensemble's leading members) and LightGBM's library
    defaults (the reference), each cross-validated once on the fresh folds. Nothing while the
    best so far does not beat the reference beyond the noise (step 2 would keep the
    reference, and the check would not run), nor without fresh folds or a reference.

    Why keep it back: without it the check could not run in 7 of 63 runs of bench/automl at
    30 s (issue 22), and a choice it would have tested stood on the search's own folds: on wine,
    seed 2, a logistic regression scored log loss 0.40 held out against the defaults' 0.03.
    Why only when the check will run: kept back on every small table, it left 8 of 24 runs
    on tables under 1,000 rows using less than 90% of the budget.

    >>> import pandas as pd
    >>> from civicml.learn import get_metric
    >>> from civicml.learn._preprocess import FeatureRoles
    >>> X, y = pd.DataFrame({"x": np.arange(10.0)}), np.arange(10.0)
    >>> folds = [(np.arange(5, 10), np.arange(5)), (np.arange(5), np.arange(5, 10))]
    >>> p = Problem(X, y, X[:0], y[:0], "regression", np.array([]), folds, FeatureRoles(),
    ...             get_metric("rmse", "regression"), 0, fresh_splits=folds)
    >>> fresh_check_reserve([], p)
    0.0
    """
    metric = problem.metric
    if not problem.fresh_splits:
        return 0.0
    sign = -1.0 if metric.greater_is_better else 1.0
    ok = sorted(
        (r for r in records if r.status == "ok" and r.family != "baseline"),
        key=lambda r: sign * r.cv.mean(metric.name),
    )
    ref = [r for r in ok if r.family == "lightgbm" and r.params == LIBRARY_DEFAULTS["lightgbm"]]
    if not ref or ok[0] is ref[0]:
        return 0.0
    tr, va = problem.splits[0]
    ahead = beats_beyond_noise(
        ok[0].cv.fold_scores(metric.name).tolist(),
        ref[0].cv.fold_scores(metric.name).tolist(),
        n_train=len(tr),
        n_test=len(va),
        greater_is_better=metric.greater_is_better,
    )
    if not ahead.beats:
        return 0.0
    parts = {r.name: r for r in [*ok[:2], ref[0]]}
    return float(sum(fresh_repeat_cost(r, problem.n_folds) for r in parts.values()))


def _refit_cost(rec: TrialRecord, n_folds: int) -> float:
    """A full-data refit: the mean fold fit time scaled by k/(k-1), with a 25% margin."""
    done = len(rec.cv.fold_seconds)
    if not done:
        return 0.0
    return 1.25 * rec.cv.fit_seconds / done * n_folds / max(n_folds - 1, 1)


def _ensemble_pool(
    board: Leaderboard, by_name: dict[str, TrialRecord], n_folds: int, options: FinishOptions
) -> list[TrialRecord]:
    """Up to 8 of the best non-baseline candidates whose refits fit in the time left."""
    pool: list[TrialRecord] = []
    spend = 0.0
    for e in [e for e in board.ranked() if e.status == "ok"]:
        rec = by_name[e.name]
        if rec.family == "baseline" or len(pool) >= 8:
            continue
        if pool and spend + _refit_cost(rec, n_folds) > options.time_left() - 0.5:
            continue
        pool.append(rec)
        spend += _refit_cost(rec, n_folds)
    return pool


def _ensemble(
    board: Leaderboard,
    by_name: dict[str, TrialRecord],
    problem: Problem,
    options: FinishOptions,
    extra: dict[str, Any],
) -> tuple[Members, np.ndarray | None]:
    """Greedy (Caruana) weights over the pool; the ensemble joins the board only if it wins."""
    pool = _ensemble_pool(board, by_name, problem.n_folds, options)
    if len(pool) < 2:
        return [], None
    metric, task, y, classes = problem.metric, problem.task, problem.y_tr, problem.classes
    oofs = [r.cv.oof for r in pool]
    weights, ens_score = caruana(oofs, y, metric=metric, task=task, classes=classes)
    singles = [oof_score(metric, task, y, r.cv.oof, classes) for r in pool]
    best_single = max(singles) if metric.greater_is_better else min(singles)
    kept = bool(metric.better(ens_score, best_single) and (weights > 0).sum() >= 2)
    # The greedy weights were chosen on the same OOF predictions they are scored on, which
    # flatters the ensemble; it is kept only if it also wins when the weights (and the best
    # single model) are cross-fitted, and its leaderboard scores are the cross-fitted ones.
    honest: tuple[np.ndarray, float, float] | None = None
    if kept:
        ens_cf, single_cf = caruana_cross_fitted_oof(
            oofs, y, _partition(problem), metric=metric, task=task, classes=classes
        )
        honest = (
            ens_cf,
            oof_score(metric, task, y, ens_cf, classes),
            oof_score(metric, task, y, single_cf, classes),
        )
        kept = bool(metric.better(honest[1], honest[2]))
    extra["ensemble"] = {
        "kept": kept,
        "oof_score": ens_score,
        "best_single_oof_score": best_single,
        "cross_fitted_oof_score": None if honest is None else honest[1],
        "cross_fitted_best_single_oof_score": None if honest is None else honest[2],
        "weights": {r.name: float(w) for r, w in zip(pool, weights, strict=True) if w > 0},
    }
    if not kept or honest is None:
        return [], None
    members = [(r, float(w)) for r, w in zip(pool, weights, strict=True) if w > 0]
    board.entries.append(_ensemble_entry(members, honest[0], problem, ens_score, best_single))
    return members, honest[0]


def _confirmer(
    by_name: dict[str, TrialRecord], members: Members, problem: Problem, options: FinishOptions
) -> Confirm | None:
    """The fresh-fold check for :func:`_defaults_guard`, or None without fresh folds (a large
    table). It refits the two candidates' configurations (an ensemble's members, with its
    weights) on the fresh folds, in the time the search left for finishing: the search keeps
    back one repeat's worth (:func:`fresh_check_reserve`). It uses as many repeats of the fresh
    folds as fit in the time left before the chosen one's refit (all of them without a
    deadline), keeps the repeats that finished when the clock stops it inside one, and when not
    even one repeat fits or finishes it does not run and says so (then :func:`_unconfirmed`
    decides)."""
    if not problem.fresh_splits:
        return None

    def confirm(chosen: str, ref: str) -> tuple[list[float], list[float]] | str:
        mixes = {
            n: {r.name: w for r, w in members} if n == ENSEMBLE else {n: 1.0} for n in (chosen, ref)
        }
        if any(p not in by_name for mix in mixes.values() for p in mix):
            return "not run: a candidate has no search record to refit"
        parts = {p: by_name[p] for mix in mixes.values() for p in mix}
        # one repeat of the fresh folds (k refits of each configuration), from its CV timings
        per_repeat = sum(fresh_repeat_cost(r, problem.n_folds) for r in parts.values())
        # the chosen one's refit, and half a second for calibration and the held-out scores
        refit = sum(_refit_cost(by_name[p], problem.n_folds) for p in mixes[chosen]) + 0.5
        left = options.time_left() - refit
        repeats = problem.repeats
        if math.isfinite(left) and per_repeat > 0:
            repeats = min(repeats, int(left // per_repeat))
        if repeats < 1:
            return (
                f"not run: one repeat of the fresh folds needs about {per_repeat:.1f} s and "
                f"{max(left, 0.0):.1f} s are left"
            )
        deadline = None if options.deadline is None else options.deadline - refit
        pipes = {p: _pipe(r, problem) for p, r in parts.items()}
        splits = problem.fresh_splits[: repeats * problem.n_folds]
        got = fresh_fold_scores(mixes, pipes, problem, deadline=deadline, splits=splits)
        return got if isinstance(got, str) else (got[chosen], got[ref])

    return confirm


def _partition(problem: Problem) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first repeat's folds: they partition the training rows once (cross-fitting needs
    every row predicted once; the other repeats would only overwrite it)."""
    return problem.splits[: problem.n_folds]


def _select(
    board: Leaderboard,
    problem: Problem,
    constraints: Constraints,
    extra: dict[str, Any],
    *,
    oofs: dict[str, np.ndarray] | None = None,
    confirm: Confirm | None = None,
) -> str:
    """The chosen candidate's name under the constraints; the Pareto front goes in ``extra``.

    After the constraints, two rules (both recorded in ``extra`` and the board's extra): a
    simpler candidate within the noise of the chosen one is preferred if it also beats the best
    default configuration out of fold (``noise_selection``), and a tuned model or ensemble is
    kept only if its cross-validated score beats every default configuration's
    (``defaults_check``).
    """
    metric = problem.metric
    cands = [_candidate(e, metric.name) for e in board.ranked() if e.status == "ok"]
    chosen, given_up = select(
        cands, constraints, greater_is_better=metric.greater_is_better, metric=metric.name
    )
    if chosen is None:
        chosen = cands[0]
    allowed = [c for c in cands if not constraints.violations(c)] or [chosen]
    best = chosen
    chosen = _noise_rule(chosen, allowed, board, problem, extra)
    energy = bool(given_up and given_up.get("energy"))
    chosen = _defaults_guard(
        chosen, allowed, board, problem, extra, energy=energy, oofs=oofs, confirm=confirm
    )
    extra["selection"] = {
        "constraints": asdict(constraints),
        "chosen": chosen.name,
        "best_scoring": best.name,
        "given_up": given_up,
    }
    extra["pareto"] = pareto_front(cands, greater_is_better=metric.greater_is_better)
    board.selected = chosen.name
    return chosen.name


def _noise_rule(
    chosen: Candidate,
    allowed: list[Candidate],
    board: Leaderboard,
    problem: Problem,
    extra: dict[str, Any],
) -> Candidate:
    """The simplest allowed candidate (not the baseline) whose cross-validated mean is within
    one corrected standard error of ``chosen``'s per-fold scores (:func:`within_noise`), or
    ``chosen`` when none simpler is that close. Only on a small table (under
    :data:`SMALL_ROWS` training rows), where the estimate's noise is wide; on a larger one the
    best-scoring candidate stands.

    The simpler candidate must also beat the best default configuration's cross-validated mean
    (any family's, LightGBM's library defaults included) or be that default: a simpler model
    within the noise but below it is passed over (``passed_over`` in the record). On
    bench/automl (issue 22, 10 tables x 3 seeds at 30 s) this cut the held-out losses to
    LightGBM's defaults from 9 to 8 of 30 (16 against 19 of 60 runs scored under both rules),
    the median gain over them unchanged within 0.1 point."""
    tr, va = problem.splits[0]
    if len(problem.y_tr) >= SMALL_ROWS:
        skipped: dict[str, Any] = {
            "rule": f"not applied: {len(problem.y_tr):,} training rows is not a small table "
            f"(under {SMALL_ROWS:,})",
            "best_scoring": chosen.name,
            "chosen": chosen.name,
            "chosen_for_noise": False,
        }
        extra["noise_selection"] = board.extra["noise_selection"] = skipped
        return chosen
    entry = board.get(chosen.name)
    best_scores = entry.extra.get("fold_scores", []) if entry is not None else []
    gib = problem.metric.greater_is_better
    top = _best_default(allowed, board, problem)
    close, passed_over = [], []
    for c in allowed:
        if c.name == "baseline" or c.simplicity >= chosen.simplicity:
            continue
        ok, behind, se = within_noise(
            best_scores, c.score, n_train=len(tr), n_test=len(va), greater_is_better=gib
        )
        if (
            ok
            and top is not None
            and c is not top
            and not problem.metric.better(c.score, top.score)
        ):
            passed_over.append(c.name)
        elif ok:
            close.append((c.simplicity, behind, c.name, c, se))
    record: dict[str, Any] = {
        "rule": "one standard error: the simplest candidate whose mean is within one corrected "
        "(Nadeau-Bengio) standard error of the best-scoring one's per-fold scores",
        "best_scoring": chosen.name,
        "chosen": chosen.name,
        "chosen_for_noise": False,
        "best_default": None if top is None else top.name,
        "best_default_cv": None if top is None else top.score,
        "passed_over": passed_over,
    }
    if close:
        _, behind, name, simpler, se = min(close, key=lambda t: t[:3])
        record.update(chosen=name, chosen_for_noise=True, behind_best=behind, standard_error=se)
        chosen = simpler
    extra["noise_selection"] = board.extra["noise_selection"] = record
    return chosen


def _defaults_guard(
    chosen: Candidate,
    allowed: list[Candidate],
    board: Leaderboard,
    problem: Problem,
    extra: dict[str, Any],
    *,
    energy: bool = False,
    oofs: dict[str, np.ndarray] | None = None,
    confirm: Confirm | None = None,
) -> Candidate:
    """``chosen``, or a default configuration that it does not beat. Up to three steps, all
    recorded in ``extra["defaults_check"]``:

    1. A tuned model or an ensemble that does not beat the best default configuration (any
       family's and complexity) on the cross-validated mean gives way to that default.
    2. Whatever is then chosen gives way to LightGBM's library defaults (the *reference*: the
       model a plain ``LGBMClassifier()`` / ``LGBMRegressor()`` gives) unless it beats them
       beyond the noise (:func:`beats_beyond_noise`: the paired per-fold margin exceeds one
       corrected standard error). Folds that do not pair fall back to the mean. Without a
       scored reference (LightGBM not searched, or it did not finish) step 1 stands alone.
    3. On a small table (``confirm`` given: the problem has fresh folds), a choice that passed
       step 2 must beat the reference again on folds the search never saw, by a one-sided
       corrected t-test at the 5% level (:func:`_fresh_check`), because the search's own margin
       is flattered by picking the best of many trials on those folds. When the fresh folds
       cannot run, the choice must pass that test on the search's own folds instead
       (:func:`_unconfirmed`).

    When the energy rule chose a cheaper model (``energy``), only defaults no more complex than
    it are compared, so the trade the user asked for stands. The ensemble's per-fold scores come
    from its cross-fitted out-of-fold outputs, whose rows average the repeats; when it is one of
    the two, the other's are taken the same way from ``oofs`` (every candidate's out-of-fold
    outputs), so the pair is scored alike.

    Why step 2: keeping the reference gives exactly LightGBM's defaults, where another
    family's default is as likely as a tuned model to lose to them held out. On bench/automl
    at 60 s (issue 22, 21 tables x 3 seeds) the step kept the reference in 8 of 63 runs; the
    choice it overruled would have been worse held out in 5 of them and better in 3, and
    civicml was worse than LightGBM's defaults in 7 runs instead of 12.
    """
    metric = problem.metric
    defaults = _defaults(board)
    pool = [c for c in allowed if not energy or c.simplicity <= chosen.simplicity]
    top = _best_default(pool, board, problem)
    record: dict[str, Any] = {
        "best_default": None,
        "chosen": chosen.name,
        "kept_default": False,
        "rule": GUARD_RULE,
        "challenger": chosen.name,
    }
    if top is not None:
        record.update(best_default=top.name, best_default_cv=top.score, chosen_cv=chosen.score)
        if chosen.name not in defaults and not metric.better(chosen.score, top.score):
            record.update(chosen=top.name, kept_default=True, kept_because="mean")
            chosen = top
    record["without_noise_step"] = chosen.name
    ref = _reference(pool, board)
    if ref is not None:
        tr, va = problem.splits[0]
        a, b = _paired_scores(board, problem, chosen.name, ref.name, oofs)
        step2 = beats_beyond_noise(
            a,
            b,
            n_train=len(tr),
            n_test=len(va),
            greater_is_better=metric.greater_is_better,
        )
        beats, margin, se = step2.beats, step2.margin, step2.standard_error
        paired = se == se  # NaN: the two were not scored on the same folds
        record.update(
            reference=ref.name,
            reference_cv=ref.score,
            margin=margin if paired else None,
            standard_error=se if paired else None,
        )
        replaces = beats if paired else metric.better(chosen.score, ref.score)
        if chosen is not ref and replaces and confirm is not None:
            replaces = _fresh_check(chosen, ref, problem, confirm, record, step2)
        if chosen is not ref and not replaces:
            record.update(
                chosen=ref.name,
                kept_default=True,
                kept_because="fresh folds"
                if "without_fresh_check" in record
                else ("noise" if paired else "mean"),
                best_default=record["best_default"] or ref.name,
            )
            chosen = ref
    extra["defaults_check"] = board.extra["defaults_check"] = record
    return chosen


def _fresh_check(
    chosen: Candidate,
    ref: Candidate,
    problem: Problem,
    confirm: Confirm,
    record: dict[str, Any],
    step2: NoiseTest,
) -> bool:
    """Step 3 of the guard, on a small table: whether ``chosen`` also beats the reference on the
    fresh folds (``learn._confirm``), by a one-sided corrected t-test at level
    :data:`FRESH_ALPHA`: its paired margin must exceed :func:`one_sided_bar` corrected standard
    errors (1.76 on 15 folds). When not, the guard keeps the reference
    (``kept_because="fresh folds"``). The margin and the bar go in ``record["fresh_folds"]``;
    when the check cannot run, ``record["fresh_check_not_run"]`` says why and ``chosen`` must
    pass the same test on the search's own folds (:func:`_unconfirmed`), or the reference is
    kept (also ``kept_because="fresh folds"``).

    Why a test and not step 2's one standard error: step 2 screens on folds the search chose
    its best trial on; the fresh folds are the only estimate that choice did not see, so they
    confirm it, at the conventional level of a confirmatory test. On bench/automl at 60 s
    (issue 22, 21 tables x 3 seeds, commit 3bca43b) the check at one standard error kept
    LightGBM's defaults in 5 of the 19 runs it ran in (the choice it overruled: worse held out
    in 2, better in 3), and civicml was worse than the defaults in 7 of 63 runs; the recorded
    margins say this bar would have kept them in 7 more (4 of those choices worse held out,
    3 better). The bar was chosen with those runs in view; the rerun on this rule is in
    docs/benchmarks.md."""
    record["without_fresh_check"] = chosen.name
    got = confirm(chosen.name, ref.name)
    if isinstance(got, str):
        record["fresh_check_not_run"] = got
        return _unconfirmed(step2, record)
    a, b = got
    tr, va = problem.fresh_splits[0]
    test = beats_beyond_noise(
        a,
        b,
        n_train=len(tr),
        n_test=len(va),
        greater_is_better=problem.metric.greater_is_better,
        alpha=FRESH_ALPHA,
    )
    record["fresh_folds"] = {
        "run": True,
        "folds": test.folds,
        "seed": problem.fresh_seed,
        "margin": test.margin,
        "standard_error": test.standard_error,
        "alpha": FRESH_ALPHA,
        "bar": test.bar,
        "beats": test.beats,
    }
    return test.beats


def _unconfirmed(step2: NoiseTest, record: dict[str, Any]) -> bool:
    """When the fresh folds could not run, whether the choice passes the same one-sided test
    at :data:`FRESH_ALPHA` on the search's own folds (``step2``, step 2's paired margin); the
    outcome goes in ``record["unconfirmed"]``. A lead the fresh folds could not test must at
    least clear the confirmatory bar where it was found, flattered as it is by the pick;
    otherwise the reference is kept. Without this a choice stood on step 2's one standard error
    whenever the check ran out of time (on bench/automl at 30 s, wine seed 2: log loss 0.40
    held out against the defaults' 0.03).

    >>> from civicml.learn._stats import NoiseTest
    >>> record = {}
    >>> _unconfirmed(NoiseTest(True, 0.07, 0.047, 1.0, 15), record), round(record["unconfirmed"]["bar"], 2)
    (False, 1.76)
    """
    bar = one_sided_bar(step2.folds, FRESH_ALPHA)
    beats = bool(step2.margin > bar * step2.standard_error)
    record["unconfirmed"] = {
        "folds": step2.folds,
        "margin": step2.margin,
        "standard_error": step2.standard_error,
        "alpha": FRESH_ALPHA,
        "bar": bar,
        "beats": beats,
    }
    return beats


def _paired_scores(
    board: Leaderboard,
    problem: Problem,
    a: str,
    b: str,
    oofs: dict[str, np.ndarray] | None,
) -> tuple[list[float], list[float]]:
    """Per-fold scores of ``a`` and ``b`` to pair: the leaderboard's, or, when one is the
    ensemble (scored on out-of-fold outputs averaged over the repeats), both scored that way."""
    if ENSEMBLE in (a, b) and oofs is not None and a in oofs and b in oofs:
        return (
            per_fold_scores(problem, oofs[a], problem.splits),
            per_fold_scores(problem, oofs[b], problem.splits),
        )
    return _fold_scores(board, a), _fold_scores(board, b)


def _reference(allowed: list[Candidate], board: Leaderboard) -> Candidate | None:
    """LightGBM's library defaults among ``allowed``, when they were scored; else None."""
    for c in allowed:
        e = board.get(c.name)
        if (
            e is not None
            and e.family == "lightgbm"
            and e.params == LIBRARY_DEFAULTS["lightgbm"]
            and c.score == c.score
        ):
            return c
    return None


def _defaults(board: Leaderboard) -> set[str]:
    """The names of the board's default configurations (the baseline is not one)."""
    return {e.name for e in board.entries if e.extra.get("default") and e.family != "baseline"}


def _best_default(
    allowed: list[Candidate], board: Leaderboard, problem: Problem
) -> Candidate | None:
    """The allowed default configuration (not the baseline) with the best cross-validated mean,
    any complexity; None when there is none."""
    defaults = _defaults(board)
    pool = [c for c in allowed if c.name in defaults and c.score == c.score]
    if not pool:
        return None
    sign = 1.0 if problem.metric.greater_is_better else -1.0
    return max(pool, key=lambda c: (sign * c.score, -c.simplicity))


def _fold_scores(board: Leaderboard, name: str) -> list[float]:
    entry = board.get(name)
    return list(entry.extra.get("fold_scores", [])) if entry is not None else []


def _refit(
    chosen: str,
    members: Members,
    ens_oof: np.ndarray | None,
    by_name: dict[str, TrialRecord],
    problem: Problem,
) -> tuple[Any, np.ndarray]:
    """The chosen model fitted on every training row, and its out-of-fold outputs."""
    X, y = problem.X_tr, problem.y_tr
    if chosen == ENSEMBLE:
        final: Any = WeightedEnsemble(
            [_pipe(r, problem) for r, _ in members], [w for _, w in members], problem.task
        ).fit(X, y)
        chosen_oof = ens_oof
    else:
        rec = by_name[chosen]
        final = _pipe(rec, problem).fit(X, y)
        chosen_oof = rec.cv.oof
    assert chosen_oof is not None
    return final, chosen_oof


def _calibrate(
    final: Any, oof: np.ndarray, problem: Problem, board: Leaderboard, extra: dict[str, Any]
) -> tuple[Any, np.ndarray]:
    """Calibrate a classifier when the out-of-fold log loss says it helps and the primary
    metric, on the same cross-fitted probabilities, is no worse."""
    y_index = np.searchsorted(problem.classes, problem.y_tr)
    folds = _partition(problem)
    method, losses = choose_calibration(oof, y_index, folds)
    extra["calibration"] = {"method": method, "oof_log_loss": losses}
    if method is not None:
        metric = problem.metric
        before = _fold_mean(problem, oof, folds)
        after = _fold_mean(problem, cross_fitted_calibration(oof, y_index, folds, method), folds)
        extra["calibration"]["oof_primary"] = {"none": before, method: after}
        if (
            metric.name != "log_loss"
            and metric.better(before, after)
            and abs(before - after) > 1e-9
        ):
            extra["calibration"].update(
                method=None, declined=f"{method} would lower the out-of-fold {metric.name}"
            )
            method = None
    if method is not None:
        cals = fit_calibrators(oof, y_index, method)
        final = CalibratedModel.from_parts(final, cals, method)
        oof = apply_calibrators(oof, cals, method)
    board.extra["calibration"] = extra["calibration"]
    return final, oof


def _fold_mean(
    problem: Problem, out: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float:
    """The primary metric of ``out`` averaged over ``folds`` (per fold, as the leaderboard
    scores: a calibration fitted per fold that keeps each fold's order keeps its ranking)."""
    y, classes, metric, task = problem.y_tr, problem.classes, problem.metric, problem.task
    scores = []
    for _, va in folds:
        try:
            scores.append(oof_score(metric, task, y[va], out[va], classes))
        except ValueError:  # e.g. ROC AUC on a fold holding one class
            continue
    return float(np.nanmean(scores)) if scores else float("nan")


def _pipe(rec: TrialRecord, problem: Problem) -> Any:
    return build_pipeline(
        FAMILIES[rec.family], problem.task, problem.roles, rec.params, problem.seed
    )


def _candidate(e: Entry, metric: str) -> Candidate:
    return Candidate(
        name=e.name,
        score=float(e.cv_mean.get(metric, float("nan"))),
        predict_ms=e.predict_ms,
        model_bytes=e.model_bytes,
        interpretable=bool(e.extra.get("interpretable", False)),
        simplicity=e.simplicity,
        predict_us_per_row=e.predict_us_per_row,
    )


def _ensemble_entry(
    members: Members, oof: np.ndarray, problem: Problem, ens_score: float, best_single: float
) -> Entry:
    task, y, classes, metric = problem.task, problem.y_tr, problem.classes, problem.metric
    folds = []
    for _, va in problem.splits:
        out = oof[va]
        if task == "regression":
            folds.append(compute_metrics(task, y[va], values=out))
        else:
            folds.append(
                compute_metrics(
                    task,
                    y[va],
                    labels=classes[np.argmax(out, axis=1)],
                    proba=out if out.shape[1] > 2 else out[:, 1],
                    classes=list(classes),
                )
            )
    names = list(folds[0])
    sizes = [r.cv.model_bytes for r, _ in members]
    lat = [r.cv.predict_ms for r, _ in members]
    return Entry(
        name=ENSEMBLE,
        family=ENSEMBLE,
        params={"members": {r.name: round(w, 6) for r, w in members}},
        cv_mean={m: float(np.nanmean([f[m] for f in folds])) for m in names},
        cv_std={m: float(np.nanstd([f[m] for f in folds], ddof=1)) for m in names},
        fit_seconds=sum(r.cv.fit_seconds for r, _ in members),
        predict_us_per_row=sum(r.cv.predict_us_per_row for r, _ in members),
        simplicity=max(FAMILIES[r.family].simplicity for r, _ in members) + 1,
        extra={
            "fold_scores": [float(f.get(metric.name, np.nan)) for f in folds],
            "oof_score": ens_score,
            "best_single_oof_score": best_single,
            "interpretable": False,
        },
        model_bytes=None if None in sizes else int(sum(s or 0 for s in sizes)),
        predict_ms=None if None in lat else float(sum(v or 0.0 for v in lat)),
    )


def _threshold(
    y_pos: np.ndarray,
    score: np.ndarray,
    metric: Metric,
    classes: np.ndarray,
    y: np.ndarray,
    cost_fp: float,
    cost_fn: float,
) -> Threshold:
    by_cost = choose_threshold(y_pos, score, cost_fp=cost_fp, cost_fn=cost_fn)
    if cost_fp != cost_fn or metric.kind != "label":
        return by_cost
    # Equal costs and a label metric: the threshold that maximises (or minimises) that metric.
    cuts = np.unique(np.quantile(score, np.linspace(0.01, 0.99, 99)))
    values = [metric(y, np.where(score >= t, classes[1], classes[0]), list(classes)) for t in cuts]
    sign = 1.0 if metric.greater_is_better else -1.0
    t = float(cuts[int(np.nanargmax(sign * np.asarray(values)))])
    n = len(score)
    fp = float(np.sum((score >= t) & ~y_pos))
    fn = float(np.sum((score < t) & y_pos))
    return Threshold(
        value=t,
        cost_false_positive=float(cost_fp),
        cost_false_negative=float(cost_fn),
        expected_cost_per_1000=(fp * cost_fp + fn * cost_fn) / n * 1000,
        false_positives_per_1000=fp / n * 1000,
        false_negatives_per_1000=fn / n * 1000,
        rule=f"best {metric.name} (equal costs)",
    )


def _held_out_scores(
    board: Leaderboard,
    chosen: str,
    chosen_out: np.ndarray,
    by_name: dict[str, TrialRecord],
    problem: Problem,
    options: FinishOptions,
) -> None:
    """A bootstrap 95% interval on the held-out score for the chosen and the top two others."""
    outputs = {chosen: chosen_out}
    for e in [e for e in board.ranked() if e.status == "ok" and e.name != chosen][:2]:
        rec = by_name.get(e.name)
        if rec is None or _refit_cost(rec, problem.n_folds) > options.time_left() - 0.3:
            continue
        model = _pipe(rec, problem).fit(problem.X_tr, problem.y_tr)
        outputs[e.name] = predict_outputs(model, problem.X_te, problem.task, problem.classes)
    for name, out in outputs.items():
        entry = board.get(name)
        if entry is not None:
            entry.extra.update(_held_out_ci(out, problem))


def _held_out_ci(out: np.ndarray, problem: Problem) -> dict[str, Any]:
    """The held-out score of ``out`` and its bootstrap 95% interval."""
    metric, task, y_te, classes, seed = (
        problem.metric,
        problem.task,
        problem.y_te,
        problem.classes,
        problem.seed,
    )
    n_boot = 1000 if len(y_te) <= 5000 else 300

    def score_rows(idx: np.ndarray) -> float:
        try:
            return oof_score(metric, task, y_te[idx], out[idx], classes)
        except ValueError:
            return float("nan")

    if metric.name in VECTORISED and metric.kind != "label":
        lo, hi = bootstrap_ci(
            metric.name, y_te, out, classes=list(classes), n_boot=n_boot, seed=seed
        )
    elif metric.name == "accuracy":
        labels = classes[np.argmax(out, axis=1)]
        lo, hi = bootstrap_ci("accuracy", y_te, labels, n_boot=n_boot, seed=seed)
    else:
        lo, hi = bootstrap_ci(score_rows, y_te, out, n_boot=min(n_boot, 200), seed=seed)
    return {"test_score": score_rows(np.arange(len(y_te))), "test_ci95": [lo, hi]}


def _compare(board: Leaderboard, splits: list[tuple[np.ndarray, np.ndarray]]) -> None:
    ranked = [e for e in board.ranked() if e.status == "ok"]
    if len(ranked) < 2:
        return
    best, runner = ranked[0], ranked[1]
    comp = verdict(
        best.name,
        runner.name,
        best.extra.get("fold_scores", []),
        runner.extra.get("fold_scores", []),
        n_train=len(splits[0][0]),
        n_test=len(splits[0][1]),
        greater_is_better=board.greater_is_better,
    )
    doc = asdict(comp)
    for k in ("mean_difference", "t", "p_value"):
        v = doc[k]
        doc[k] = float(v) if isinstance(v, float) and math.isfinite(v) else None
    board.comparison = doc
