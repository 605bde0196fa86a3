"""Honest comparisons: bootstrap intervals on held-out scores, and the corrected resampled t-test.

Cross-validation folds share training rows, so a plain paired t-test on fold scores is far too
confident. Nadeau & Bengio (2003) inflate the variance by ``n_test / n_train``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

__all__ = [
    "VECTORISED",
    "Comparison",
    "NoiseTest",
    "beats_beyond_noise",
    "bootstrap_ci",
    "corrected_ttest",
    "one_sided_bar",
    "verdict",
    "within_noise",
]


VECTORISED = ("rmse", "mae", "r2", "accuracy", "roc_auc", "log_loss", "brier")


def bootstrap_ci(
    score: Callable[[np.ndarray], float] | str,
    y_true: Any,
    pred: Any,
    *,
    classes: Sequence[Any] | None = None,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap interval for a score on held-out rows.

    ``score`` is one of :data:`VECTORISED` (computed for all resamples at once from multinomial
    resampling weights; ``pred`` holds values, labels for ``"accuracy"``, or probabilities: the
    positive class's (n,) or (n, k) aligned to ``classes``) or a callable ``f(index) -> float``
    that scores the rows at ``index`` (looped, slower).

    Examples
    --------
    >>> rng = np.random.default_rng(0); y = rng.normal(size=500); p = y + rng.normal(size=500)
    >>> lo, hi = bootstrap_ci("rmse", y, p, seed=1)
    >>> bool(lo < np.sqrt(np.mean((y - p) ** 2)) < hi), bool(hi - lo < 0.2)
    (True, True)
    """
    y = np.asarray(y_true)
    n = len(y)
    rng = np.random.default_rng(seed)
    if isinstance(score, str):
        if score not in VECTORISED:
            raise ValueError(f"bootstrap_ci has no vectorised score {score!r}; pass a callable")
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
        vals = _weighted(score, y, np.asarray(pred), w, classes)
    else:
        idx = rng.integers(0, n, size=(n_boot, n))
        vals = np.array([score(row) for row in idx], dtype=float)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(vals, alpha)), float(np.quantile(vals, 1 - alpha))


def _weighted(
    score: str, y: np.ndarray, p: np.ndarray, w: np.ndarray, classes: Sequence[Any] | None
) -> np.ndarray:
    n = w.sum(axis=1)
    if score in ("rmse", "mae", "r2"):
        e = y.astype(float) - p.astype(float)
        if score == "rmse":
            return np.sqrt((w * e**2).sum(axis=1) / n)
        if score == "mae":
            return (w * np.abs(e)).sum(axis=1) / n
        mean = (w * y).sum(axis=1) / n
        tss = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - (w * e**2).sum(axis=1) / tss
    if score == "accuracy":
        return (w * (y == p)).sum(axis=1) / n
    cls = np.asarray(classes if classes is not None else np.unique(y))
    if p.ndim == 1:
        p = np.column_stack([1 - p, p])
    onehot = y[:, None] == cls[None, :]
    if score == "log_loss":
        p_true = np.clip((p * onehot).sum(axis=1), 1e-15, 1.0)
        return (w * -np.log(p_true)).sum(axis=1) / n
    if score == "brier":
        sq = ((p - onehot) ** 2).sum(axis=1) if p.shape[1] > 2 else (p[:, 1] - onehot[:, 1]) ** 2
        return (w * sq).sum(axis=1) / n
    cols = [1] if p.shape[1] == 2 else list(range(p.shape[1]))
    return np.mean([_auc(onehot[:, j], p[:, j], w) for j in cols], axis=0)


