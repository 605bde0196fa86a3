"""What a department could do without the model, measured on the same held-out rows.

Binary tasks: flag everyone, flag no one, and the base rate (everyone gets the same score, the
share of real positives; as a rule, flag a random share that size). Regression: predict the
mean, or the median. Multiclass: predict the most common class. Each policy gets the model's
metrics (and, for binary tasks, its expected cost per 1,000 cases at the project's costs), and
the model is compared with the best policy by a paired bootstrap of the difference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from civicml.assess._metrics import (
    _average_precision,
    _binary_metrics,
    _multiclass_metrics,
    _regression_metrics,
    _roc_auc,
)

__all__ = ["LOWER_IS_BETTER", "baseline_comparison"]

#: Metrics where a smaller value is better.
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "mae", "rmse", "mse"})
_DEFAULT_METRIC = {"binary": "roc_auc", "regression": "mae", "multiclass": "balanced_accuracy"}


def _rates(y: np.ndarray, flag: np.ndarray) -> dict[str, float]:
    """Selection rate, precision, recall and false-positive rate of yes/no flags."""
    nan = float("nan")
    tp = float((y & flag).sum())
    fp = float((~y & flag).sum())
    pos, neg = float(y.sum()), float((~y).sum())
    return {
        "selection_rate": float(flag.mean()) if len(flag) else nan,
        "precision": tp / (tp + fp) if tp + fp else nan,
        "recall": tp / pos if pos else nan,
        "false_positive_rate": fp / neg if neg else nan,
    }


def _cost(y: np.ndarray, flag: np.ndarray, cfp: float, cfn: float) -> float:
    """Expected cost per 1,000 cases of yes/no flags."""
    fp = float((~y & flag).sum())
    fn = float((y & ~flag).sum())
    return (cfp * fp + cfn * fn) / max(len(y), 1) * 1000


def _base_rate_policy(y: np.ndarray, cfp: float, cfn: float) -> dict[str, float]:
    """Flagging a random share equal to the base rate: expected values, no randomness."""
    p = float(y.mean()) if len(y) else float("nan")
    return {
        "selection_rate": p,
        "precision": p,
        "recall": p,
        "false_positive_rate": p,
        "cost_per_1000": (cfp + cfn) * p * (1 - p) * 1000,
    }


def _binary_policies(
    y: np.ndarray, flag: np.ndarray, cfp: float, cfn: float
) -> dict[str, dict[str, float]]:
    n = len(y)
    everyone, no_one = np.ones(n, bool), np.zeros(n, bool)
    return {
        "model": {**_rates(y, flag), "cost_per_1000": _cost(y, flag, cfp, cfn)},
        "flag_everyone": {**_rates(y, everyone), "cost_per_1000": _cost(y, everyone, cfp, cfn)},
        "flag_no_one": {**_rates(y, no_one), "cost_per_1000": _cost(y, no_one, cfp, cfn)},
        "base_rate": _base_rate_policy(y, cfp, cfn),
    }


def _binary_score(metric: str, y: np.ndarray, s: np.ndarray, t: float) -> float:
    if metric in ("roc_auc", "pr_auc"):
        if len(np.unique(y)) < 2:
            return float("nan")
        return _roc_auc(y, s) if metric == "roc_auc" else _average_precision(y, s)
    return float(_binary_metrics(y, s, t)[metric])


def _binary_scores(metric: str, y: np.ndarray, s: np.ndarray, t: float) -> dict[str, float]:
    """The metric for the model and for each policy as a constant score."""
    n, p = len(y), float(y.mean()) if len(y) else 0.0
    if metric in ("roc_auc", "pr_auc"):
        # a constant score ranks no one above anyone: AUC 0.5, average precision the base rate
        const = (0.5 if metric == "roc_auc" else p) if 0 < p < 1 else float("nan")
        model = _binary_score(metric, y, s, t)
        return {"model": model, "flag_everyone": const, "flag_no_one": const, "base_rate": const}
    base = np.full(n, p)
    out = {
        "model": _binary_score(metric, y, s, t),
        "flag_everyone": _binary_score(metric, y, np.ones(n), t),
        "flag_no_one": _binary_score(metric, y, np.zeros(n), t),
    }
    # as a score, the base rate ranks no one above anyone; as flags it is a random share
    if metric in ("precision", "recall", "f1", "accuracy", "balanced_accuracy"):
        rand = {"precision": p, "recall": p, "f1": p, "accuracy": p * p + (1 - p) ** 2}
        out["base_rate"] = rand.get(metric, 0.5)
    else:
        out["base_rate"] = _binary_score(metric, y, base, 2.0)
    return out


class _ResampledAuc:
    """ROC AUC of a bootstrap resample from row counts: the scores are sorted once, so each
    resample costs a few vector sums (the same value as ranking the resampled rows, ties half).

    Examples
    --------
    >>> y = np.array([True, False, True, False]); s = np.array([0.9, 0.2, 0.4, 0.4])
    >>> _ResampledAuc(y, s)(np.arange(4)), _roc_auc(y, s)
    (0.875, 0.875)
    """

    def __init__(self, y: np.ndarray, s: np.ndarray) -> None:
        self.order = np.argsort(s, kind="mergesort")
        ss = s[self.order]
        self.starts = np.r_[0, np.flatnonzero(np.diff(ss)) + 1]
        self.y = y[self.order]
        self.pos = np.empty(len(y), dtype=np.intp)
        self.pos[self.order] = np.arange(len(y))

    def __call__(self, idx: np.ndarray) -> float:
        w = np.bincount(self.pos[idx], minlength=len(self.y)).astype(float)
        wp = np.add.reduceat(w * self.y, self.starts)
        wn = np.add.reduceat(w * ~self.y, self.starts)
        n1, n0 = wp.sum(), wn.sum()
        if not n1 or not n0:
            return float("nan")
        below = np.cumsum(wn) - wn
        return float((wp * (below + 0.5 * wn)).sum() / (n1 * n0))


def _regression_policies(y: np.ndarray, v: np.ndarray) -> dict[str, dict[str, float]]:
    n = len(y)
    return {
        "model": _regression_metrics(y, v),
        "predict_mean": _regression_metrics(y, np.full(n, float(np.mean(y)))),
        "predict_median": _regression_metrics(y, np.full(n, float(np.median(y)))),
    }


def _multiclass_policies(y: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    values, counts = np.unique(y, return_counts=True)
    common = values[int(np.argmax(counts))] if len(values) else ""
    return {
        "model": _multiclass_metrics(y, pred),
        "most_common_class": _multiclass_metrics(y, np.full(len(y), common)),
    }


def _interval(draws: list[float]) -> list[float] | None:
    d = [x for x in draws if x == x]
    if len(d) <= 10:
        return None
    return [float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))]


def _paired(
    fn: Callable[[np.ndarray], dict[str, float]],
    best: str,
    n: int,
    n_boot: int,
    seed: int,
) -> list[float]:
    """Bootstrap draws of ``fn(idx)["model"] - fn(idx)[best]`` over resampled rows."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_boot):
        v = fn(rng.integers(0, n, n))
        draws.append(v["model"] - v[best])
    return draws


