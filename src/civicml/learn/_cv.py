"""Cross-validation of one candidate: folds, out-of-fold predictions, per-fold metrics, timings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

from civicml.learn._metrics import compute_metrics

__all__ = ["CVResult", "cross_validate", "make_splitter", "predict_outputs"]


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

    def mean(self, metric: str) -> float:
        vals = [m.get(metric, np.nan) for m in self.fold_metrics]
        return float(np.nanmean(vals)) if vals and not np.all(np.isnan(vals)) else float("nan")

    def std(self, metric: str) -> float:
        vals = [m.get(metric, np.nan) for m in self.fold_metrics]
        return float(np.nanstd(vals, ddof=1)) if len(vals) > 1 else 0.0


def make_splitter(task: str, n_splits: int, seed: int, *, grouped: bool) -> Any:
    """Stratified k-fold for classification, plain k-fold for regression; grouped when asked.

    >>> type(make_splitter("binary", 5, 0, grouped=False)).__name__
    'StratifiedKFold'
    >>> type(make_splitter("regression", 5, 0, grouped=True)).__name__
    'GroupKFold'
    """
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


def labels_from(outputs: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return classes[np.argmax(outputs, axis=1)]


def cross_validate(
    pipeline: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    task: str,
    classes: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    deadline: float | None = None,
    on_fold: Callable[[int], None] | None = None,
) -> CVResult:
    """Fit and score ``pipeline`` on every fold. A trial completes all folds or is marked
    incomplete (``complete=False``) when the deadline passes or a fold fails."""
    k = len(classes) if task != "regression" else 0
    oof = np.full((len(X), k), np.nan) if k else np.full(len(X), np.nan)
    fold_metrics: list[dict[str, float]] = []
    fit_s = 0.0
    pred_us: list[float] = []
    for i, (tr, va) in enumerate(splits):
        if deadline is not None and time.monotonic() > deadline:
            return CVResult(fold_metrics, oof, fit_s, _median(pred_us), False, "budget exhausted")
        model = clone(pipeline)
        t0 = time.perf_counter()
        try:
            model.fit(X.iloc[tr], y[tr])
            t1 = time.perf_counter()
            out = predict_outputs(model, X.iloc[va], task, classes)
        except (ValueError, TypeError, ArithmeticError, MemoryError) as exc:
            msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return CVResult(fold_metrics, oof, fit_s, _median(pred_us), False, msg)
        t2 = time.perf_counter()
        fit_s += t1 - t0
        pred_us.append((t2 - t1) / max(len(va), 1) * 1e6)
        oof[va] = out
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
    return CVResult(fold_metrics, oof, fit_s, _median(pred_us))


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")
