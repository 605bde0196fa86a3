"""Time-budgeted model search: Optuna ask/tell over every family, warm-started, with pruning.

A trial cross-validates one configuration fold by fold. It completes all folds or is discarded
("pruned" when it is hopeless after the first folds, "timeout" when it would overrun). With
``max_trials`` the wall clock is ignored entirely, so a seeded run is reproducible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from civicml.learn._candidates import FAMILIES, build_pipeline
from civicml.learn._checkpoint import SearchCheckpoint
from civicml.learn._cv import (
    TORCH_IMPORT_SECONDS,
    CVResult,
    FoldControl,
    cross_validate,
    stoppable,
)
from civicml.learn._metrics import Metric
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._search_resume import Replay, stored_result
from civicml.learn._spaces import decode, is_default, suggest, warm_start_for

__all__ = ["SearchConfig", "TrialRecord", "run_search"]

EventHandler = Callable[..., None]


@dataclass
class TrialRecord:
    """One configuration tried: its family, parameters and cross-validation result."""

    name: str
    family: str
    params: dict[str, Any]
    cv: CVResult
    number: int | None = None
    warm: bool = False
    default: bool = False

    @property
    def status(self) -> str:
        return self.cv.status if not self.cv.complete else "ok"


@dataclass
class SearchConfig:
    """What the search may spend. ``deadline`` (monotonic seconds) is None in max_trials mode.

    ``min_untried`` is the fewest seconds that must be left (before the reserve) to start a
    family not tried yet whose fit cannot be stopped from the inside (linear, kNN): its length
    is unknown, so it is not started near the deadline. ``small``: the table is small, so the
    wider small-data space is searched (see :func:`civicml.learn._spaces.suggest`).
    ``checkpoint``: where each trial is kept as it ends, and whose trials are replayed (see
    :mod:`civicml.learn._search_resume`).
    """

    families: list[str]
    max_trials: int | None
    seed: int
    deadline: float | None = None
    trial_timeout: float | None = None
    reserve: Callable[[list[TrialRecord]], float] = field(default=lambda trials: 0.0)
    prune: bool = True
    min_untried: float = 0.0
    on_record: Callable[[TrialRecord], None] = field(default=lambda rec: None)
    small: bool = False
    checkpoint: SearchCheckpoint | None = None


def run_search(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    roles: FeatureRoles,
    metric: Metric,
    config: SearchConfig,
    emit: EventHandler,
) -> list[TrialRecord]:
    """Run the constant baseline, the warm-start configurations, then TPE-proposed ones.

    The defaults among the warm starts (each family's, and LightGBM's library defaults) are
    never pruned: they are always scored on every fold, so a tuned configuration replaces them
    only when it beats them out of fold. A family that would not finish in the time left is
    skipped, and after three such skips it is set aside: the next trial is asked of a family
    that still fits (so a family that is too slow cannot end the search early); the search ends
    when the time is spent or no family fits any more.

    With ``config.checkpoint`` every trial is kept there as it ends, and the trials it already
    holds (a resumed search) are replayed instead of fitted: see
    :mod:`civicml.learn._search_resume`.
    """
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    direction: Literal["maximize", "minimize"] = (
        "maximize" if metric.greater_is_better else "minimize"
    )
    sampler = optuna.samplers.TPESampler(seed=config.seed, n_startup_trials=8)
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
        if config.prune
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    searchable = [f for f in config.families if f != "baseline"]
    warm = warm_start_for(searchable, n_rows=len(y))
    for fam, _ in warm:
        study.enqueue_trial({"family": fam})
    n_est = (config.max_trials if config.max_trials is not None else len(warm) + 8) + 1
    emit("search_start", n_candidates=n_est, n_folds=len(splits))

    records: list[TrialRecord] = []
    run = _Run(X, y, task, classes, splits, roles, metric, config, study, emit, records, {})
    replay = Replay(config.checkpoint, config.deadline)
    # The baseline is always run and is not a search trial.
    if "baseline" in config.families:
        stored = replay.take("baseline", {})
        records.append(_evaluate(run, "baseline", "baseline", {}, None, False, stored=stored))
        if stored is None:
            replay.save("baseline", {}, None, records[-1].cv)
        config.on_record(records[-1])
    if not searchable:
        return records
    state = _Progress(rng=np.random.default_rng(config.seed))
    while config.max_trials is None or state.n_done < config.max_trials:
        if config.deadline is not None and not replay.ahead():
            left = config.deadline - config.reserve(records) - time.monotonic()
            if left <= 0 or state.skipped_in_a_row >= 50:
                emit("candidate_skipped", name="search", reason="budget exhausted")
                break
        trial = study.ask()
        fam = trial.suggest_categorical("family", searchable)
        is_warm = state.n_warm < len(warm)
        asked = (
            dict(warm[state.n_warm][1])
            if is_warm
            else suggest(trial, fam, task, small=config.small)
        )
        default = is_warm and is_default(fam, asked)
        state.n_warm += int(is_warm)
        stored = replay.take(fam, asked)
        if stored is not None:
            params = {**asked, **stored["extra"]["changed"]}
            skip = bool(stored["extra"].get("skipped"))
        elif config.deadline is not None:
            # Warm starts are checked too: a configuration that would not fit is first shrunk
            # (fewer trees or boosting rounds), and skipped when even the smaller one would not.
            params = _shrink_to_fit(fam, asked, records, config, len(splits))
            skip = not _fits(fam, params, records, config, len(splits)) or _too_late_to_try(
                fam, params, records, config, task
            )
        else:
            params, skip = asked, False
        changed = {k: v for k, v in params.items() if asked.get(k) != v}
        if skip:
            if stored is None:
                replay.save(fam, asked, int(trial.number), None, changed)
            if _skip(run, trial, fam, is_warm, state):
                break
            continue
        state.skipped_in_a_row = 0
        rec = _evaluate(run, fam, fam, params, trial, is_warm, default, stored)
        if stored is None:
            replay.save(fam, asked, rec.number, rec.cv, changed)
        records.append(rec)
        config.on_record(rec)
        state.n_done += 1
        if rec.status == "ok":
            study.tell(trial, _pooled(rec, metric))
        elif rec.status == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return records


@dataclass
class _Progress:
    """Where one :func:`run_search` loop stands: trials done, warm starts used, skips."""

    rng: np.random.Generator
    n_done: int = 0
    n_warm: int = 0
    skipped_in_a_row: int = 0
    too_slow: dict[str, int] = field(default_factory=dict)


def _skip(run: _Run, trial: Any, fam: str, warm: bool, state: _Progress) -> bool:
    """Tell Optuna a trial was skipped for lack of time (no fit); True when no family fits
    the time left any more (the search ends). The next trial is asked of a family that still
    fits, drawn at random, unless a warm start comes next."""
    import optuna

    run.study.tell(trial, state=optuna.trial.TrialState.FAIL)
    if not state.skipped_in_a_row:
        run.emit("candidate_skipped", name=fam, reason="would not finish before the deadline")
    state.skipped_in_a_row += 1
    state.too_slow[fam] = state.too_slow.get(fam, 0) + 1
    searchable = [f for f in run.config.families if f != "baseline"]
    open_ = [f for f in searchable if state.too_slow.get(f, 0) < 3]
    if not open_:
        run.emit("candidate_skipped", name="search", reason="no family fits the time left")
        return True
    if not warm:
        run.study.enqueue_trial({"family": str(state.rng.choice(open_))})
    return False


def _pooled(rec: TrialRecord, metric: Metric) -> float:
    value = rec.cv.mean(metric.name)
    if value != value:  # NaN: the worst possible score
        return -1e300 if metric.greater_is_better else 1e300
    return value


SIZE_PARAMS = ("n_estimators", "max_iter")


def _size(fam: str, params: dict[str, Any]) -> float:
    """How much work a configuration does relative to others of its family (trees, rounds)."""
    merged = {**FAMILIES[fam].defaults, **params}
    size = 1.0
    for key in SIZE_PARAMS:
        if isinstance(merged.get(key), int | float):
            size *= float(merged[key])
    return size


def fold_estimate(fam: str, params: dict[str, Any], records: list[TrialRecord]) -> float | None:
    """Expected seconds for one fold of ``fam`` with ``params``, from this family's earlier
    trials scaled by their size (trees or boosting rounds); None when the family is untried.

    A trial stopped inside a fold still counts: the fold's projected length (timed from its
    first trees or rounds), or at least the seconds it ran.
    """
    per_fold = []
    for r in records:
        if r.family != fam:
            continue
        if r.cv.fold_seconds:
            seconds = float(np.mean(r.cv.fold_seconds))
        elif "aborted_fold_seconds" in r.cv.extra:
            seconds = float(r.cv.extra["aborted_fold_seconds"])
        else:
            continue
        ratio = _size(fam, params) / max(_size(fam, r.params), 1e-9)
        per_fold.append(seconds * min(max(ratio, 0.25), 4.0))
    return float(np.median(per_fold)) if per_fold else None


def _fits(
    fam: str,
    params: dict[str, Any],
    records: list[TrialRecord],
    config: SearchConfig,
    n_folds: int,
) -> bool:
    """Whether a trial of ``fam`` is expected to finish before the search must stop (and within
    the per-trial timeout). An untried family is allowed: its folds are guarded inside."""
    assert config.deadline is not None
    est = fold_estimate(fam, params, records)
    if est is None:
        return True
    total = est * n_folds
    if config.trial_timeout is not None and total > config.trial_timeout:
        return False
    return time.monotonic() + total <= config.deadline - config.reserve(records)


def _too_late_to_try(
    fam: str,
    params: dict[str, Any],
    records: list[TrialRecord],
    config: SearchConfig,
    task: str,
) -> bool:
    """Whether ``fam`` is untried, cannot be stopped inside a fit, and too little time is left
    to start it: less than ``config.min_untried`` seconds, or than twice the baseline's
    cross-validation (a floor for any candidate: the same preprocessing, the same folds), or,
    for the MLP before torch is imported, than that import may take."""
    assert config.deadline is not None
    if fold_estimate(fam, params, records) is not None:
        return False
    merged = {k: v for k, v in {**FAMILIES[fam].defaults, **params}.items() if k != "text"}
    est = FAMILIES[fam].make(task, merged, config.seed)
    if stoppable(est):
        return False
    base = [sum(r.cv.fold_seconds) for r in records if r.family == "baseline"]
    need = max(config.min_untried, 2.0 * max(base, default=0.0))
    if type(est).__name__.startswith("TabularMLP"):  # stoppable once torch is imported
        need = max(need, TORCH_IMPORT_SECONDS)
    return config.deadline - config.reserve(records) - time.monotonic() < need


def _shrink_to_fit(
    fam: str,
    params: dict[str, Any],
    records: list[TrialRecord],
    config: SearchConfig,
    n_folds: int,
) -> dict[str, Any]:
    """``params`` with its trees or boosting rounds cut so the trial is expected to finish in
    the time left (and the per-trial timeout), down to a quarter of the asked size and no fewer
    than 20; unchanged when it already fits, the family has no such size, or it is untried."""
    assert config.deadline is not None
    merged = {**FAMILIES[fam].defaults, **params}
    key = next((k for k in SIZE_PARAMS if isinstance(merged.get(k), int)), None)
    est = fold_estimate(fam, params, records)
    if key is None or est is None or est <= 0:
        return params
    avail = config.deadline - config.reserve(records) - time.monotonic()
    if config.trial_timeout is not None:
        avail = min(avail, config.trial_timeout)
    need = est * n_folds
    if need <= avail:
        return params
    size = int(merged[key] * 0.9 * avail / need)
    if size < max(20, merged[key] // 4):
        return params
    return {**params, key: size}


@dataclass(frozen=True)
class _Run:
    """One search's data, settings and progress, shared by its trials."""

    X: pd.DataFrame
    y: np.ndarray
    task: str
    classes: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    roles: FeatureRoles
    metric: Metric
    config: SearchConfig
    study: Any
    emit: EventHandler
    records: list[TrialRecord]
    seen: dict[str, int]


