"""The training path: hold out a test split, cross-validate candidates, refit the best."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from threadpoolctl import threadpool_limits

from civicml._errors import DataError, SpecError, TrainingError
from civicml.data import detect_task
from civicml.learn._candidates import FAMILIES, Family, families_for
from civicml.learn._checkpoint import CheckpointOptions, SearchCheckpoint
from civicml.learn._cv import SMALL_ROWS, cv_repeats, folds_for_budget, make_splitter
from civicml.learn._engine_search import search_on_engine
from civicml.learn._finish import Finished, FinishOptions, finish, fresh_check_reserve
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._metrics import compute_metrics, get_metric
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._problem import Problem
from civicml.learn._screen import is_wide, screen_features
from civicml.learn._search import SearchConfig, TrialRecord, run_search
from civicml.learn._search_resume import MIN_LEFT_SHARE, budget_left, in_process_key
from civicml.learn._select import Constraints
from civicml.learn._threshold import Threshold

__all__ = ["TrainOptions", "TrainResult", "TrainSettings", "held_out_metrics", "train"]

EventHandler = Callable[..., None]


@dataclass
class TrainResult:
    """What training produced: the refit winner, the leaderboard and held-out metrics."""

    task: str
    target: str
    metric: str
    classes: list[Any]
    roles: FeatureRoles
    leaderboard: Leaderboard
    best: str
    pipeline: Any
    test_metrics: dict[str, float]
    threshold: Threshold | None
    n_train: int
    n_test: int
    seconds: float
    test_index: list[int] = field(default_factory=list)
    test_scores: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def positive_label(self) -> Any:
        return self.classes[-1] if self.task == "binary" else None


@dataclass(frozen=True)
class TrainOptions:
    """How :func:`train` searches and finishes, as one object (see :func:`train` for each field).

    Examples
    --------
    >>> TrainOptions(max_trials=10, seed=1).budget_seconds
    60.0
    """

    task: str = "auto"
    metric: str | None = None
    budget_seconds: float = 60.0
    max_trials: int | None = None
    seed: int = 0
    cv_folds: int = 5
    cv_repeats: int | None = None
    test_size: float = 0.2
    cost_fp: float = 1.0
    cost_fn: float = 1.0
    families: Sequence[str] | None = None
    selection: Any = None
    ensemble: bool = True
    calibrate: bool = True
    trial_timeout: float | None = None
    engine: Any = None
    checkpoint: str | Path | None = None
    resume: bool = False


class TrainSettings(TypedDict, total=False):
    """:class:`TrainOptions`' fields as the keyword arguments of :func:`train`."""

    task: str
    metric: str | None
    budget_seconds: float
    max_trials: int | None
    seed: int
    cv_folds: int
    cv_repeats: int | None
    test_size: float
    cost_fp: float
    cost_fn: float
    families: Sequence[str] | None
    selection: Any
    ensemble: bool
    calibrate: bool
    trial_timeout: float | None
    engine: Any
    checkpoint: str | Path | None
    resume: bool


