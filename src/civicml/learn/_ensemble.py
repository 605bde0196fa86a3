"""Greedy ensemble selection (Caruana et al., 2004) and the choice of a probability calibration,
both decided on out-of-fold predictions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from civicml.components import apply_calibrators, fit_calibrators
from civicml.learn._metrics import Metric

__all__ = ["caruana", "choose_calibration", "oof_score"]


def oof_score(metric: Metric, task: str, y: np.ndarray, oof: np.ndarray, classes: Any) -> float:
    """``metric`` on pooled out-of-fold predictions (probabilities or values).

    >>> from civicml.learn import get_metric
    >>> m = get_metric("rmse", "regression")
    >>> oof_score(m, "regression", np.array([1.0, 2.0]), np.array([1.0, 4.0]), None)
    1.4142135623730951
    """
    if task == "regression":
        return metric(y, oof)
    if metric.kind == "label":
        return metric(y, np.asarray(classes)[np.argmax(oof, axis=1)], list(classes))
    return metric(y, oof if oof.shape[1] > 2 else oof[:, 1], list(classes))


def caruana(
    oofs: list[np.ndarray],
    y: np.ndarray,
    *,
    metric: Metric,
    task: str,
    classes: Any,
    n_iter: int = 25,
) -> tuple[np.ndarray, float]:
    """Greedy forward selection with replacement; returns ``(weights, pooled OOF score)``.

    Starts from the best single model and adds, ``n_iter`` times, the model whose addition
    scores best (ties to the earlier model, so the result is deterministic).

    Examples
    --------
    >>> from civicml.learn import get_metric
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> a, b = y + np.array([1, -1, 1, -1.0]), y + np.array([-1, 1, -1, 1.0])
    >>> w, s = caruana([a, b], y, metric=get_metric("rmse", "regression"), task="regression",
    ...                classes=None, n_iter=5)
    >>> w.tolist(), s
    ([0.5, 0.5], 0.0)
    """
    sign = 1.0 if metric.greater_is_better else -1.0
    singles = [sign * oof_score(metric, task, y, o, classes) for o in oofs]
    best = int(np.nanargmax(singles))
    counts = np.zeros(len(oofs))
    counts[best] = 1
    total = oofs[best].astype(float).copy()
    current = singles[best]
    for _ in range(n_iter):
        n = counts.sum()
        trial_scores = [
            sign * oof_score(metric, task, y, (total + o) / (n + 1), classes) for o in oofs
        ]
        j = int(np.nanargmax(trial_scores))
        if trial_scores[j] < current - 1e-12 and counts.sum() > 1:
            break
        counts[j] += 1
        total += oofs[j]
        current = trial_scores[j]
    return counts / counts.sum(), sign * current


def choose_calibration(
    oof: np.ndarray,
    y_index: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    min_gain: float = 1e-4,
) -> tuple[str | None, dict[str, float]]:
    """The calibration (``"sigmoid"``, ``"isotonic"`` or None) with the best out-of-fold log loss.

    Each method's calibrators are cross-fitted on the same folds (fitted on the other folds'
    out-of-fold probabilities, scored on this fold's), so the comparison is honest. A method is
    chosen only when it lowers log loss by more than ``min_gain``.
    """
    from sklearn.metrics import log_loss

    labels = list(range(oof.shape[1]))
    losses = {"none": float(log_loss(y_index, np.clip(oof, 1e-15, 1), labels=labels))}
    for method in ("sigmoid", "isotonic"):
        cal = np.empty_like(oof, dtype=float)
        try:
            for tr, va in splits:
                fitted = fit_calibrators(oof[tr], y_index[tr], method)
                cal[va] = apply_calibrators(oof[va], fitted, method)
        except ValueError:
            continue
        cal = np.clip(cal, 1e-15, 1.0)
        cal = cal / cal.sum(axis=1, keepdims=True)
        losses[method] = float(log_loss(y_index, cal, labels=labels))
    best = min(losses, key=lambda k: (losses[k], k != "none"))
    if best == "none" or losses["none"] - losses[best] <= min_gain:
        return None, losses
    return best, losses
