"""Anomaly detection: isolation forest and local outlier factor over the shared preprocessing.

Each candidate is scored out of fold: the rows are split into ``folds`` parts, the detector is
fitted on the others and scores the held-out part, so no row is scored by a model that saw it.
When known anomalies are given (``labels``: 1 / true / the minority value), candidates are
compared by ROC AUC of those scores; otherwise by stability, the Spearman correlation between
the out-of-fold scores and the scores of a model fitted on all rows. The winner is refitted on
all rows; a row is flagged when its anomaly score (``-score_samples``, higher is stranger) is
above the detector's threshold, set by ``contamination``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from civicml._errors import DataError, TrainingError
from civicml.components import anomaly_reasons, anomaly_reference
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._preprocess import FeatureRoles, build_preprocessor

__all__ = ["anomaly_candidates", "anomaly_labels", "detect_anomalies"]

_SIMPLICITY = {"isolation_forest": 1, "local_outlier_factor": 2}


def anomaly_candidates(
    families: Sequence[str], contamination: float | str, seed: int = 0
) -> list[tuple[str, str, dict[str, Any], Any]]:
    """``(name, family, params, estimator)`` per candidate detector.

    Examples
    --------
    >>> [c[0] for c in anomaly_candidates(["isolation_forest", "local_outlier_factor"], "auto")]
    ['isolation_forest', 'lof_k20', 'lof_k50']
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor

    out: list[tuple[str, str, dict[str, Any], Any]] = []
    for fam in families:
        if fam == "isolation_forest":
            est = IsolationForest(n_estimators=200, contamination=contamination, random_state=seed)
            out.append(("isolation_forest", fam, {"n_estimators": 200}, est))
        elif fam == "local_outlier_factor":
            for k in (20, 50):
                lof = LocalOutlierFactor(n_neighbors=k, novelty=True, contamination=contamination)
                out.append((f"lof_k{k}", fam, {"n_neighbors": k}, lof))
        else:
            raise TrainingError.build(
                "Unknown anomaly family",
                expected="isolation_forest or local_outlier_factor",
                got=fam,
                fix="Correct anomaly.families in civicml.yaml",
            )
    return out


def anomaly_labels(y: pd.Series) -> np.ndarray:
    """Known anomalies as 0/1: booleans, 0/1 numbers, or two values of which the rarer is 1.

    Examples
    --------
    >>> anomaly_labels(pd.Series(["ok", "fraud", "ok", "ok"])).tolist()
    [0, 1, 0, 0]
    """
    vals = y.dropna()
    uniq = pd.unique(vals)
    if len(uniq) != 2:
        raise DataError.build(
            f"The label column {y.name!r} of known anomalies must hold two values",
            expected="two values, e.g. 0/1 or normal/anomaly",
            got=[str(u) for u in uniq[:5]],
            fix="Recode the column, or remove 'target' (it is optional for task: anomaly)",
        )
    s = set(map(str, uniq))
    if s in ({"0", "1"}, {"False", "True"}, {"0.0", "1.0"}):
        return y.astype(float).fillna(0).astype(int).to_numpy()
    rare = vals.value_counts().index[-1]
    return (y == rare).fillna(False).astype(int).to_numpy()


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = pd.Series(a).rank().to_numpy(), pd.Series(b).rank().to_numpy()
    c = np.corrcoef(ra, rb)[0, 1]
    return float(c) if c == c else 0.0