def train(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    roles: FeatureRoles,
    groups: pd.Series | None = None,
    on_event: EventHandler | None = None,
    options: TrainOptions | None = None,
    **settings: Unpack[TrainSettings],
) -> TrainResult:
    """Search candidate models with cross-validation, ensemble, calibrate, select and refit.

    A held-out test split (``test_size``; 0 for none) is set aside first; the search never sees
    it. The constant baseline always runs; then an Optuna search (warm-started with each
    family's known-good defaults) runs until ``budget_seconds`` is spent, counting cross-validation,
    refit and ensembling, or, when ``max_trials`` is given, for exactly that many trials with the
    wall clock ignored (with ``seed``, a reproducible run). ``selection`` (``spec.selection`` or a
    mapping with ``max_predict_latency_ms``, ``max_model_size_mb``, ``interpretable``) limits
    which candidate may be chosen; what was given up is in ``extra["selection"]`` and the Pareto
    front (score vs one-row latency vs size) in ``extra["pareto"]``.

    Parameters
    ----------
    X : DataFrame
        The feature table (the columns named in ``roles`` are used).
    y : Series
        The target.
    roles : FeatureRoles
    groups : Series, optional
        Row groups kept together in the held-out split and in every fold.
    on_event : callable, optional
        Receives progress events (``candidate_done``, ``refit_start``, ``done`` ...).
    options : TrainOptions, optional
        The settings below as one object; keywords given as well replace its fields.
    **settings
        :class:`TrainOptions`' fields: ``task="auto"``, ``metric=None`` (the task's default),
        ``budget_seconds=60.0``, ``max_trials=None``, ``seed=0``, ``cv_folds=5``,
        ``cv_repeats=None`` (how many times the k folds are reshuffled and repeated; None: on a
        small table, under :data:`~civicml.learn._cv.SMALL_ROWS` training rows, searched to
        a time budget, 3 repeats under 1,000 rows and 2 above, one per 10 s of budget at most;
        else 1),
        ``test_size=0.2``, ``cost_fp=1.0``, ``cost_fn=1.0`` (binary threshold),
        ``families=None`` (all for the task), ``selection=None``, ``ensemble=True``,
        ``calibrate=True``, ``trial_timeout=None``, ``engine=None`` (this process; an engine
        or ``dask://HOST:PORT`` runs the folds there and needs ``max_trials``),
        ``checkpoint=None`` (a folder where each finished trial is kept,
        :class:`~civicml.learn._checkpoint.SearchCheckpoint`, by the search in this process as
        on an engine) and ``resume=False`` (continue the search kept there without repeating
        its finished trials; a checkpoint of other data or settings is refused; with
        ``max_trials`` the remaining trials run, so a seeded run ends as an uninterrupted one;
        in a time budget the resumed run gets the budget that was left when the last trial
        was kept, see :mod:`civicml.learn._search_resume`; what was replayed is in
        ``extra["resume"]``). Workers the engine lost are in ``extra["worker_losses"]``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> roles = FeatureRoles(numeric=list(X.columns))
    >>> result = train(X, y, roles=roles, max_trials=1, families=["linear"], cv_folds=3)
    >>> opts = TrainOptions(max_trials=1, families=["linear"], cv_folds=3)
    >>> train(X, y, roles=roles, options=opts).best == result.best
    True
    """
    started = time.monotonic()
    opts = replace(options or TrainOptions(), **settings)
    emit = on_event or (lambda *a, **k: None)
    if opts.budget_seconds <= 0:
        raise SpecError.build(
            "budget_seconds must be positive", expected="a number > 0", got=opts.budget_seconds
        )
    roles, constant = _without_constant(X, roles)
    problem, te_idx = _problem(X, y, roles, groups, opts)
    problem, screened = _screen_wide(problem, opts, started, emit)
    ck = _in_process_checkpoint(problem, opts)
    deadline = _deadline(started, opts, ck)
    board = Leaderboard(problem.metric.name, problem.metric.greater_is_better)
    # Every family fits on one thread (n_jobs=1); OpenMP/BLAS pools are capped to match, so fold
    # timings (and so the budget) stay predictable when other processes share the cores.
    with threadpool_limits(limits=1):
        records = _search(problem, opts, board, deadline, emit, ck)
        if opts.resume:
            granted = None if deadline is None else deadline - started
            board.extra["resume"] = _resume_record(opts, records, granted)
        if board.best is None:
            errors = "; ".join(f"{e.name}: {e.error}" for e in board.entries if e.error)
            raise TrainingError.build(
                "Every candidate failed to train",
                got=errors or None,
                fix="Run with --debug for details",
            )
        finish_options = FinishOptions(
            constraints=Constraints.from_any(opts.selection),
            deadline=deadline,
            cost_fp=opts.cost_fp,
            cost_fn=opts.cost_fn,
            ensemble=opts.ensemble,
            calibrate=opts.calibrate,
        )
        out = finish(records, board, problem, finish_options, emit)
    emit("done", best=out.name)
    board.extra["estimate"] = out.extra["estimate"] = _estimate_record(problem, opts)
    result = _result(y, problem, board, out, te_idx, started)
    if constant:
        result.extra["dropped_constant"] = constant
    if screened is not None:
        result.extra["screened"] = screened
    for key in ("worker_losses", "resume"):
        if key in board.extra:
            result.extra[key] = board.extra[key]
    return result


