"""Cross-validation of one candidate: folds, out-of-fold predictions, per-fold metrics, timings."""

from __future__ import annotations

import pickle
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from civicml.learn._metrics import compute_metrics

__all__ = [
    "CVResult",
    "FoldControl",
    "FoldTimeout",
    "SMALL_ROWS",
    "cross_validate",
    "cv_repeats",
    "folds_for_budget",
    "fit_within",
    "make_splitter",
    "predict_outputs",
    "stoppable",
    "torch_loaded",
]

TORCH_IMPORT_SECONDS = 6.0
"""What the first MLP fit of a process may spend importing torch (it cannot be stopped)."""


SMALL_ROWS = 2000
"""Training tables with fewer rows than this are *small*: in a time budget their search
repeats k-fold cross-validation (:func:`cv_repeats`), searches a wider space of regularised
linear models and shallow trees, and prefers the simpler model unless the better one is better
beyond the noise of the estimate."""


def cv_repeats(n_rows: int, budget_seconds: float | None = None) -> int:
    """How many times k-fold cross-validation is repeated (reshuffled) on ``n_rows`` training
    rows: 3 under 1,000, 2 under :data:`SMALL_ROWS`, else 1. On a small table a single k-fold
    estimate is noisy (a few hundred validation rows in all) and each fit is cheap. With a
    ``budget_seconds``, each repeat needs 10 s of it (so 8 s: 1, 20 s: 2, 30 s or more: up
    to 3): on a tight budget more candidates beat a steadier estimate of fewer.

    >>> cv_repeats(300), cv_repeats(1500), cv_repeats(50_000), cv_repeats(300, 20.0)
    (3, 2, 1, 2)
    """
    repeats = 3 if n_rows < 1000 else 2 if n_rows < SMALL_ROWS else 1
    if budget_seconds is not None:
        repeats = min(repeats, max(1, int(budget_seconds // 10)))
    return repeats


ROW_FITS_PER_SECOND = 20_000
"""Rows a search can fit per second of its budget on this kind of machine, roughly (a LightGBM
default fit on 100,000 rows of a dozen columns takes a few seconds on 2 cores): the yardstick
for cutting the folds of a table too large for its budget (:func:`folds_for_budget`)."""


def folds_for_budget(n_rows: int, cv_folds: int, budget_seconds: float | None) -> int:
    """The folds to use on ``n_rows`` training rows in a ``budget_seconds`` search: ``cv_folds``
    while ``n_rows x cv_folds`` row-fits fit in the budget (:data:`ROW_FITS_PER_SECOND`), else
    fewer, down to 2. A table so large that no candidate could finish five folds in time would
    otherwise leave only the constant baseline scored on every fold, and it would be chosen.

    >>> folds_for_budget(5_000, 5, 30.0), folds_for_budget(262_000, 5, 30.0)
    (5, 2)
    >>> folds_for_budget(262_000, 5, 60.0), folds_for_budget(262_000, 5, None)
    (4, 5)
    """
    if budget_seconds is None or n_rows * cv_folds <= budget_seconds * ROW_FITS_PER_SECOND:
        return cv_folds
    return max(2, min(cv_folds, int(budget_seconds * ROW_FITS_PER_SECOND // max(n_rows, 1))))


def torch_loaded() -> bool:
    """Whether torch, and the compiler modules its optimisers load on their first step, have
    been imported in this process (the MLP's slow, unstoppable first step is done)."""
    mod = sys.modules.get("torch")
    return mod is not None and hasattr(mod, "nn") and "torch._dynamo" in sys.modules


class FoldTimeout(Exception):
    """A fold was stopped because it could not finish before its deadline; ``projected`` is
    how long the whole fold was expected to take (seconds), when it could be timed."""

    def __init__(self, message: str, projected: float | None = None) -> None:
        super().__init__(message)
        self.projected = projected


@dataclass
class CVResult:
    """Out-of-fold predictions and metrics of one candidate."""

    fold_metrics: list[dict[str, float]]
    oof: np.ndarray  # probabilities (n, k) for classification, values (n,) for regression
    fit_seconds: float
    predict_us_per_row: float
    complete: bool = True
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    fold_seconds: list[float] = field(default_factory=list)
    model_bytes: int | None = None
    predict_ms: float | None = None  # one-row predict call, median of 3
    status: str = "ok"  # "ok" | "pruned" | "timeout" | "failed" | "incomplete"

    def fold_scores(self, metric: str) -> np.ndarray:
        return np.array([m.get(metric, np.nan) for m in self.fold_metrics], dtype=float)

    def mean(self, metric: str) -> float:
        vals = [m.get(metric, np.nan) for m in self.fold_metrics]
        return float(np.nanmean(vals)) if vals and not np.all(np.isnan(vals)) else float("nan")

    def std(self, metric: str) -> float:
        vals = [m.get(metric, np.nan) for m in self.fold_metrics]
        return float(np.nanstd(vals, ddof=1)) if len(vals) > 1 else 0.0


def make_splitter(task: str, n_splits: int, seed: int, *, grouped: bool, repeats: int = 1) -> Any:
    """Stratified k-fold for classification, plain k-fold for regression; grouped when asked;
    repeated ``repeats`` times with a fresh shuffle each time (not for groups).

    >>> type(make_splitter("binary", 5, 0, grouped=False)).__name__
    'StratifiedKFold'
    >>> type(make_splitter("regression", 5, 0, grouped=True)).__name__
    'GroupKFold'
    >>> make_splitter("binary", 5, 0, grouped=False, repeats=3).get_n_splits()
    15
    """
    if repeats > 1 and not grouped:
        cls = RepeatedKFold if task == "regression" else RepeatedStratifiedKFold
        return cls(n_splits=n_splits, n_repeats=repeats, random_state=seed)
    if grouped:
        if task == "regression":
            return GroupKFold(n_splits=n_splits)
        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    if task == "regression":
        return KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def predict_outputs(model: Any, X: pd.DataFrame, task: str, classes: np.ndarray) -> np.ndarray:
    """Probabilities aligned to ``classes`` (classification) or predicted values (regression)."""
    if task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    proba = np.asarray(model.predict_proba(X), dtype=float)
    fitted = list(getattr(model, "classes_", classes))
    if len(fitted) == len(classes) and np.array_equal(np.asarray(fitted), classes):
        return proba
    aligned = np.zeros((len(X), len(classes)))
    for j, c in enumerate(fitted):
        aligned[:, int(np.flatnonzero(classes == c)[0])] = proba[:, j]
    return aligned


def fit_within(model: Any, X: pd.DataFrame, y: np.ndarray, deadline: float | None) -> Any:
    """Fit a pipeline, raising :class:`FoldTimeout` rather than running past ``deadline``.

    A thread cannot be killed safely and a subprocess per fold costs start-up time and a copy of
    the data, so the long fits are made interruptible from the inside instead: LightGBM checks
    the clock after every boosting round (a callback); random forests, extra trees and
    histogram gradient boosting are grown in chunks with ``warm_start`` (which gives exactly the
    model a single fit gives): a first chunk of 10 trees or rounds times one unit, and the fold
    stops at once when the rest would not end in time (re-checked after every chunk), so a
    hopeless fold costs a few seconds at most, not its full length. The tabular MLP checks the
    clock every batch and before every epoch. A logistic regression with a stochastic solver
    (saga or sag, the small-data space's elastic-net and lasso penalties) runs its epochs in
    chunks the same way (:func:`_fit_epochs_within`): how long it takes to converge depends on
    the penalty and can be seconds per fold. Other models (lbfgs linear models, kNN) fit in one
    call (see :func:`stoppable`). With ``deadline=None`` it is plain ``fit``.
    """
    if deadline is None:
        return model.fit(X, y)
    if time.monotonic() >= deadline:
        raise FoldTimeout("no time left for this fold")
    est = model.steps[-1][1]
    Xt = model[:-1].fit_transform(X, y) if len(model.steps) > 1 else X
    name = type(est).__name__
    if name.startswith("TabularMLP"):
        try:
            est.fit(Xt, y, deadline=deadline)
        except TimeoutError as exc:
            raise FoldTimeout(str(exc), getattr(exc, "projected", None)) from exc
        return model
    if name.startswith("LGBM"):
        start = time.monotonic()
        rounds = int(est.get_params().get("n_estimators") or 100)

        def check(env: Any) -> None:
            now = time.monotonic()
            if now > deadline:
                done = env.iteration + 1
                raise FoldTimeout(
                    f"stopped after {done} of {rounds} boosting rounds",
                    (now - start) / done * rounds,
                )

        est.fit(Xt, y, callbacks=[check])
        return model
    if _epoch_solver(est):
        _fit_epochs_within(est, Xt, y, deadline)
        return model
    key = "max_iter" if name.startswith("HistGradientBoosting") else "n_estimators"
    grows = hasattr(est, "warm_start") and isinstance(est.get_params().get(key), int)
    # Early stopping ("auto" included) holds out its own rows each call: grow those in one go.
    if not grows or getattr(est, "early_stopping", False) is not False:
        est.fit(Xt, y)
        return model
    total = int(est.get_params()[key])
    # A small first chunk times one unit (a tree, a boosting round); if the rest cannot finish
    # in time the fold stops at once, otherwise the rest is grown in a few chunks, re-checked
    # after each. Warm starts of histogram boosting re-bin and re-predict, so it gets fewer.
    parts = 2 if key == "max_iter" else 3
    done, target = 0, min(total, 10)
    start = time.monotonic()
    try:
        while done < total:
            t0 = time.monotonic()
            est.set_params(warm_start=True, **{key: target})
            est.fit(Xt, y)
            per_unit = (time.monotonic() - t0) / (target - done)
            done = target
            if done < total and time.monotonic() + per_unit * (total - done) > deadline:
                raise FoldTimeout(
                    f"stopped after {done} of {total} {key}: the rest would overrun",
                    time.monotonic() - start + per_unit * (total - done),
                )
            target = min(total, done + max(1, -(-(total - done) // parts)))
    finally:
        est.set_params(warm_start=False)
    return model


def _epoch_solver(est: Any) -> bool:
    """Whether ``est`` is a logistic regression fitted by epochs of a stochastic solver, which a
    warm start continues (:func:`_fit_epochs_within`)."""
    return type(est).__name__ == "LogisticRegression" and est.get_params()["solver"] in (
        "saga",
        "sag",
    )


def _fit_epochs_within(est: Any, Xt: Any, y: np.ndarray, deadline: float) -> None:
    """Fit a saga/sag logistic regression in chunks of epochs (20, then doubling), each
    warm-started from the last coefficients, until it converges (a chunk stops short of its
    epochs) or reaches ``max_iter``; raise :class:`FoldTimeout` before a chunk that, at the pace
    so far, would end past ``deadline``. How many epochs a fit needs is not known until it
    converges, so only the next chunk is checked: a fit that converges in time is not stopped
    for the epochs it would never have run. A warm start restarts the solver's gradient
    memory, so the fit can differ from a single call by about the solver's tolerance. Only the
    last chunk may warn that it did not converge."""
    from sklearn.exceptions import ConvergenceWarning

    total = int(est.get_params()["max_iter"])
    done, chunk = 0, min(total, 20)
    start = time.monotonic()
    try:
        while done < total:
            est.set_params(warm_start=True, max_iter=chunk)
            with warnings.catch_warnings():
                if done + chunk < total:
                    warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(Xt, y)
            done += chunk
            if int(np.max(est.n_iter_)) < chunk:
                return  # converged inside the chunk
            chunk = min(2 * chunk, total - done)
            per_epoch = (time.monotonic() - start) / done
            if chunk and time.monotonic() + per_epoch * chunk > deadline:
                raise FoldTimeout(
                    f"stopped after {done} of {total} solver epochs: the next {chunk} would "
                    "overrun",
                    time.monotonic() - start + per_epoch * chunk,
                )
    finally:
        est.set_params(warm_start=False, max_iter=total)


def stoppable(estimator: Any) -> bool:
    """Whether :func:`fit_within` can stop ``estimator`` (a pipeline's last step, or the
    pipeline) inside a fit: LightGBM, the tabular MLP, and tree ensembles grown in chunks (not
    those with early stopping). The others fit in one call that cannot be stopped, as does the
    MLP until torch has been imported (:func:`torch_loaded`): that import takes seconds.

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.ensemble import RandomForestClassifier, HistGradientBoostingClassifier
    >>> stoppable(LogisticRegression()), stoppable(RandomForestClassifier())
    (False, True)
    >>> stoppable(LogisticRegression(solver="saga", l1_ratio=0.5))
    True
    >>> stoppable(HistGradientBoostingClassifier()), stoppable(
    ...     HistGradientBoostingClassifier(early_stopping=False))
    (False, True)
    """
    est = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    name = type(est).__name__
    if name.startswith("TabularMLP"):
        return torch_loaded()
    if name.startswith("LGBM") or _epoch_solver(est):
        return True
    key = "max_iter" if name.startswith("HistGradientBoosting") else "n_estimators"
    params = est.get_params() if hasattr(est, "get_params") else {}
    return (
        hasattr(est, "warm_start")
        and isinstance(params.get(key), int)
        and getattr(est, "early_stopping", False) is False
    )


def _predict_within(
    model: Any, X: pd.DataFrame, task: str, classes: np.ndarray, deadline: float | None
) -> np.ndarray:
    """Predictions in batches, checking ``deadline`` between them (kNN predicts slowly)."""
    batch = 4000
    if deadline is None or len(X) <= batch:
        return predict_outputs(model, X, task, classes)
    parts = []
    for start in range(0, len(X), batch):
        if time.monotonic() > deadline:
            raise FoldTimeout("no time left to predict this fold")
        parts.append(predict_outputs(model, X.iloc[start : start + batch], task, classes))
    return np.concatenate(parts)


def labels_from(outputs: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return classes[np.argmax(outputs, axis=1)]


@dataclass(frozen=True)
class FoldControl:
    """When :func:`cross_validate` stops a trial early, and whom it tells after each fold.

    Attributes
    ----------
    deadline : monotonic seconds after which no new fold starts (status ``"timeout"``)
    hard_deadline : monotonic seconds enforced inside each fold by :func:`fit_within`: a fold
        that would pass it stops the trial (status ``"timeout"``)
    on_fold : called with the fold number when a fold is done
    before_fold : ``before_fold(i, fold_seconds)`` may return a reason to stop before fold ``i``
        starts (a per-trial timeout, status ``"timeout"``)
    after_fold : ``after_fold(i, fold_metrics)`` may return a reason to stop after fold ``i``
        (pruning, status ``"pruned"``)
    """

    deadline: float | None = None
    hard_deadline: float | None = None
    on_fold: Callable[[int], None] | None = None
    before_fold: Callable[[int, list[float]], str | None] | None = None
    after_fold: Callable[[int, list[dict[str, float]]], str | None] | None = None


def cross_validate(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    control: FoldControl | None = None,
    measure: bool = False,
) -> CVResult:
    """Fit and score ``pipeline`` on every fold. A trial completes all folds or is marked
    incomplete (``complete=False``) when the deadline passes or a fold fails.

    ``control`` (a :class:`FoldControl`) sets the deadlines and the per-fold hooks. With ``measure`` the last fold's model is also sized
    (bytes when serialised) and timed on a one-row call (``predict_ms``).
    """
    k = len(classes) if task != "regression" else 0
    # Repeated k-fold predicts each row once per repeat: its out-of-fold output is the mean.
    oof = np.full((len(X), k), np.nan) if k else np.full(len(X), np.nan)
    seen = np.zeros(len(X))
    fold_metrics: list[dict[str, float]] = []
    fit_s = 0.0
    pred_us: list[float] = []
    fold_s: list[float] = []

    def stop(reason: str, status: str) -> CVResult:
        res = CVResult(fold_metrics, oof, fit_s, _median(pred_us), False, reason)
        res.fold_seconds, res.status = fold_s, status
        return res

    c = control or FoldControl()
    deadline, hard_deadline = c.deadline, c.hard_deadline
    on_fold, before_fold, after_fold = c.on_fold, c.before_fold, c.after_fold
    model = None
    for i, (tr, va) in enumerate(splits):
        if deadline is not None and time.monotonic() > deadline:
            return stop("budget exhausted", "timeout")
        if before_fold is not None and (why := before_fold(i, fold_s)):
            return stop(why, "timeout")
        model = clone(pipeline)
        t0 = time.perf_counter()
        try:
            fit_within(model, X.iloc[tr], y[tr], hard_deadline)
            t1 = time.perf_counter()
            out = _predict_within(model, X.iloc[va], task, classes, hard_deadline)
        except FoldTimeout as exc:
            res = stop(f"timeout in fold {i + 1}: {exc}", "timeout")
            res.extra["aborted_fold_seconds"] = max(time.perf_counter() - t0, exc.projected or 0.0)
            return res
        except (ValueError, TypeError, ArithmeticError, MemoryError) as exc:
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return stop(msg, "failed" if not fold_metrics else "incomplete")
        t2 = time.perf_counter()
        fit_s += t1 - t0
        fold_s.append(t2 - t0)
        pred_us.append((t2 - t1) / max(len(va), 1) * 1e6)
        prior = np.where(seen[va] > 0, seen[va], 0.0)
        weight = (prior / (prior + 1.0)).reshape((-1,) + (1,) * (oof.ndim - 1))
        oof[va] = np.where(weight > 0, np.nan_to_num(oof[va]) * weight + out * (1 - weight), out)
        seen[va] += 1
        if task == "regression":
            fold_metrics.append(compute_metrics(task, y[va], values=out))
        else:
            fold_metrics.append(
                compute_metrics(
                    task,
                    y[va],
                    labels=labels_from(out, classes),
                    proba=out if k > 2 else out[:, 1],
                    classes=list(classes),
                )
            )
        if on_fold is not None:
            on_fold(i)
        if after_fold is not None and i < len(splits) - 1 and (why := after_fold(i, fold_metrics)):
            return stop(why, "pruned")
    res = CVResult(fold_metrics, oof, fit_s, _median(pred_us), fold_seconds=fold_s)
    if measure and model is not None:
        t0 = time.perf_counter()
        res.model_bytes, res.predict_ms = measure_model(model, X.iloc[splits[-1][1][:1]], task)
        res.extra["measure_seconds"] = time.perf_counter() - t0
    return res


def measure_model(model: Any, row: pd.DataFrame, task: str) -> tuple[int | None, float]:
    """Serialised size in bytes (pickle, measured in memory only) and one-row latency in ms."""
    try:
        size: int | None = len(pickle.dumps(model, protocol=5))
    except Exception:  # a model that cannot be serialised has no size to report
        size = None
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.predict_proba(row) if task != "regression" else model.predict(row)
        times.append((time.perf_counter() - t0) * 1000)
    return size, float(np.median(times))


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")