def _comparison(
    what: str,
    values: dict[str, float],
    lower_better: bool,
    fn: Callable[[np.ndarray], dict[str, float]],
    n: int,
    n_boot: int,
    seed: int,
) -> dict[str, Any]:
    """The model against the best policy on one measure, with a bootstrap interval."""
    policies = {k: v for k, v in values.items() if k != "model" and v == v}
    if not policies or values["model"] != values["model"]:
        return {"measure": what, "best_policy": None}
    pick = min if lower_better else max
    best = pick(policies, key=lambda k: policies[k])
    diff = values["model"] - values[best]
    ci = _interval(_paired(fn, best, n, n_boot, seed))
    better = ci is not None and (ci[1] < 0 if lower_better else ci[0] > 0)
    return {
        "measure": what,
        "lower_is_better": lower_better,
        "model": values["model"],
        "best_policy": best,
        "best_value": values[best],
        "difference": diff,
        "ci": ci,
        "n_boot": n_boot,
        "better": bool(better),
    }


def baseline_comparison(
    task: str,
    y: np.ndarray,
    prediction: np.ndarray,
    *,
    metric: str | None = None,
    threshold: float | None = None,
    costs: tuple[float, float] = (1.0, 1.0),
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The model and the trivial policies on the same held-out rows, and how they compare.

    Parameters
    ----------
    task : {"binary", "regression", "multiclass"}
    y : array
        Held-out truth (booleans for binary tasks: True is the positive class).
    prediction : array
        The model's scores (binary), values (regression) or labels (multiclass).
    metric : str, optional
        The primary metric; the task's default when the assessment does not measure it.
    threshold : float, optional
        Decision threshold on the score (binary; 0.5 when None).
    costs : (false positive, false negative)
        Relative cost of each mistake, as in the spec's ``costs:``.
    n_boot : int
        Bootstrap resamples of the held-out rows for the 95% interval of each difference.

    Examples
    --------
    >>> y = np.array([True, False] * 50); s = np.where(y, 0.9, 0.1)
    >>> out = baseline_comparison("binary", y, s, metric="roc_auc", n_boot=100)
    >>> out["policies"]["flag_everyone"]["cost_per_1000"], out["score"]["better"]
    (500.0, True)
    """
    y, pred = np.asarray(y), np.asarray(prediction)
    n = len(y)
    measures = {
        "binary": {"roc_auc", "pr_auc", "brier", "precision", "recall", "f1", "accuracy"},
        "regression": {"mae", "rmse", "r2"},
        "multiclass": {"accuracy", "balanced_accuracy", "f1_macro"},
    }[task]
    used = metric if metric in measures else _DEFAULT_METRIC[task]
    lower = used in LOWER_IS_BETTER
    out: dict[str, Any] = {"task": task, "metric": used, "n": n}
    if task == "binary":
        y = y.astype(bool)
        t = 0.5 if threshold is None else float(threshold)
        cfp, cfn = float(costs[0]), float(costs[1])
        flag = pred >= t
        out["threshold"], out["costs"] = t, {"false_positive": cfp, "false_negative": cfn}
        out["base_rate"] = float(y.mean()) if n else None
        out["policies"] = _binary_policies(y, flag, cfp, cfn)
        for name, v in _binary_scores(used, y, pred, t).items():
            out["policies"][name][used] = v

        def cost_fn(idx: np.ndarray) -> dict[str, float]:
            pol = _binary_policies(y[idx], flag[idx], cfp, cfn)
            return {k: v["cost_per_1000"] for k, v in pol.items()}

        auc = _ResampledAuc(y, pred) if used == "roc_auc" else None

        def score_fn(idx: np.ndarray) -> dict[str, float]:
            if auc is None:
                return _binary_scores(used, y[idx], pred[idx], t)
            v = auc(idx)
            const = 0.5 if v == v else float("nan")
            return {"model": v, "flag_everyone": const, "flag_no_one": const, "base_rate": const}

        costs_now = {k: v["cost_per_1000"] for k, v in out["policies"].items()}
        out["cost"] = _comparison("cost_per_1000", costs_now, True, cost_fn, n, n_boot, seed)
    elif task == "regression":
        y, pred = y.astype(float), pred.astype(float)
        out["policies"] = _regression_policies(y, pred)

        def score_fn(idx: np.ndarray) -> dict[str, float]:
            return {k: v[used] for k, v in _regression_policies(y[idx], pred[idx]).items()}
    else:
        y, pred = y.astype(str), pred.astype(str)
        out["policies"] = _multiclass_policies(y, pred)

        def score_fn(idx: np.ndarray) -> dict[str, float]:
            return {k: v[used] for k, v in _multiclass_policies(y[idx], pred[idx]).items()}

    scores = {k: float(v[used]) for k, v in out["policies"].items()}
    out["score"] = _comparison(used, scores, lower, score_fn, n, n_boot, seed + 1)
    return out