def _in_process_checkpoint(problem: Problem, opts: TrainOptions) -> SearchCheckpoint | None:
    """The checkpoint of a search run in this process (``engine`` None or ``"local"``) when
    ``opts.checkpoint`` names one: cleared, or with ``opts.resume`` read back (other data or
    settings are refused); None for a search on an engine (it keeps its own) or without one."""
    if opts.resume and not opts.checkpoint:
        raise SpecError.build(
            "resume=True needs the checkpoint folder to resume from",
            fix="Pass checkpoint=PATH (civicml train/run use .civicml-checkpoint beside -o)",
        )
    if not opts.checkpoint or (opts.engine is not None and str(opts.engine) != "local"):
        return None
    budget_mode = opts.max_trials is None
    settings = {
        "task": problem.task,
        "classes": [str(c) for c in problem.classes],
        "metric": problem.metric.name,
        "families": [f.name for f in _families(problem.task, opts.families)],
        "max_trials": opts.max_trials,
        "seed": int(opts.seed),
        # a time budget shapes the trials (timeouts, cut sizes); max_trials ignores the clock
        "budget_seconds": float(opts.budget_seconds) if budget_mode else None,
        "trial_timeout": opts.trial_timeout if budget_mode else None,
    }
    key = in_process_key(
        problem.X_tr, problem.y_tr, splits=problem.splits, roles=problem.roles, settings=settings
    )
    return SearchCheckpoint.open(opts.checkpoint, key, resume=opts.resume)


def _deadline(started: float, opts: TrainOptions, ck: SearchCheckpoint | None) -> float | None:
    """When a time-budgeted run must be done (None with ``max_trials``): ``budget_seconds``
    after ``started``, or, resuming, what was left of it (:func:`budget_left`)."""
    if opts.max_trials is not None:
        return None
    if ck is not None and opts.resume:
        return started + budget_left(ck, opts.budget_seconds)
    return started + opts.budget_seconds


def _resume_record(
    opts: TrainOptions, records: list[TrialRecord], granted: float | None
) -> dict[str, Any]:
    """What a resumed search replayed (read back, not fitted) and, in a time budget, the
    seconds the resumed run was given (``extra["resume"]``)."""
    replayed = sum(bool(r.cv.extra.get("resumed")) for r in records)
    if opts.max_trials is not None:
        return {
            "replayed_trials": replayed,
            "max_trials": opts.max_trials,
            "rule": "max_trials: the trials the checkpoint did not hold were run",
        }
    return {
        "replayed_trials": replayed,
        "budget_seconds": opts.budget_seconds,
        "budget_left_seconds": None if granted is None else round(granted, 3),
        "rule": "time budget: the resumed run got the budget left when the last trial was "
        f"checkpointed (at least {MIN_LEFT_SHARE:.0%} of budget_seconds)",
    }


def _screen_wide(
    problem: Problem, opts: TrainOptions, started: float, emit: EventHandler
) -> tuple[Problem, dict[str, Any] | None]:
    """``problem`` with a wide table's columns screened (see :mod:`civicml.learn._screen`),
    and the record of what was dropped; unchanged (and None) when the table is not wide."""
    n_rows, n_cols = len(problem.y_tr), len(problem.roles.features)
    if not is_wide(n_rows, n_cols):
        return problem, None
    screen = screen_features(
        problem.X_tr,
        problem.y_tr,
        problem.roles,
        task=problem.task,
        seed=opts.seed,
        deadline=started + 0.03 * opts.budget_seconds if opts.max_trials is None else None,
    )
    if not screen.dropped:
        return problem, None
    record = screen.record()
    emit(
        "warning",
        message=f"Wide table: {record['reason']} ({screen.method}); dropped "
        f"{len(screen.dropped)} columns, listed in the result's extra['screened']",
    )
    kept = screen.roles.features
    narrowed = replace(
        problem, X_tr=problem.X_tr[kept], X_te=problem.X_te[kept], roles=screen.roles
    )
    return narrowed, record


