"""Model performance in production: realised once labels arrive, estimated (CBPE) before.

- :func:`realised_performance` joins late ground-truth labels to the decision log (by request id
  or a declared key) and computes metrics per time window.
- :func:`estimate_performance_cbpe` is NannyML's confidence-based performance estimation: with
  calibrated probabilities ``p``, each row is a true positive with probability ``p`` when
  predicted positive, and so on, so the expected confusion matrix, and every metric built from
  it, follows without labels. It is **valid only under covariate shift** (the inputs move, the
  relation between inputs and outcome does not) and with calibrated scores; a concept shift
  makes it wrong without warning, hence :func:`reconcile_performance` once labels come.

Examples
--------
>>> import numpy as np
>>> est = estimate_performance_cbpe(np.array([0.9, 0.8, 0.2, 0.1]), threshold=0.5)
>>> round(est["accuracy"], 3), est["valid_under"]
(0.85, 'covariate shift only')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from civicml._errors import DataError, NotFittedError, SpecError
from civicml.monitor._chunked import floor_to_window

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "ScoreCalibrator",
    "estimate_performance_cbpe",
    "estimate_performance_over_time",
    "realised_performance",
    "reconcile_performance",
]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mae", "rmse")
VALID_UNDER = "covariate shift only"


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank (Mann–Whitney) formula, ties counted half; NaN with one class.

    Examples
    --------
    >>> import numpy as np
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(
    labels: np.ndarray, predicted: np.ndarray, scores: np.ndarray | None, metrics: Sequence[str]
) -> dict[str, float]:
    """Realised metrics for a binary task (labels and predictions as 0/1)."""
    y = np.asarray(labels).astype(bool)
    p = np.asarray(predicted).astype(bool)
    tp, fp = float(np.sum(y & p)), float(np.sum(~y & p))
    fn, tn = float(np.sum(y & ~p)), float(np.sum(~y & ~p))
    out = _from_confusion(tp, fp, fn, tn, metrics)
    if "roc_auc" in metrics:
        out["roc_auc"] = roc_auc(y, scores) if scores is not None else float("nan")
    return out


def _from_confusion(
    tp: float, fp: float, fn: float, tn: float, metrics: Sequence[str]
) -> dict[str, float]:
    n = tp + fp + fn + tn
    table = {
        "accuracy": _ratio(tp + tn, n),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }
    return {m: table[m] for m in metrics if m in table}


def _window_key(times: pd.Series, window: str) -> pd.Series:
    return floor_to_window(times, window)


def _as_binary(values: pd.Series, positive: Any) -> np.ndarray:
    return (values.to_numpy() == positive).astype(bool)


def realised_performance(
    log: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    key: str | Sequence[str] = "request_id",
    label_column: str = "label",
    window: str = "1D",
    time_column: str = "time",
    prediction_column: str = "decision",
    score_column: str | None = "score",
    metrics: Sequence[str] | None = None,
    positive: Any = 1,
) -> pd.DataFrame:
    """Join late labels to the decision log and compute metrics per time window.

    Labels are joined on ``key`` (the request id by default, or a declared business key); a key
    labelled twice keeps its last label (a correction). Rows without a label are counted in
    ``n`` but not in the metrics; ``label_coverage`` says how many were labelled.

    Parameters
    ----------
    log : pandas.DataFrame
        Decision log with ``time_column``, ``key`` and the prediction (and score) columns.
    labels : pandas.DataFrame
        Ground truth with ``key`` and ``label_column``.
    metrics : sequence of str, optional
        Default: classification metrics when the prediction equals ``positive`` for some rows
        or a score column exists, else ``mae`` and ``rmse``.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window_start``, ``n``, ``n_labelled``, ``label_coverage`` and the
        metrics.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({
    ...     "request_id": ["a", "b", "c", "d"],
    ...     "time": pd.to_datetime(["2025-01-01 09:00", "2025-01-01 10:00",
    ...                             "2025-01-02 09:00", "2025-01-02 11:00"], utc=True),
    ...     "decision": [1, 0, 1, 1], "score": [0.9, 0.2, 0.7, 0.6]})
    >>> labels = pd.DataFrame({"request_id": ["a", "b", "c"], "label": [1, 0, 0]})
    >>> realised_performance(log, labels, metrics=["accuracy"])[["n", "n_labelled", "accuracy"]]
       n  n_labelled  accuracy
    0  2           2       1.0
    1  2           1       0.0
    """
    keys = [key] if isinstance(key, str) else list(key)
    for frame, need, what in (
        (log, [*keys, time_column, prediction_column], "decision log"),
        (labels, [*keys, label_column], "labels file"),
    ):
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise DataError.build(
                f"The {what} lacks columns {missing!r}",
                expected=f"columns {need!r}",
                got=list(frame.columns)[:12],
                fix="Join labels by request id or declare the key column with key=...",
            )
    has_score = score_column is not None and score_column in log.columns
    if metrics is None:
        if has_score or pd.api.types.is_bool_dtype(log[prediction_column]):
            metrics = CLASSIFICATION_METRICS
        else:
            metrics = REGRESSION_METRICS
    unknown = [m for m in metrics if m not in CLASSIFICATION_METRICS + REGRESSION_METRICS]
    if unknown:
        raise SpecError.build(
            "Unknown performance metrics were requested",
            expected=f"names among {list(CLASSIFICATION_METRICS + REGRESSION_METRICS)}",
            got=unknown,
            fix="Pick metrics from the list.",
        )
    dedup = labels[[*keys, label_column]].drop_duplicates(subset=keys, keep="last")
    dedup = dedup.rename(columns={label_column: "__label"})
    joined = log.merge(dedup, on=keys, how="left", validate="many_to_one")
    joined["__window"] = _window_key(joined[time_column], window)
    rows = []
    for start, part in joined.groupby("__window", sort=True):
        labelled = part[part["__label"].notna()]
        row: dict[str, Any] = {
            "window_start": start,
            "n": len(part),
            "n_labelled": len(labelled),
            "label_coverage": len(labelled) / len(part),
        }
        if len(labelled):
            if any(m in CLASSIFICATION_METRICS for m in metrics):
                cls_metrics = [m for m in metrics if m in CLASSIFICATION_METRICS]
                scores = labelled[score_column].to_numpy(dtype=float) if has_score else None
                row.update(
                    classification_metrics(
                        _as_binary(labelled["__label"], positive),
                        _as_binary(labelled[prediction_column], positive),
                        scores,
                        cls_metrics,
                    )
                )
            if any(m in REGRESSION_METRICS for m in metrics):
                err = labelled[prediction_column].to_numpy(dtype=float) - labelled[
                    "__label"
                ].to_numpy(dtype=float)
                if "mae" in metrics:
                    row["mae"] = float(np.mean(np.abs(err)))
                if "rmse" in metrics:
                    row["rmse"] = float(np.sqrt(np.mean(err**2)))
        else:
            row.update({m: float("nan") for m in metrics})
        rows.append(row)
    return pd.DataFrame(
        rows, columns=["window_start", "n", "n_labelled", "label_coverage", *metrics]
    )


class ScoreCalibrator:
    """Isotonic calibration of scores on labelled reference data, stored as plain numbers.

    CBPE needs calibrated probabilities; fit this on the held-out reference (scores and labels)
    and pass it to :func:`estimate_performance_over_time`. ``to_dict``/``from_dict`` keep it
    without pickle.

    Examples
    --------
    >>> import numpy as np
    >>> cal = ScoreCalibrator().fit(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    >>> cal.transform(np.array([0.15, 0.85])).tolist()
    [0.0, 1.0]
    """

    def fit(self, scores: np.ndarray, labels: np.ndarray) -> ScoreCalibrator:
        """Fit the isotonic map from score to observed positive rate. Returns ``self``."""
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(np.asarray(scores, dtype=float), np.asarray(labels, dtype=float))
        self.x_ = np.asarray(iso.X_thresholds_, dtype=float)
        self.y_ = np.asarray(iso.y_thresholds_, dtype=float)
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for ``scores``."""
        if not hasattr(self, "x_"):
            raise NotFittedError.build(
                "This ScoreCalibrator is not fitted yet", fix="Call fit(scores, labels)."
            )
        return np.interp(np.asarray(scores, dtype=float), self.x_, self.y_)

    __call__ = transform

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-able thresholds."""
        return {"x": self.x_.tolist(), "y": self.y_.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> ScoreCalibrator:
        """Rebuild from :meth:`to_dict`."""
        cal = cls()
        cal.x_ = np.asarray(data["x"], dtype=float)
        cal.y_ = np.asarray(data["y"], dtype=float)
        return cal


def estimate_performance_cbpe(
    scores: np.ndarray,
    threshold: float = 0.5,
    *,
    metrics: Sequence[str] = CLASSIFICATION_METRICS,
    calibrator: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, Any]:
    """Expected binary-classification metrics from calibrated probabilities (NannyML's CBPE).

    With ``p`` the calibrated probability of the positive class and ``ŷ = p_raw >= threshold``:
    expected TP = Σ p·[ŷ=1], FP = Σ (1−p)·[ŷ=1], FN = Σ p·[ŷ=0], TN = Σ (1−p)·[ŷ=0]; ROC AUC
    from the expected ROC curve (cumulative p and 1−p down the score ranking).

    Returns a dict of metric values plus ``n`` and ``valid_under`` (``"covariate shift only"``).
    """
    raw = np.asarray(scores, dtype=float)
    raw = raw[np.isfinite(raw)]
    p = np.clip(calibrator(raw) if calibrator is not None else raw, 0.0, 1.0)
    pred = raw >= threshold
    tp, fp = float(p[pred].sum()), float((1 - p[pred]).sum())
    fn, tn = float(p[~pred].sum()), float((1 - p[~pred]).sum())
    out: dict[str, Any] = _from_confusion(tp, fp, fn, tn, metrics)
    if "roc_auc" in metrics:
        out["roc_auc"] = _expected_auc(raw, p)
    out["n"] = int(raw.size)
    out["valid_under"] = VALID_UNDER
    return out


def _expected_auc(raw: np.ndarray, p: np.ndarray) -> float:
    if raw.size == 0:
        return float("nan")
    order = np.argsort(-raw, kind="stable")
    raw_s, p_s = raw[order], p[order]
    # group tied scores so they move the curve together
    last_of_group = np.r_[raw_s[1:] != raw_s[:-1], True]
    tps = np.cumsum(p_s)[last_of_group]
    fps = np.cumsum(1 - p_s)[last_of_group]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.trapezoid(tpr, fpr))


def estimate_performance_over_time(
    log: pd.DataFrame,
    *,
    window: str = "1D",
    time_column: str = "time",
    score_column: str = "score",
    threshold: float = 0.5,
    metrics: Sequence[str] = CLASSIFICATION_METRICS,
    calibrator: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """CBPE estimate per time window of the decision log (no labels needed).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"time": pd.to_datetime(["2025-01-01", "2025-01-01"], utc=True),
    ...                     "score": [0.9, 0.1]})
    >>> estimate_performance_over_time(log, metrics=["accuracy"])[["n", "accuracy", "valid_under"]]
       n  accuracy           valid_under
    0  2       0.9  covariate shift only
    """
    for col in (time_column, score_column):
        if col not in log.columns:
            raise DataError.build(
                f"Estimated performance needs the column {col!r} in the decision log",
                got=list(log.columns)[:12],
                fix="Log the model's probability of the positive class as 'score'.",
            )
    rows = []
    for start, part in log.groupby(_window_key(log[time_column], window), sort=True):
        est = estimate_performance_cbpe(
            part[score_column].to_numpy(dtype=float),
            threshold,
            metrics=metrics,
            calibrator=calibrator,
        )
        rows.append({"window_start": start, **est})
    return pd.DataFrame(rows, columns=["window_start", *metrics, "n", "valid_under"])


def reconcile_performance(
    estimated: pd.DataFrame,
    realised: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    tolerance: float = 0.05,
) -> pd.DataFrame:
    """Set estimated beside realised metrics per window once labels exist.

    ``gap_<metric>`` is realised minus estimated; ``estimate_held`` is False in a window where any
    gap exceeds ``tolerance`` (a sign of concept shift, which CBPE cannot see).

    Examples
    --------
    >>> import pandas as pd
    >>> w = pd.to_datetime(["2025-01-01"], utc=True)
    >>> est = pd.DataFrame({"window_start": w, "accuracy": [0.90]})
    >>> real = pd.DataFrame({"window_start": w, "accuracy": [0.80], "n_labelled": [50]})
    >>> reconcile_performance(est, real, metrics=["accuracy"])[["gap_accuracy", "estimate_held"]]
       gap_accuracy  estimate_held
    0          -0.1          False
    """
    if metrics is None:
        metrics = [
            m for m in CLASSIFICATION_METRICS if m in estimated.columns and m in realised.columns
        ]
    est = estimated[["window_start", *metrics]].rename(
        columns={m: f"estimated_{m}" for m in metrics}
    )
    real_cols = ["window_start", *metrics] + [
        c for c in ("n_labelled", "label_coverage") if c in realised.columns
    ]
    real = realised[real_cols].rename(columns={m: f"realised_{m}" for m in metrics})
    merged = est.merge(real, on="window_start", how="outer").sort_values("window_start")
    held = pd.Series(True, index=merged.index)
    for m in metrics:
        gap = merged[f"realised_{m}"] - merged[f"estimated_{m}"]
        merged[f"gap_{m}"] = gap.round(12)
        held &= ~(gap.abs() > tolerance)
    merged["estimate_held"] = held
    merged["valid_under"] = VALID_UNDER
    return merged.reset_index(drop=True)