#: How much longer than a tuned trial a default configuration may run (see :func:`_evaluate`).
DEFAULT_TIMEOUT_FACTOR = 1.7


def _evaluate(
    run: _Run,
    name: str,
    fam: str,
    params: dict[str, Any],
    trial: Any,
    warm: bool,
    default: bool = False,
    stored: dict[str, Any] | None = None,
) -> TrialRecord:
    """Cross-validate one configuration (the baseline has no ``trial`` and a ``default`` is
    never pruned: both are always scored on every fold), or, with ``stored`` (a checkpoint
    entry, see :mod:`civicml.learn._search_resume`), replay its stored result: its per-fold
    values are reported to ``trial`` as the live search reports them, and nothing is fitted."""
    seen = run.seen
    seen[fam] = seen.get(fam, 0) + 1
    label = FAMILIES[fam].label
    if seen[fam] > 1:
        name = f"{fam}_{seen[fam]}"
        label = f"{label} (trial {seen[fam]})"
    run.emit("candidate_start", name=name, label=label)
    if stored is None:
        res = _cross_validate(run, name, fam, params, trial, default)
    else:
        res = stored_result(stored)
        for i in range(len(res.fold_metrics)):
            run.emit("fold_done", name=name, fold=i)
            if i < len(run.splits) - 1 and _prunable(run, trial, default):
                _report(run, trial, res.fold_metrics[: i + 1], i)
    number = None if trial is None else int(trial.number)
    merged = {**FAMILIES[fam].defaults, **params}
    return TrialRecord(name, fam, merged, res, number, warm, default or fam == "baseline")


