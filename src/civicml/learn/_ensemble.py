"""Greedy ensemble selection (Caruana et al., 2004) and the choice of a probability calibration,
both decided on out-of-fold predictions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from civicml.components import apply_calibrators, fit_calibrators
from civicml.learn._metrics import Metric

__all__ = [
    "caruana",
    "caruana_cross_fitted_oof",
    "choose_calibration",
    "cross_fitted_calibration",
    "oof_score",
]


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
    fast = _fast_scorer(metric, task, y, classes)

    def score(o: np.ndarray) -> float:
        return fast(o) if fast is not None else oof_score(metric, task, y, o, classes)

    singles = [sign * score(o) for o in oofs]
    best = int(np.nanargmax(singles))
    counts = np.zeros(len(oofs))
    counts[best] = 1
    total = oofs[best].astype(float).copy()
    current = singles[best]
    for _ in range(n_iter):
        n = counts.sum()
        trial_scores = [sign * score((total + o) / (n + 1)) for o in oofs]
        j = int(np.nanargmax(trial_scores))
        if trial_scores[j] < current - 1e-12 and counts.sum() > 1:
            break
        counts[j] += 1
        total += oofs[j]
        current = trial_scores[j]
    weights = counts / counts.sum()
    if fast is None:
        return weights, sign * current
    blend = sum(w * o for w, o in zip(weights, oofs, strict=True) if w > 0)
    return weights, oof_score(metric, task, y, blend, classes)


def _fast_scorer(metric: Metric, task: str, y: np.ndarray, classes: Any) -> Any:
    """A numpy version of the common metrics for the greedy loop (hundreds of calls), or None.

    scikit-learn's metrics validate their inputs on every call, which dominated ensembling time
    on small data; these agree with them to rounding (tested).
    """
    name = metric.name
    if task == "regression":
        yv = np.asarray(y, dtype=float)
        if name == "rmse":
            return lambda o: float(np.sqrt(np.mean((yv - o) ** 2)))
        if name == "mae":
            return lambda o: float(np.mean(np.abs(yv - o)))
        return None
    cls = np.asarray(classes)
    try:
        idx = np.searchsorted(cls, y)
    except TypeError:
        return None
    if not np.array_equal(cls[np.clip(idx, 0, len(cls) - 1)], np.asarray(y)):
        return None
    rows = np.arange(len(idx))
    if name == "log_loss":
        eps = np.finfo(float).eps

        def log_loss(o: np.ndarray) -> float:
            p = np.clip(o, eps, 1.0)
            p = p / p.sum(axis=1, keepdims=True)
            return float(-np.mean(np.log(p[rows, idx])))

        return log_loss
    if name == "roc_auc" and len(cls) == 2:
        from scipy.stats import rankdata

        pos = idx == 1
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if not n_pos or not n_neg:
            return None

        def auc(o: np.ndarray) -> float:
            r = rankdata(o[:, 1])
            return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

        return auc
    return None


def caruana_cross_fitted_oof(
    oofs: list[np.ndarray],
    y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    metric: Metric,
    task: str,
    classes: Any,
    n_iter: int = 25,
) -> tuple[np.ndarray, np.ndarray]:
    """An honest check of greedy ensembling: the cross-fitted out-of-fold outputs ``(ensemble,
    best single)``. For each fold of ``splits`` (which must partition the rows), the greedy
    weights and the best single model are chosen on the other folds' out-of-fold predictions
    and applied to this fold's. :func:`caruana`'s own score is chosen and scored on the same
    predictions, so it flatters the ensemble; these outputs do not."""
    ens = np.empty_like(oofs[0], dtype=float)
    single = np.empty_like(oofs[0], dtype=float)
    sign = 1.0 if metric.greater_is_better else -1.0
    for tr, va in splits:
        sub = [o[tr] for o in oofs]
        w, _ = caruana(sub, y[tr], metric=metric, task=task, classes=classes, n_iter=n_iter)
        ens[va] = sum(wi * o[va] for wi, o in zip(w, oofs, strict=True) if wi > 0)
        scores = [sign * oof_score(metric, task, y[tr], o, classes) for o in sub]
        single[va] = oofs[int(np.nanargmax(scores))][va]
    return ens, single


def cross_fitted_calibration(
    oof: np.ndarray, y_index: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], method: str
) -> np.ndarray:
    """``oof`` calibrated by ``method`` with calibrators fitted on the other folds' rows and
    applied to each fold's (honest out-of-fold probabilities, rows summing to 1).

    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]] * 5)
    >>> y = np.array([0, 1, 0, 1] * 5)
    >>> splits = [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 20))]
    >>> cross_fitted_calibration(p, y, splits, "sigmoid").sum(axis=1).round(6).tolist()[:2]
    [1.0, 1.0]
    """
    cal = np.empty_like(oof, dtype=float)
    for tr, va in splits:
        fitted = fit_calibrators(oof[tr], y_index[tr], method)
        cal[va] = apply_calibrators(oof[va], fitted, method)
    cal = np.clip(cal, 1e-15, 1.0)
    return np.asarray(cal / cal.sum(axis=1, keepdims=True))


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
        try:
            cal = cross_fitted_calibration(oof, y_index, splits, method)
        except ValueError:
            continue
        losses[method] = float(log_loss(y_index, cal, labels=labels))
    best = min(losses, key=lambda k: (losses[k], k != "none"))
    if best == "none" or losses["none"] - losses[best] <= min_gain:
        return None, losses
    return best, losses