def detect_anomalies(
    X: pd.DataFrame,
    *,
    roles: FeatureRoles,
    families: Sequence[str] = ("isolation_forest", "local_outlier_factor"),
    contamination: float | str = "auto",
    labels: pd.Series | None = None,
    folds: int = 3,
    max_reasons: int = 3,
    seed: int = 0,
    on_event: Callable[..., None] | None = None,
) -> Any:
    """Compare anomaly detectors out of fold, choose one, refit it on every row.

    Parameters
    ----------
    X : DataFrame
    roles : FeatureRoles
    families : sequence of str
        ``isolation_forest`` and/or ``local_outlier_factor`` (novelty mode).
    contamination : float or "auto"
        Expected share of anomalies; sets the threshold.
    labels : Series, optional
        Known anomalies, used only to score (ROC AUC, average precision) and choose.
    folds : int
    max_reasons : int
        Features named in each row's reasons.
    seed : int
    on_event : callable, optional

    Returns
    -------
    TrainResult
        ``task="anomaly"``, ``metric`` ``roc_auc`` (with labels) or ``stability``;
        ``pipeline`` the fitted preprocessing + detector; ``extra`` holds ``threshold``,
        ``scores`` (out of fold), ``anomaly_rate``, ``reference`` and ``examples`` (the most
        anomalous rows with their reasons).

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> X = load_wine(as_frame=True).data
    >>> r = detect_anomalies(X, roles=FeatureRoles(numeric=list(X.columns)),
    ...                      families=["isolation_forest"], contamination=0.05)
    >>> r.best, round(r.extra["anomaly_rate"], 2)
    ('isolation_forest', 0.05)
    """
    from civicml.learn._train import TrainResult

    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
    n = len(X)
    if n < 30:
        raise TrainingError.build(
            "Too few rows for anomaly detection", expected="at least 30 rows", got=n
        )
    y = anomaly_labels(labels) if labels is not None else None
    if y is not None and y.sum() == 0:
        y = None
    pre = build_preprocessor(roles, "scaled")
    frame = X[roles.features]
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(frame))
    entries: list[Entry] = []
    oof_by: dict[str, np.ndarray] = {}
    cands = anomaly_candidates(families, contamination, seed)
    for name, fam, params, est in cands:
        emit("candidate_start", name=name)
        t0 = time.perf_counter()
        oof = np.zeros(n)
        with threadpool_limits(limits=1):
            for tr, te in splits:
                p = Pipeline([("pre", clone(pre)), ("model", clone(est))]).fit(frame.iloc[tr])
                oof[te] = -p.score_samples(frame.iloc[te])
            fit_s = (time.perf_counter() - t0) / folds
            full = Pipeline([("pre", clone(pre)), ("model", clone(est))]).fit(frame)
            t1 = time.perf_counter()
            full_scores = -full.score_samples(frame)
            us = (time.perf_counter() - t1) / n * 1e6
        m: dict[str, float] = {"stability": _spearman(oof, full_scores)}
        m["anomaly_rate"] = float((full_scores > -full[-1].offset_).mean())
        if y is not None:
            m["roc_auc"] = float(roc_auc_score(y, oof))
            m["average_precision"] = float(average_precision_score(y, oof))
        oof_by[name] = oof
        entries.append(
            Entry(name, fam, params, m, {}, round(fit_s, 4), round(us, 2), _SIMPLICITY[fam])
        )
        emit("candidate_done", name=name, status="ok")
    metric = "roc_auc" if y is not None else "stability"
    board = Leaderboard(metric=metric, greater_is_better=True, entries=entries)
    best = board.best
    assert best is not None
    board.selected = best.name
    est = next(c[3] for c in cands if c[0] == best.name)
    with threadpool_limits(limits=1):
        pipeline = Pipeline([("pre", pre), ("model", clone(est))]).fit(frame)
        scores = -pipeline.score_samples(frame)
    threshold = float(-pipeline[-1].offset_)
    flagged = scores > threshold
    reference = anomaly_reference(frame, roles.numeric, roles.categorical)
    top = np.argsort(-scores)[:10]
    reasons = anomaly_reasons(frame.iloc[top], reference, max_reasons=max_reasons)
    examples = [
        {"row": int(i) + 1, "anomaly_score": float(scores[i]), "reasons": r}
        for i, r in zip(top, reasons, strict=True)
    ]
    test_metrics = {k: v for k, v in best.cv_mean.items()}
    test_metrics["anomaly_rate"] = float(flagged.mean())
    return TrainResult(
        task="anomaly",
        target=str(labels.name) if labels is not None else "",
        metric=metric,
        classes=[0, 1],
        roles=roles,
        leaderboard=board,
        best=best.name,
        pipeline=pipeline,
        test_metrics=test_metrics,
        threshold=None,
        n_train=n,
        n_test=0,
        seconds=time.monotonic() - started,
        extra={
            "threshold": threshold,
            "contamination": contamination,
            "anomaly_rate": float(flagged.mean()),
            "scores": oof_by[best.name].tolist(),
            "reference": reference,
            "examples": examples,
            "max_reasons": max_reasons,
            "n_known_anomalies": int(y.sum()) if y is not None else None,
            "family": best.family,
        },
    )
