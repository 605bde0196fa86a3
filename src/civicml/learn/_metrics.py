"""Metrics per task: how each is computed, which way is better, and the default primary metric."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from civicml._errors import SpecError

__all__ = [
    "CLASSIFICATION_METRICS",
    "DEFAULT_METRIC",
    "REGRESSION_METRICS",
    "Metric",
    "compute_metrics",
    "get_metric",
    "metrics_for",
]


@dataclass(frozen=True)
class Metric:
    """A scoring rule. ``kind`` says what it reads: labels, probabilities or values."""

    name: str
    func: Callable[..., float]
    greater_is_better: bool
    kind: str  # "label" | "proba" | "value"

    def __call__(self, y_true: Any, pred: Any, classes: Sequence[Any] | None = None) -> float:
        return float(self.func(y_true, pred, classes))

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` beats ``b``."""
        return a > b if self.greater_is_better else a < b


def _pos(proba: np.ndarray) -> np.ndarray:
    return proba[:, 1] if proba.ndim == 2 else proba


def _roc_auc(y: Any, p: np.ndarray, classes: Any) -> float:
    if p.ndim == 2 and p.shape[1] > 2:
        return skm.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=classes)
    return skm.roc_auc_score(_binarise(y, classes), _pos(p))


def _pr_auc(y: Any, p: np.ndarray, classes: Any) -> float:
    if p.ndim == 2 and p.shape[1] > 2:
        onehot = np.asarray(y)[:, None] == np.asarray(classes)[None, :]
        return skm.average_precision_score(onehot, p, average="macro")
    return skm.average_precision_score(_binarise(y, classes), _pos(p))


def _log_loss(y: Any, p: np.ndarray, classes: Any) -> float:
    p2 = np.column_stack([1 - p, p]) if p.ndim == 1 else p
    return skm.log_loss(y, np.clip(p2, 1e-15, 1 - 1e-15), labels=classes)


def _brier(y: Any, p: np.ndarray, classes: Any) -> float:
    if p.ndim == 2 and p.shape[1] > 2:
        onehot = np.asarray(y)[:, None] == np.asarray(classes)[None, :]
        return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
    return skm.brier_score_loss(_binarise(y, classes), _pos(p))


def _binarise(y: Any, classes: Any) -> np.ndarray:
    return (np.asarray(y) == np.asarray(classes)[-1]).astype(int)


def _avg(y: Any, classes: Any) -> dict[str, Any]:
    if classes is not None and len(classes) > 2:
        return {"average": "macro", "labels": classes}
    return {"average": "binary", "pos_label": classes[-1] if classes is not None else 1}


def _mape(y: Any, p: np.ndarray, _: Any) -> float:
    y = np.asarray(y, dtype=float)
    mask = y != 0
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs((y[mask] - p[mask]) / y[mask])))


CLASSIFICATION_METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("accuracy", lambda y, p, c: skm.accuracy_score(y, p), True, "label"),
        Metric(
            "balanced_accuracy", lambda y, p, c: skm.balanced_accuracy_score(y, p), True, "label"
        ),
        Metric(
            "precision",
            lambda y, p, c: skm.precision_score(y, p, zero_division=0, **_avg(y, c)),
            True,
            "label",
        ),
        Metric(
            "recall",
            lambda y, p, c: skm.recall_score(y, p, zero_division=0, **_avg(y, c)),
            True,
            "label",
        ),
        Metric(
            "f1", lambda y, p, c: skm.f1_score(y, p, zero_division=0, **_avg(y, c)), True, "label"
        ),
        Metric("roc_auc", _roc_auc, True, "proba"),
        Metric("pr_auc", _pr_auc, True, "proba"),
        Metric("log_loss", _log_loss, False, "proba"),
        Metric("brier", _brier, False, "proba"),
    ]
}

REGRESSION_METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "rmse", lambda y, p, c: float(np.sqrt(skm.mean_squared_error(y, p))), False, "value"
        ),
        Metric("mae", lambda y, p, c: skm.mean_absolute_error(y, p), False, "value"),
        Metric("r2", lambda y, p, c: skm.r2_score(y, p), True, "value"),
        Metric("mape", _mape, False, "value"),
    ]
}

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def metrics_for(task: str) -> dict[str, Metric]:
    """All metrics reported for ``task``.

    >>> sorted(metrics_for("regression"))
    ['mae', 'mape', 'r2', 'rmse']
    """
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def get_metric(name: str | None, task: str) -> Metric:
    """The primary metric for ``task``: ``name`` or the task's default.

    >>> get_metric(None, "binary").name
    'roc_auc'
    >>> get_metric("rmse", "binary")
    Traceback (most recent call last):
    ...
    civicml._errors.SpecError: The metric 'rmse' does not apply to a binary task. Expected one of [...
    """
    table = metrics_for(task)
    chosen = name or DEFAULT_METRIC[task]
    if chosen not in table:
        raise SpecError.build(
            f"The metric {chosen!r} does not apply to a {task} task",
            expected=f"one of {sorted(table)}",
            got=chosen,
            fix="Set 'metric' in civicml.yaml to one of them, or remove it to use the default",
        )
    return table[chosen]


def compute_metrics(
    task: str,
    y_true: Any,
    *,
    labels: Any = None,
    proba: np.ndarray | None = None,
    values: Any = None,
    classes: Sequence[Any] | None = None,
) -> dict[str, float]:
    """Every metric of ``task`` that the given predictions allow. Failures become NaN.

    >>> compute_metrics("regression", [1.0, 2.0], values=[1.0, 3.0])["mae"]
    0.5
    """
    out: dict[str, float] = {}
    for name, metric in metrics_for(task).items():
        pred = {"label": labels, "proba": proba, "value": values}[metric.kind]
        if pred is None:
            continue
        try:
            out[name] = metric(y_true, np.asarray(pred), classes)
        except ValueError:
            out[name] = float("nan")
    return out