def _without_constant(X: pd.DataFrame, roles: FeatureRoles) -> tuple[FeatureRoles, list[str]]:
    """``roles`` without the feature columns that hold a single value (or none): they cannot
    help the model, and a served model would demand them as inputs. Returns the dropped names.
    """
    missing = [c for c in roles.features if c not in X.columns]
    if missing:
        raise DataError.build(
            f"The feature columns {missing[:10]} named in roles are not in the table",
            fix="Name only columns of X in roles",
        )
    constant = [c for c in roles.features if X[c].nunique(dropna=True) <= 1]
    if constant and len(constant) == len(roles.features):
        raise DataError.build(
            "Every feature column holds a single value, so nothing can be learned",
            got=constant[:10],
            fix="Check the data: each feature needs at least two different values",
        )
    if not constant:
        return roles, []
    drop = set(constant)
    kept = FeatureRoles(
        numeric=[c for c in roles.numeric if c not in drop],
        categorical=[c for c in roles.categorical if c not in drop],
        text=[c for c in roles.text if c not in drop],
        date=[c for c in roles.date if c not in drop],
    )
    return kept, constant


def _problem(
    X: pd.DataFrame,
    y: pd.Series,
    roles: FeatureRoles,
    groups: pd.Series | None,
    opts: TrainOptions,
) -> tuple[Problem, np.ndarray]:
    """The task, metric and encoded target; the held-out split; the folds of the training rows.

    Also returns the held-out rows' positions in ``X``.
    """
    task = detect_task(y) if opts.task == "auto" else opts.task
    primary = get_metric(opts.metric, task)
    y_arr, classes = _encode_target(y, task)
    Constraints.from_any(opts.selection)  # a bad selection fails before the search
    X = X[roles.features]
    if opts.cv_repeats is not None and (
        isinstance(opts.cv_repeats, bool)
        or not isinstance(opts.cv_repeats, int)
        or opts.cv_repeats < 1
    ):
        raise SpecError.build(
            "cv_repeats must be a whole number of at least 1",
            expected="1, 2, 3 ... or None (chosen from the table's size)",
            got=opts.cv_repeats,
        )
    if opts.test_size and opts.test_size > 0:
        tr_idx, te_idx = _holdout(y_arr, task, opts.test_size, opts.seed, groups)
    else:
        tr_idx, te_idx = np.arange(len(y_arr)), np.array([], dtype=int)
    X_tr, y_tr = X.iloc[tr_idx].reset_index(drop=True), y_arr[tr_idx]
    g_tr = None if groups is None else groups.iloc[tr_idx].to_numpy()
    repeats = _repeats(len(tr_idx), opts, grouped=groups is not None)
    budget = opts.budget_seconds if opts.max_trials is None else None
    folds = folds_for_budget(len(tr_idx), opts.cv_folds, budget)
    splits = cv_splits(X_tr, y_tr, task, folds, opts.seed, g_tr, repeats)
    fresh_seed = opts.seed + 1
    fresh = _fresh_splits(X_tr, y_tr, task, folds, fresh_seed, g_tr, repeats, splits)
    problem = Problem(
        X_tr=X_tr,
        y_tr=y_tr,
        X_te=X.iloc[te_idx].reset_index(drop=True),
        y_te=y_arr[te_idx],
        task=task,
        classes=classes,
        splits=splits,
        roles=roles,
        metric=primary,
        seed=opts.seed,
        repeats=repeats,
        fresh_splits=fresh,
        fresh_seed=fresh_seed if fresh else None,
    )
    return problem, te_idx


