"""Serving-side pieces for unsupervised models: cluster assignment and anomaly reasons.

:class:`ClusterModel` wraps any scikit-learn clusterer so that a saved pipeline can assign new
rows: k-means and Gaussian mixtures keep their own ``predict``; agglomerative clustering and
HDBSCAN (which cannot predict) assign a new row to the nearest cluster centroid in the
preprocessed space. Clusters are renumbered 0, 1, … from the largest.

:func:`anomaly_reference` and :func:`anomaly_reasons` explain a flagged row: the features whose
values sit furthest from the training reference (robust z-scores for numbers, rarity for
categories). They use numpy and pandas only, so the serving process can call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ClusterModel", "anomaly_reasons", "anomaly_reference"]


class ClusterModel(ClusterMixin, TransformerMixin, BaseEstimator):
    """A clusterer that can assign new rows to the clusters it found.

    Parameters
    ----------
    estimator : scikit-learn clusterer, optional
        Fitted on a clone in :meth:`fit`; default ``KMeans(n_clusters=2, n_init=4)``.
    assign : {"auto", "native", "centroid"}, default "auto"
        How :meth:`predict` assigns rows: ``native`` uses the estimator's ``predict``;
        ``centroid`` the nearest cluster mean; ``auto`` native when the estimator has it.

    Attributes
    ----------
    labels_ : ndarray of int
        Cluster of each training row, 0 the largest; ``-1`` for noise (HDBSCAN).
    centroids_ : ndarray of shape (n_clusters, n_features)
        Mean of each cluster's rows.
    n_clusters_ : int
    sizes_ : ndarray of int
        Rows per cluster.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0]])
    >>> from sklearn.cluster import AgglomerativeClustering
    >>> m = ClusterModel(AgglomerativeClustering(n_clusters=2)).fit(X)
    >>> m.labels_.tolist(), m.predict([[4.9, 5.2]]).tolist()
    ([0, 0, 0, 1, 1], [1])
    """

    def __init__(self, estimator: Any = None, assign: str = "auto") -> None:
        self.estimator = estimator
        self.assign = assign

    def fit(self, X: Any, y: Any = None) -> ClusterModel:
        X = validate_data(self, X, dtype=np.float64)
        if self.estimator is None:
            from sklearn.cluster import KMeans

            est = KMeans(n_clusters=2, n_init=4, random_state=0)
        else:
            est = clone(self.estimator)
        raw = np.asarray(est.fit_predict(X), dtype=np.int64)
        found, counts = np.unique(raw[raw >= 0], return_counts=True)
        if len(found) == 0:
            raise ValueError("the clusterer found no clusters (every row is noise)")
        order = found[np.lexsort((found, -counts))]  # largest first, ties by raw id
        mapping = np.full(int(raw.max()) + 2, -1, dtype=np.int64)  # last slot: noise (-1)
        mapping[order] = np.arange(len(order))
        self.labels_ = np.where(raw >= 0, mapping[raw], -1)
        self.n_clusters_ = len(order)
        self.centroids_ = np.vstack([X[self.labels_ == k].mean(axis=0) for k in range(len(order))])
        self.sizes_ = np.bincount(self.labels_[self.labels_ >= 0], minlength=len(order))
        native = self.assign == "native" or (self.assign == "auto" and hasattr(est, "predict"))
        if self.assign not in ("auto", "native", "centroid"):
            raise ValueError(f"assign must be 'auto', 'native' or 'centroid'; got {self.assign!r}")
        # keep the fitted estimator only when it predicts: a fitted HDBSCAN or agglomerative
        # model holds the whole training set and cannot assign new rows anyway
        self.estimator_ = est if native else None
        self.mapping_ = mapping
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The cluster of each row (0 the largest training cluster)."""
        check_is_fitted(self, "centroids_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if self.estimator_ is not None:
            raw = np.asarray(self.estimator_.predict(X), dtype=np.int64)
            out = self.mapping_[np.clip(raw, -1, len(self.mapping_) - 2)]
            if (out >= 0).all():
                return out
            near = self._nearest(X)
            return np.where(out >= 0, out, near)
        return self._nearest(X)

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance from each row to each cluster centroid."""
        check_is_fitted(self, "centroids_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.sqrt(((X[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2))

    def _nearest(self, X: np.ndarray) -> np.ndarray:
        d = ((X[:, None, :] - self.centroids_[None, :, :]) ** 2).sum(axis=2)
        return np.argmin(d, axis=1).astype(np.int64)


def anomaly_reference(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> dict[str, Any]:
    """What a typical training row looks like, as JSON: robust centre and scale per number,
    category shares per categorical column.

    Examples
    --------
    >>> ref = anomaly_reference(pd.DataFrame({"x": [1.0, 2, 3, 4, 100]}), ["x"], [])
    >>> ref["numeric"]["x"]["median"]
    3.0
    """
    num: dict[str, dict[str, float]] = {}
    for col in numeric:
        s = pd.to_numeric(frame[col], errors="coerce").dropna().to_numpy(dtype=float)
        if s.size == 0:
            continue
        med = float(np.median(s))
        scale = 1.4826 * float(np.median(np.abs(s - med)))
        if not scale > 0:
            q1, q3 = np.percentile(s, [25, 75])
            scale = float(q3 - q1) / 1.349
        if not scale > 0:
            scale = float(s.std()) or 1.0
        num[str(col)] = {"median": med, "scale": scale}
    cat: dict[str, dict[str, float]] = {}
    for col in categorical:
        shares = frame[col].astype("string").fillna("(missing)").value_counts(normalize=True)
        cat[str(col)] = {str(k): round(float(v), 6) for k, v in shares.head(200).items()}
    return {"numeric": num, "categorical": cat}


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def anomaly_reasons(
    frame: pd.DataFrame,
    reference: Mapping[str, Any],
    *,
    max_reasons: int = 3,
    min_z: float = 2.0,
    rare_share: float = 0.01,
) -> list[str]:
    """Per row, the features furthest from the training reference, in words (``; ``-joined).

    A number scores its robust z-score ``|x - median| / scale``; a category seen in fewer than
    ``rare_share`` of training rows scores 3 (4 when never seen). Features scoring at least
    ``min_z`` are named, most unusual first; a row with none gets its single most unusual one.

    Examples
    --------
    >>> ref = {"numeric": {"age": {"median": 40.0, "scale": 10.0}}, "categorical": {}}
    >>> anomaly_reasons(pd.DataFrame({"age": [95.0, 42.0]}), ref)
    ['age is high (95 vs typical 40; 5.5 robust SDs)', 'age is typical (42 vs typical 40; 0.2 robust SDs)']
    """
    num = reference.get("numeric", {})
    cat = reference.get("categorical", {})
    n = len(frame)
    scores: list[np.ndarray] = []
    texts: list[list[str]] = []
    for col, st in num.items():
        if col not in frame.columns:
            continue
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        z = (x - st["median"]) / st["scale"]
        az = np.nan_to_num(np.abs(z), nan=0.0)
        scores.append(az)
        words = []
        for xi, zi in zip(x, z, strict=True):
            if xi != xi:
                words.append(f"{col} is missing")
                continue
            side = "typical" if abs(zi) < min_z else ("high" if zi > 0 else "low")
            words.append(
                f"{col} is {side} ({_fmt(xi)} vs typical {_fmt(st['median'])}; "
                f"{abs(zi):.1f} robust SDs)"
            )
        texts.append(words)
    for col, shares in cat.items():
        if col not in frame.columns:
            continue
        vals = frame[col].astype("string").fillna("(missing)").tolist()
        sc = np.array(
            [4.0 if v not in shares else (3.0 if shares[v] < rare_share else 0.0) for v in vals]
        )
        scores.append(sc)
        texts.append(
            [
                f"{col} is {v!r}, "
                + (
                    "never seen in training"
                    if v not in shares
                    else f"seen in {shares[v]:.1%} of training rows"
                )
                for v in vals
            ]
        )
    if not scores:
        return [""] * n
    S = np.vstack(scores)  # features x rows
    out = []
    for i in range(n):
        order = np.argsort(-S[:, i], kind="stable")
        picked = [j for j in order[:max_reasons] if S[j, i] >= min_z] or [int(order[0])]
        out.append("; ".join(texts[j][i] for j in picked))
    return out