def _prunable(run: _Run, trial: Any, default: bool) -> bool:
    """Whether a trial's folds are reported to the pruner (not the baseline, nor a default)."""
    return trial is not None and run.config.prune and not default


def _report(run: _Run, trial: Any, fold_metrics: list[dict[str, float]], i: int) -> bool:
    """Report the mean score of the folds so far to ``trial`` as step ``i``; whether it was
    (a NaN mean is not reported)."""
    value = float(np.nanmean([m.get(run.metric.name, np.nan) for m in fold_metrics]))
    if value != value:
        return False
    trial.report(value, i)
    return True


def _cross_validate(
    run: _Run,
    name: str,
    fam: str,
    params: dict[str, Any],
    trial: Any,
    default: bool,
) -> CVResult:
    """Fit and score ``params`` fold by fold, within the deadline, the per-trial timeout (a
    default's is :data:`DEFAULT_TIMEOUT_FACTOR` times longer) and the pruner."""
    config, records, emit, splits = run.config, run.records, run.emit, run.splits
    pipe = build_pipeline(FAMILIES[fam], run.task, run.roles, params, config.seed)
    started = time.monotonic()
    # The first fold's length is guessed from this family's earlier trials.
    first = fold_estimate(fam, params, records) or 0.0
    # a default configuration is the search's guarantee ("never worse than defaults"): on a
    # large table it may take longer than a tuned trial is allowed, within the budget
    timeout = config.trial_timeout
    if timeout is not None and default:
        timeout *= DEFAULT_TIMEOUT_FACTOR
    hard = None
    if config.deadline is not None and fam != "baseline":
        hard = config.deadline - config.reserve(records)
        if timeout is not None:
            hard = min(hard, started + timeout)

    def before_fold(i: int, fold_seconds: list[float]) -> str | None:
        if config.deadline is None or fam == "baseline":
            return None
        # The folds still to run, at the slowest fold's pace so far: a trial that cannot complete
        # (and so would be discarded) stops now, not after spending the time.
        rest = (max(fold_seconds) if fold_seconds else first) * (len(splits) - i)
        now = time.monotonic()
        if timeout is not None and now + rest - started > timeout:
            return f"per-trial timeout ({timeout:.1f} s) would be reached by the last fold (stopped before fold {i + 1})"
        if now + rest > config.deadline - config.reserve(records):
            return f"the budget would be overrun by the last fold (stopped before fold {i + 1})"
        return None

    def after_fold(i: int, fold_metrics: list[dict[str, float]]) -> str | None:
        if not _prunable(run, trial, default) or not _report(run, trial, fold_metrics, i):
            return None
        if trial.should_prune():
            return f"pruned after {i + 1} folds (below the median of earlier trials)"
        return None

    control = FoldControl(
        hard_deadline=hard,
        on_fold=lambda i: emit("fold_done", name=name, fold=i),
        before_fold=before_fold,
        after_fold=after_fold,
    )
    return cross_validate(
        pipe,
        run.X,
        run.y,
        task=run.task,
        classes=run.classes,
        splits=splits,
        control=control,
        measure=True,
    )


def trial_params(trial: Any) -> tuple[str, dict[str, Any]]:
    """The family and parameters an Optuna trial proposed (for engines running trials elsewhere)."""
    return decode(dict(trial.params))