def _fresh_splits(
    X_tr: pd.DataFrame,
    y_tr: np.ndarray,
    task: str,
    folds: int,
    seed: int,
    groups: Any,
    repeats: int,
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The search's folds made again with another ``seed``, for the fresh-fold check of the
    choice (``learn._confirm``): only on a small table (under :data:`SMALL_ROWS` training rows),
    and none when the new seed gives the same first fold (unshuffled grouped folds)."""
    if len(y_tr) >= SMALL_ROWS or len(y_tr) < 4:
        return []
    fresh = cv_splits(X_tr, y_tr, task, folds, seed, groups, repeats)
    if len(fresh) != len(splits) or np.array_equal(np.sort(fresh[0][1]), np.sort(splits[0][1])):
        return []
    return fresh


def _repeats(n_rows: int, opts: TrainOptions, *, grouped: bool) -> int:
    """How many times the folds are repeated: as asked, else :func:`cv_repeats` of the training
    rows and budget when searching to a time budget (there is time for it on a small table),
    else 1.
    Grouped folds are not repeated (a group split has too few distinct shuffles)."""
    if grouped:
        return 1
    if opts.cv_repeats is not None:
        return int(opts.cv_repeats)
    return cv_repeats(n_rows, opts.budget_seconds) if opts.max_trials is None else 1


def _estimate_record(problem: Problem, opts: TrainOptions) -> dict[str, Any]:
    """What the cross-validated estimate rests on: rows, folds x repeats, whether small."""
    n = len(problem.y_tr)
    return {
        "rows": n,
        "folds": problem.n_folds,
        "repeats": problem.repeats,
        "fits_per_candidate": len(problem.splits),
        "validation_rows_per_fold": int(np.mean([len(va) for _, va in problem.splits])),
        "small_data": bool(n < SMALL_ROWS and opts.max_trials is None),
        "small_rows_rule": f"under {SMALL_ROWS} training rows, searching to a time budget",
        **(
            {
                "folds_cut": f"{opts.cv_folds} folds asked, {problem.n_folds} used: {n:,} "
                f"training rows are too many to fit {opts.cv_folds} times in a "
                f"{opts.budget_seconds:g} s budget"
            }
            if problem.n_folds < opts.cv_folds and opts.max_trials is None
            else {}
        ),
    }


def _search(
    problem: Problem,
    opts: TrainOptions,
    board: Leaderboard,
    deadline: float | None,
    emit: EventHandler,
    ck: SearchCheckpoint | None = None,
) -> list[TrialRecord]:
    """Run the search in this process (kept in ``ck`` when given), or its folds on
    ``opts.engine``; fill ``board``."""
    primary, n_folds, n_rows = problem.metric, problem.n_folds, len(problem.y_tr)
    budget_mode = opts.max_trials is None

    def reserve(records: list[TrialRecord]) -> float:
        """Seconds kept back for refit, ensembling, calibration and the held-out evaluation."""
        ok = sorted(
            (r for r in records if r.status == "ok" and r.family != "baseline"),
            key=lambda r: (-1 if primary.greater_is_better else 1) * r.cv.mean(primary.name),
        )
        # The refit of the best two (the second covers an ensemble partner), plus calibration,
        # threshold, held-out scoring and the estimate's own error.
        refit = sum(_refit_estimate(r, n_folds, n_rows) for r in ok[:2])
        # On a small table, one repeat of the defaults guard's fresh-fold check too.
        fresh = fresh_check_reserve(records, problem)
        return 0.05 * opts.budget_seconds + 0.5 + refit + fresh

    def on_record(rec: TrialRecord) -> None:
        entry = _entry(rec, primary.name)
        board.entries.append(entry)
        emit("candidate_done", entry=entry)

    timeout = (opts.trial_timeout or max(0.35 * opts.budget_seconds, 2.0)) if budget_mode else None
    config = SearchConfig(
        families=[f.name for f in _families(problem.task, opts.families)],
        max_trials=opts.max_trials,
        seed=opts.seed,
        deadline=deadline,
        trial_timeout=timeout,
        reserve=reserve,
        min_untried=0.1 * opts.budget_seconds,
        on_record=on_record,
        small=budget_mode and n_rows < SMALL_ROWS,
        checkpoint=ck,
    )
    if opts.engine is not None and str(opts.engine) != "local":
        losses: list[dict[str, Any]] = []

        def on_engine_event(kind: str, **kw: Any) -> None:
            if kind == "warning" and "worker" in kw:
                losses.append({k: kw[k] for k in ("worker", "tasks_rerun")})
                board.extra["worker_losses"] = losses
            emit(kind, **kw)

        return _search_on_engine(opts, problem, config, on_engine_event)
    return run_search(
        problem.X_tr,
        problem.y_tr,
        task=problem.task,
        classes=problem.classes,
        splits=problem.splits,
        roles=problem.roles,
        metric=primary,
        config=config,
        emit=emit,
    )


def _result(
    y: pd.Series,
    problem: Problem,
    board: Leaderboard,
    out: Finished,
    te_idx: np.ndarray,
    started: float,
) -> TrainResult:
    """The :class:`TrainResult`, with the held-out metrics of the finished model."""
    task, classes = problem.task, problem.classes
    test_metrics: dict[str, float] = {}
    scores: list[float] = []
    if len(te_idx) and out.test_outputs is not None:
        test_metrics, scores = held_out_metrics(
            task, problem.y_te, out.test_outputs, classes, out.threshold
        )
    return TrainResult(
        task=task,
        target=str(y.name),
        metric=problem.metric.name,
        classes=[_py(c) for c in classes] if task != "regression" else [],
        roles=problem.roles,
        leaderboard=board,
        best=out.name,
        pipeline=out.pipeline,
        test_metrics=test_metrics,
        threshold=out.threshold,
        n_train=len(problem.y_tr),
        n_test=len(te_idx),
        seconds=time.monotonic() - started,
        test_index=[int(i) for i in te_idx],
        test_scores=scores,
        extra=out.extra,
    )


def cv_splits(
    X: pd.DataFrame,
    y: np.ndarray,
    task: str,
    cv_folds: int,
    seed: int,
    groups: Any,
    repeats: int = 1,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The cross-validation folds :func:`train` makes of its training rows: no more folds than
    the rarest class has rows (at least two), grouped when ``groups`` are given, reshuffled and
    repeated ``repeats`` times. Anything that must score on the search's own folds (the
    refit of the smaller feature set) calls this, never a copy of the rule.

    >>> y = np.array([0, 1] * 10)
    >>> [len(va) for _, va in cv_splits(pd.DataFrame({"a": y}), y, "binary", 5, 0, None)]
    [4, 4, 4, 4, 4]
    """
    from sklearn.model_selection import KFold, RepeatedKFold

    n_splits = max(2, min(cv_folds, len(y) // 2)) if task == "regression" else cv_folds
    if task != "regression":
        n_splits = min(cv_folds, max(2, _max_folds(y, task)))
        if _max_folds(y, task) < 2 and groups is None:
            kf: Any = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
            if repeats > 1:
                kf = RepeatedKFold(n_splits=n_splits, n_repeats=repeats, random_state=seed)
            return list(kf.split(X))
    splitter = make_splitter(task, n_splits, seed, grouped=groups is not None, repeats=repeats)
    return list(splitter.split(X, y, groups))


def _refit_estimate(rec: TrialRecord, n_folds: int, n_rows: int = 0) -> float:
    """Seconds to refit ``rec`` on all training rows: its mean fold fit time scaled by the data
    size (a fold trains on (k-1)/k of the rows), plus its serialised-size measurement, with a
    25% margin."""
    done = len(rec.cv.fold_seconds)
    if not done:
        return 0.0
    per_fold_fit = rec.cv.fit_seconds / done
    scale = n_folds / max(n_folds - 1, 1)
    return 1.25 * (per_fold_fit * scale + float(rec.cv.extra.get("measure_seconds", 0.0)))


def _entry(rec: TrialRecord, metric: str) -> Entry:
    res = rec.cv
    names = list(res.fold_metrics[0]) if res.fold_metrics else []
    return Entry(
        name=rec.name,
        family=rec.family,
        params=dict(rec.params),
        cv_mean={m: res.mean(m) for m in names},
        cv_std={m: res.std(m) for m in names},
        fit_seconds=res.fit_seconds,
        predict_us_per_row=res.predict_us_per_row,
        simplicity=FAMILIES[rec.family].simplicity,
        status=rec.status,
        error=res.error,
        extra={
            "fold_scores": [float(v) for v in res.fold_scores(metric)],
            "trial": rec.number,
            "warm_start": rec.warm,
            "default": rec.default,
            "interpretable": FAMILIES[rec.family].interpretable,
        },
        model_bytes=res.model_bytes,
        predict_ms=res.predict_ms,
    )


def _search_on_engine(
    opts: TrainOptions, problem: Problem, config: SearchConfig, emit: EventHandler
) -> list[TrialRecord]:
    """Run the trials' folds on an engine (e.g. Dask). Needs ``max_trials``: a fixed number
    of trials is what makes results identical on every engine."""
    engine = opts.engine
    if opts.resume and not opts.checkpoint:
        raise SpecError.build(
            "resume=True needs the checkpoint folder to resume from",
            fix="Pass checkpoint=PATH (civicml train/run use .civicml-checkpoint beside -o)",
        )
    if config.max_trials is None:
        raise SpecError.build(
            f"The engine {str(engine)!r} runs a fixed number of trials",
            expected="max_trials set in civicml.yaml",
            got=None,
            fix="Set 'max_trials' (e.g. 20), or use engine: local for a time budget",
        )
    records = search_on_engine(
        problem.X_tr,
        problem.y_tr,
        task=problem.task,
        classes=problem.classes,
        splits=problem.splits,
        roles=problem.roles,
        metric=problem.metric,
        families=config.families,
        max_trials=config.max_trials,
        seed=config.seed,
        engine=engine,
        emit=emit,
        checkpoint=(
            CheckpointOptions(opts.checkpoint, resume=opts.resume) if opts.checkpoint else None
        ),
    )
    for rec in records:
        config.on_record(rec)
    return records


def _families(task: str, names: Sequence[str] | None) -> list[Family]:
    """The families to search: all for ``task``, or ``names`` (the baseline always first)."""
    if names is None:
        return families_for(task)
    names = ["baseline", *(n for n in names if n != "baseline")]
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise SpecError.build(
            f"Unknown model family {unknown[0]!r}",
            expected=f"one of {sorted(FAMILIES)}",
            got=unknown[0],
        )
    return [FAMILIES[n] for n in names]


def _encode_target(y: pd.Series, task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=float), np.array([])
    if pd.api.types.is_bool_dtype(y) or pd.api.types.is_numeric_dtype(y):
        values = y.to_numpy()
    else:
        values = y.astype(str).to_numpy(dtype=object)
    classes = np.unique(values)
    if task == "binary" and len(classes) != 2:
        raise SpecError.build(
            f"task is 'binary' but the target {y.name!r} has {len(classes)} classes",
            expected="exactly 2 classes",
            got=[_py(c) for c in classes[:10]],
            fix="Set task: multiclass (or auto) in civicml.yaml",
        )
    return values, classes


def _holdout(
    y: np.ndarray, task: str, test_size: float, seed: int, groups: pd.Series | None
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(y))
    if groups is not None:
        gss = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        tr, te = next(gss.split(idx, y, groups.to_numpy()))
        return tr, te
    strat = y if task != "regression" else None
    tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(te)


def _max_folds(y: np.ndarray, task: str) -> int:
    if task == "regression":
        return max(2, min(10, len(y) // 2))
    _, counts = np.unique(y.astype(str), return_counts=True)
    return max(2, int(counts.min()))


def held_out_metrics(
    task: str, y: np.ndarray, out: np.ndarray, classes: np.ndarray, threshold: Threshold | None
) -> tuple[dict[str, float], list[float]]:
    """Every metric of ``task`` on held-out rows and each row's score: ``out`` is the
    predicted values (regression) or class probabilities; a binary model's labels come from
    ``threshold`` (0.5 without one), its scores are the positive class's probability, a
    multiclass model's the top probability."""
    if task == "regression":
        return compute_metrics(task, y, values=out), [float(v) for v in out]
    if task == "binary":
        t = threshold.value if threshold else 0.5
        labels = np.where(out[:, 1] >= t, classes[1], classes[0])
        m = compute_metrics(task, y, labels=labels, proba=out[:, 1], classes=list(classes))
        return m, [float(v) for v in out[:, 1]]
    labels = classes[np.argmax(out, axis=1)]
    m = compute_metrics(task, y, labels=labels, proba=out, classes=list(classes))
    return m, [float(v) for v in out.max(axis=1)]


def _py(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
