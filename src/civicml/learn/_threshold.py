"""Choosing a binary decision threshold from the costs of each kind of mistake."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Threshold", "choose_threshold"]


@dataclass(frozen=True)
class Threshold:
    """The chosen threshold and what it costs, per 1,000 cases, on the data it was chosen on."""

    value: float
    cost_false_positive: float
    cost_false_negative: float
    expected_cost_per_1000: float
    false_positives_per_1000: float
    false_negatives_per_1000: float
    rule: str


def choose_threshold(
    y_true: np.ndarray, score: np.ndarray, *, cost_fp: float = 1.0, cost_fn: float = 1.0
) -> Threshold:
    """The threshold on ``score`` (probability of the positive class) with the least total cost.

    ``y_true`` is 1 for the positive class. Ties go to the threshold nearest 0.5.

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1]); s = np.array([0.1, 0.6, 0.4, 0.9])
    >>> choose_threshold(y, s, cost_fp=1, cost_fn=10).value <= 0.4
    True
    """
    y = np.asarray(y_true).astype(int)
    s = np.asarray(score, dtype=float)
    ok = ~np.isnan(s)
    y, s = y[ok], s[ok]
    n = max(len(y), 1)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # predicting positive for the top i rows: i = 0..n
    tp = np.concatenate([[0], np.cumsum(y_sorted)])
    fp = np.concatenate([[0], np.cumsum(1 - y_sorted)])
    fn = y.sum() - tp
    cost = cost_fp * fp + cost_fn * fn
    # only cut between distinct scores
    valid = np.concatenate([[True], np.r_[s_sorted[1:] != s_sorted[:-1], True]])
    cuts = np.concatenate([[1.0 + 1e-9], s_sorted])  # threshold such that score >= t is positive
    candidates = np.flatnonzero(valid)
    best_cost = cost[candidates].min()
    tied = candidates[np.isclose(cost[candidates], best_cost)]
    pick = tied[np.argmin(np.abs(cuts[tied] - 0.5))]
    value = float(min(max(cuts[pick], 0.0), 1.0))
    return Threshold(
        value=value,
        cost_false_positive=float(cost_fp),
        cost_false_negative=float(cost_fn),
        expected_cost_per_1000=float(cost[pick] / n * 1000),
        false_positives_per_1000=float(fp[pick] / n * 1000),
        false_negatives_per_1000=float(fn[pick] / n * 1000),
        rule="least expected cost" if cost_fp != cost_fn else "least errors (equal costs)",
    )
