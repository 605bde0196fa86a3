"""Held-out metrics of yes/no scores, numeric estimates and categories."""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def _roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC by ranks (Mann-Whitney), ties counted half; same as scikit-learn's."""
    from scipy.stats import rankdata

    n1 = int(y.sum())
    n0 = len(y) - n1
    ranks = rankdata(s)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision with tied scores grouped; same as scikit-learn's."""
    order = np.argsort(-s, kind="mergesort")
    ss, yy = s[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]
    tp = np.cumsum(yy)[ends]
    prec = tp / (ends + 1)
    rec = tp / max(int(y.sum()), 1)
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))


def _binary_metrics(y: np.ndarray, s: np.ndarray, t: float) -> dict[str, float]:
    p = s >= t
    tp = float((y & p).sum())
    fp = float((~y & p).sum())
    fn = float((y & ~p).sum())
    tn = float((~y & ~p).sum())
    n = len(y)
    nan = float("nan")
    prec = tp / (tp + fp) if tp + fp else nan
    rec = tp / (tp + fn) if tp + fn else nan
    spec = tn / (tn + fp) if tn + fp else nan
    both = len(np.unique(y)) == 2
    return {
        "accuracy": (tp + tn) / n if n else nan,
        "balanced_accuracy": (rec + spec) / 2,
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else nan,
        "roc_auc": _roc_auc(y, s) if both else nan,
        "pr_auc": _average_precision(y, s) if both else nan,
        "brier": float(np.mean((s - y) ** 2)),
    }


def _regression_metrics(y: np.ndarray, v: np.ndarray) -> dict[str, float]:
    err = v - y
    ss = float(((y - y.mean()) ** 2).sum())
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "r2": 1 - float((err**2).sum()) / ss if ss else float("nan"),
    }


def _multiclass_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score

    return {
        "accuracy": float((y == pred).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "f1_macro": float(f1_score(y, pred, average="macro")),
    }