def _auc(pos: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC (Mann-Whitney, ties count a half) for every row of weights ``w``."""
    order = np.argsort(s, kind="mergesort")
    s, pos, w = s[order], pos[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    gp = np.add.reduceat(w * pos, starts, axis=1)
    gn = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(gn, axis=1) - gn
    with np.errstate(divide="ignore", invalid="ignore"):
        return (gp * (below + 0.5 * gn)).sum(axis=1) / (gp.sum(axis=1) * gn.sum(axis=1))


@dataclass(frozen=True)
class Comparison:
    """The corrected resampled t-test between two candidates' per-fold scores."""

    better: str
    other: str
    mean_difference: float
    t: float
    p_value: float
    reliable: bool
    text: str


def corrected_ttest(
    a: Sequence[float], b: Sequence[float], *, n_train: int, n_test: int
) -> tuple[float, float]:
    """Nadeau–Bengio corrected resampled t-test on paired per-fold scores; returns ``(t, p)``.

    The variance of the differences is scaled by ``1/k + n_test/n_train`` (``k`` folds), and the
    two-sided p-value comes from Student's t with ``k - 1`` degrees of freedom.

    Examples
    --------
    >>> t, p = corrected_ttest([0.80, 0.82, 0.81, 0.83, 0.79], [0.78, 0.80, 0.80, 0.80, 0.78],
    ...                        n_train=800, n_test=200)
    >>> round(t, 3), round(p, 3)
    (3.207, 0.033)
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = d[~np.isnan(d)]
    k = len(d)
    if k < 2:
        return float("nan"), float("nan")
    var = float(np.var(d, ddof=1))
    mean = float(np.mean(d))
    if var == 0.0:
        return (float("inf") if mean else 0.0) * (1 if mean >= 0 else -1), 0.0 if mean else 1.0
    t = mean / np.sqrt((1.0 / k + n_test / n_train) * var)
    p = 2.0 * float(stats.t.sf(abs(t), df=k - 1))
    return float(t), p


def within_noise(
    best: Sequence[float],
    score: float,
    *,
    n_train: int,
    n_test: int,
    greater_is_better: bool,
) -> tuple[bool, float, float]:
    """The one-standard-error rule: whether ``score`` (another candidate's mean) is within one
    standard error of the best candidate's mean per-fold score. The standard error is the
    Nadeau–Bengio corrected one (variance scaled by ``1/k + n_test/n_train``, as in
    :func:`corrected_ttest`), since folds share training rows. Returns
    ``(within, how far score is behind the best, standard error)``.

    Examples
    --------
    >>> best = [0.80, 0.84, 0.78, 0.83, 0.80]
    >>> within_noise(best, 0.80, n_train=400, n_test=100, greater_is_better=True)[0]
    True
    >>> within_noise(best, 0.75, n_train=400, n_test=100, greater_is_better=True)[0]
    False
    """
    b = np.asarray(best, dtype=float)
    b = b[~np.isnan(b)]
    if len(b) < 2 or n_train <= 0 or score != score:
        return False, float("nan"), float("nan")
    se = float(np.sqrt((1.0 / len(b) + n_test / n_train) * np.var(b, ddof=1)))
    behind = (float(np.mean(b)) - score) * (1.0 if greater_is_better else -1.0)
    return bool(behind <= se), behind, se


class NoiseTest(NamedTuple):
    """What :func:`beats_beyond_noise` found: whether ``a`` beats ``b`` (``beats``), by how much
    (``margin``, positive when ``a`` is better), the corrected ``standard_error`` of that margin,
    the ``bar`` (in standard errors) it had to clear, and how many paired ``folds`` it rests on.
    """

    beats: bool
    margin: float
    standard_error: float
    bar: float
    folds: int


def beats_beyond_noise(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_train: int,
    n_test: int,
    greater_is_better: bool,
    alpha: float | None = None,
) -> NoiseTest:
    """Whether candidate ``a`` beats ``b`` by more than the noise: its mean per-fold margin over
    ``b`` (paired, the same folds) exceeds one corrected standard error of the per-fold
    differences (Nadeau–Bengio: variance scaled by ``1/k + n_test/n_train``, as in
    :func:`corrected_ttest`). With ``alpha``, the bar is a one-sided corrected t-test at that
    level instead: the margin must exceed :func:`one_sided_bar` standard errors. Returns a
    :class:`NoiseTest`; the margin is positive when ``a`` is better, and folds either scored as
    NaN are left out of it. Unpaired scores (different lengths) or fewer than two folds scored
    by both give ``beats=False`` with a NaN margin and standard error.

    Examples
    --------
    >>> tuned = [0.82, 0.86, 0.80, 0.85, 0.82]
    >>> beats_beyond_noise(tuned, [0.80, 0.84, 0.78, 0.83, 0.80], n_train=400, n_test=100,
    ...                    greater_is_better=True)[0]  # 0.02 better on every fold
    True
    >>> beats_beyond_noise(tuned, [0.83, 0.82, 0.79, 0.86, 0.79], n_train=400, n_test=100,
    ...                    greater_is_better=True)[0]  # 0.012 better, within the noise
    False
    >>> ahead = [0.81, 0.86, 0.80, 0.85, 0.80]  # 0.01 better: 1.5 standard errors
    >>> [beats_beyond_noise(ahead, [0.80, 0.84, 0.78, 0.85, 0.80], n_train=400, n_test=100,
    ...                     greater_is_better=True, alpha=a)[0] for a in (None, 0.05)]
    [True, False]
    >>> round(beats_beyond_noise(ahead, [0.80, 0.84, 0.78, 0.85, 0.80], n_train=400,
    ...                          n_test=100, greater_is_better=True, alpha=0.05).bar, 2)
    2.13
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    nan = float("nan")
    if x.shape != y.shape or n_train <= 0:
        return NoiseTest(False, nan, nan, nan, 0)
    d = (x - y) * (1.0 if greater_is_better else -1.0)
    d = d[~np.isnan(d)]
    bar = 1.0 if alpha is None else one_sided_bar(len(d), alpha)
    if len(d) < 2:
        return NoiseTest(False, nan, nan, bar, len(d))
    margin = float(np.mean(d))
    se = float(np.sqrt((1.0 / len(d) + n_test / n_train) * np.var(d, ddof=1)))
    return NoiseTest(bool(margin > bar * se), margin, se, bar, len(d))


def one_sided_bar(folds: int, alpha: float) -> float:
    """How many corrected standard errors a paired margin over ``folds`` folds must exceed to
    pass a one-sided t-test at level ``alpha``: Student's t quantile with ``folds - 1`` degrees
    of freedom, as :func:`corrected_ttest` uses.

    Examples
    --------
    >>> round(one_sided_bar(15, 0.05), 3), round(one_sided_bar(5, 0.05), 3)
    (1.761, 2.132)
    """
    return float(stats.t.ppf(1.0 - alpha, df=max(folds - 1, 1)))


def verdict(
    best: str,
    runner_up: str,
    best_scores: Sequence[float],
    runner_scores: Sequence[float],
    *,
    n_train: int,
    n_test: int,
    greater_is_better: bool,
    alpha: float = 0.05,
) -> Comparison:
    """Compare the best candidate with the runner-up and say, in plain English, if it is reliable.

    Examples
    --------
    >>> c = verdict("B", "A", [0.80, 0.81, 0.79], [0.80, 0.80, 0.80], n_train=800, n_test=200,
    ...             greater_is_better=True)
    >>> c.text.startswith("B is not reliably better than A")
    True
    """
    t, p = corrected_ttest(best_scores, runner_scores, n_train=n_train, n_test=n_test)
    diff = float(np.nanmean(np.asarray(best_scores) - np.asarray(runner_scores)))
    better_dir = diff > 0 if greater_is_better else diff < 0
    reliable = bool(p == p and p < alpha and better_dir)
    if reliable:
        text = f"{best} is reliably better than {runner_up} (corrected t-test p = {p:.3f})."
    else:
        shown = "n/a" if p != p else f"{p:.3f}"
        text = (
            f"{best} is not reliably better than {runner_up} (corrected t-test p = {shown}); "
            f"prefer the simpler of the two if that matters."
        )
    return Comparison(best, runner_up, diff, t, p, reliable, text)
