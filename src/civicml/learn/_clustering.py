"""Clustering: candidates × k compared by internal indices and stability; plain-English profiles.

Every candidate shares the ``"scaled"`` preprocessing (impute, standardise, one-hot). Each is
scored on the same seeded sample of rows by four measures:

* silhouette (−1..1, higher is better): how much closer rows are to their own cluster;
* Davies–Bouldin (≥ 0, lower is better): average similarity of each cluster to its nearest;
* Calinski–Harabasz (≥ 0, higher is better): between- to within-cluster dispersion;
* stability (−1..1, higher is better): mean adjusted Rand index between the candidate's
  clusters and those of refits on ``stability_resamples`` random 80% subsamples (each refit
  assigns every sampled row through :class:`~civicml.components.ClusterModel`).

Rank aggregation: on each measure the candidates are ranked (1 best, ties share the mean
rank); a candidate's ``mean_rank`` is the average of its four ranks, and the lowest wins
(ties: fewer clusters, then the simpler family). The winner is refitted on every row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from civicml._errors import TrainingError
from civicml.components import ClusterModel
from civicml.learn._leaderboard import Entry, Leaderboard
from civicml.learn._preprocess import FeatureRoles, build_preprocessor

__all__ = [
    "CLUSTER_MEASURES",
    "cluster",
    "cluster_candidates",
    "cluster_scores",
    "profile_clusters",
    "validate_clusters",
]

#: measure -> greater is better
CLUSTER_MEASURES: dict[str, bool] = {
    "silhouette": True,
    "davies_bouldin": False,
    "calinski_harabasz": True,
    "stability": True,
}
_SIMPLICITY = {"kmeans": 1, "gaussian_mixture": 2, "agglomerative": 2, "hdbscan": 3}
MAX_AGGLOMERATIVE_ROWS = 10_000


def _preprocessor(roles: FeatureRoles) -> Any:
    """The ``"scaled"`` preprocessing without missing-value indicator columns: standardised,
    an indicator of a rare gap sits many SDs out and would pull its few rows into a cluster
    of their own."""
    pre = build_preprocessor(roles, "scaled")
    if roles.numeric:
        pre.set_params(num__simpleimputer__add_indicator=False)
    return pre


def cluster_candidates(
    families: Sequence[str], k_range: tuple[int, int], n_rows: int, seed: int = 0
) -> list[tuple[str, str, dict[str, Any], Any]]:
    """``(name, family, params, estimator)`` for every family × k (HDBSCAN: × min cluster size).

    Examples
    --------
    >>> [c[0] for c in cluster_candidates(["kmeans", "hdbscan"], (2, 3), 300)]
    ['kmeans_k2', 'kmeans_k3', 'hdbscan_m5', 'hdbscan_m15', 'hdbscan_m30']
    """
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    out: list[tuple[str, str, dict[str, Any], Any]] = []
    ks = range(k_range[0], k_range[1] + 1)
    est: Any
    for fam in families:
        if fam == "hdbscan":
            sizes = sorted({max(5, n_rows // d) for d in (60, 20, 10)})
            for m in sizes:
                est = HDBSCAN(min_cluster_size=m, copy=True)
                out.append((f"hdbscan_m{m}", fam, {"min_cluster_size": m}, est))
            continue
        for k in ks:
            if fam == "kmeans":
                est = KMeans(n_clusters=k, n_init=4, random_state=seed)
            elif fam == "gaussian_mixture":
                est = GaussianMixture(
                    n_components=k, covariance_type="full", n_init=1, random_state=seed
                )
            elif fam == "agglomerative":
                est = AgglomerativeClustering(n_clusters=k, linkage="ward")
            else:
                raise TrainingError.build(
                    "Unknown clustering family",
                    expected="kmeans, gaussian_mixture, agglomerative or hdbscan",
                    got=fam,
                    fix="Correct clustering.families in civicml.yaml",
                )
            out.append((f"{fam}_k{k}", fam, {"n_clusters": k}, est))
    return out


def cluster_scores(Xt: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """Silhouette, Davies–Bouldin and Calinski–Harabasz on the clustered (non-noise) rows,
    plus the noise share and the number of clusters.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> s = cluster_scores(X, np.array([0, 0, 0, 1, 1, 1]))
    >>> round(s["silhouette"], 2), s["n_clusters"]
    (0.97, 2.0)
    """
    keep = labels >= 0
    k = len(np.unique(labels[keep]))
    out = {"n_clusters": float(k), "noise_share": float(1 - keep.mean())}
    if k < 2 or k >= keep.sum():
        return {**out, "silhouette": np.nan, "davies_bouldin": np.nan, "calinski_harabasz": np.nan}
    X, y = Xt[keep], labels[keep]
    out["silhouette"] = float(
        silhouette_score(X, y, sample_size=min(len(y), 2000), random_state=seed)
    )
    out["davies_bouldin"] = float(davies_bouldin_score(X, y))
    out["calinski_harabasz"] = float(calinski_harabasz_score(X, y))
    return out


def validate_clusters(labels_true: Any, labels_pred: Any) -> dict[str, float]:
    """Agreement with known labels: adjusted Rand index and normalised mutual information.

    Examples
    --------
    >>> validate_clusters(["a", "a", "b", "b"], [1, 1, 0, 0])
    {'ari': 1.0, 'nmi': 1.0}
    """
    t = pd.Series(labels_true).astype("string").fillna("(missing)").to_numpy()
    p = np.asarray(labels_pred)
    return {
        "ari": float(adjusted_rand_score(t, p)),
        "nmi": float(normalized_mutual_info_score(t, p)),
    }


def _stability(
    est: Any, Xs: np.ndarray, labels: np.ndarray, resamples: int, rng: np.random.Generator
) -> float:
    if resamples <= 0:
        return np.nan
    aris = []
    n = len(Xs)
    for _ in range(resamples):
        idx = rng.choice(n, size=max(2, int(0.8 * n)), replace=False)
        try:
            m = ClusterModel(est).fit(Xs[idx])
        except ValueError:
            aris.append(0.0)
            continue
        aris.append(adjusted_rand_score(labels, m.predict(Xs)))
    return float(np.mean(aris))


def _ranks(entries: list[Entry]) -> None:
    for measure, greater in CLUSTER_MEASURES.items():
        vals = pd.Series([e.cv_mean.get(measure, np.nan) for e in entries], dtype=float)
        if vals.isna().all():
            continue
        r = (-vals if greater else vals).rank(method="average", na_option="bottom")
        for e, ri in zip(entries, r, strict=True):
            e.extra.setdefault("ranks", {})[measure] = float(ri)
    for e in entries:
        ranks = e.extra.get("ranks", {})
        e.cv_mean["mean_rank"] = float(np.mean(list(ranks.values()))) if ranks else np.nan


def cluster(
    X: pd.DataFrame,
    *,
    roles: FeatureRoles,
    families: Sequence[str] = ("kmeans", "gaussian_mixture", "agglomerative", "hdbscan"),
    min_clusters: int = 2,
    max_clusters: int = 8,
    stability_resamples: int = 3,
    max_search_rows: int = 3000,
    seed: int = 0,
    labels: pd.Series | None = None,
    on_event: Callable[..., None] | None = None,
) -> Any:
    """Compare clustering candidates, choose one by rank aggregation, refit and profile it.

    Parameters
    ----------
    X : DataFrame
        The feature table (columns named in ``roles``).
    roles : FeatureRoles
    families : sequence of str
        Any of ``kmeans``, ``gaussian_mixture``, ``agglomerative``, ``hdbscan``.
    min_clusters, max_clusters : int
        The range of k (HDBSCAN tries three minimum cluster sizes instead).
    stability_resamples : int
        Refits on 80% subsamples per candidate (0: no stability measure).
    max_search_rows : int
        Candidates are compared on a seeded sample of at most this many rows.
    seed : int
    labels : Series, optional
        Known groups, used only to report ARI/NMI (never to fit or choose).
    on_event : callable, optional
        Receives ``candidate_start`` / ``candidate_done`` events.

    Returns
    -------
    TrainResult
        ``task="clustering"``, ``metric="mean_rank"``, ``pipeline`` the fitted preprocessing +
        :class:`ClusterModel`, ``test_metrics`` the winner's measures on all rows (and ARI/NMI
        when ``labels`` are given); ``extra`` holds ``labels`` (per row), ``profiles`` and the
        ``validation`` of every candidate against ``labels``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X = load_iris(as_frame=True).data
    >>> r = cluster(X, roles=FeatureRoles(numeric=list(X.columns)), families=["kmeans"],
    ...             max_clusters=4, stability_resamples=1)
    >>> r.best, r.extra["profiles"][0]["size"]
    ('kmeans_k2', 100)
    """
    from civicml.learn._train import TrainResult

    emit = on_event or (lambda *a, **k: None)
    started = time.monotonic()
    n = len(X)
    if n < max(10, 2 * min_clusters):
        raise TrainingError.build(
            "Too few rows to cluster",
            expected=f"at least {max(10, 2 * min_clusters)} rows",
            got=n,
            fix="Add data or lower clustering.min_clusters",
        )
    hi = min(max_clusters, n // 5)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, max_search_rows), replace=False))
    pre = _preprocessor(roles)
    with threadpool_limits(limits=1):
        Xt_all = np.asarray(pre.fit_transform(X[roles.features]), dtype=np.float64)
    Xs = Xt_all[sample]
    candidates = cluster_candidates(families, (min_clusters, max(min_clusters, hi)), len(Xs), seed)
    entries: list[Entry] = []
    validation: dict[str, dict[str, float]] = {}
    search = _Search(Xs, None if labels is None else labels.iloc[sample], stability_resamples, rng)
    for name, fam, params, est in candidates:
        emit("candidate_start", name=name)
        entry, agreement = _score_candidate(name, fam, params, est, search, seed)
        entries.append(entry)
        if agreement is not None:
            validation[name] = agreement
        emit("candidate_done", name=name, status=entry.status)
    board = _board(entries, len(Xs))
    best = board.best
    assert best is not None
    est = next(c[3] for c in candidates if c[0] == best.name)
    final, assigned = _refit_best(est, best.family, Xt_all, rng)
    metrics = cluster_scores(Xt_all, final.predict(Xt_all), seed=seed)
    metrics["noise_share"] = float((assigned < 0).mean())
    metrics["stability"] = best.cv_mean.get("stability", np.nan)
    if labels is not None:
        metrics.update(validate_clusters(labels, assigned))
    profiles = profile_clusters(X, assigned, roles)
    return TrainResult(
        task="clustering",
        target=str(labels.name) if labels is not None else "",
        metric="mean_rank",
        classes=list(range(final.n_clusters_)),
        roles=roles,
        leaderboard=board,
        best=best.name,
        pipeline=Pipeline([("pre", pre), ("model", final)]),
        test_metrics=metrics,
        threshold=None,
        n_train=n,
        n_test=0,
        seconds=time.monotonic() - started,
        extra={
            "labels": assigned.tolist(),
            "profiles": profiles,
            "validation": validation,
            "family": best.family,
            "params": best.params,
        },
    )


@dataclass(frozen=True)
class _Search:
    """What every candidate is scored on: the sampled rows (preprocessed), their known labels
    (or None), the stability refits per candidate and the shared random generator."""

    Xs: np.ndarray
    labels: pd.Series | None
    resamples: int
    rng: np.random.Generator


def _score_candidate(
    name: str, fam: str, params: dict[str, Any], est: Any, search: _Search, seed: int
) -> tuple[Entry, dict[str, float] | None]:
    """Fit one candidate on the sample and measure it; also its agreement with known labels."""
    Xs = search.Xs
    agreement = None
    t0 = time.perf_counter()
    try:
        with threadpool_limits(limits=1):
            model = ClusterModel(est).fit(Xs)
            fit_s = time.perf_counter() - t0
            # scored as served: noise rows (HDBSCAN) go to their nearest cluster
            scores = cluster_scores(Xs, model.predict(Xs), seed=seed)
            scores["noise_share"] = float((model.labels_ < 0).mean())
            scores["stability"] = _stability(est, Xs, model.labels_, search.resamples, search.rng)
            t1 = time.perf_counter()
            model.predict(Xs[:200])
            us = (time.perf_counter() - t1) / min(200, len(Xs)) * 1e6
        status, error = ("ok", None) if scores["n_clusters"] >= 2 else ("failed", "k < 2")
        if search.labels is not None:
            agreement = validate_clusters(search.labels, model.labels_)
    except (ValueError, np.linalg.LinAlgError) as exc:
        scores, fit_s, us, status, error = {}, time.perf_counter() - t0, 0.0, "failed", str(exc)
    entry = Entry(
        name=name,
        family=fam,
        params=params,
        cv_mean=scores,
        cv_std={},
        fit_seconds=round(fit_s, 4),
        predict_us_per_row=round(us, 2),
        simplicity=_SIMPLICITY.get(fam, 4),
        status=status,
        error=error,
    )
    return entry, agreement


def _board(entries: list[Entry], n_search_rows: int) -> Leaderboard:
    """Rank the working candidates and select the best (lowest mean rank)."""
    ok = [e for e in entries if e.status == "ok"]
    if not ok:
        raise TrainingError.build(
            "No clustering candidate found two or more clusters",
            got=[e.error for e in entries][:3],
            fix="Widen clustering.min_clusters..max_clusters or add families",
        )
    _ranks(ok)
    for e in ok:  # ties on mean rank: fewer clusters first
        e.simplicity = _SIMPLICITY.get(e.family, 4) * 100 + int(e.cv_mean["n_clusters"])
    board = Leaderboard(
        metric="mean_rank",
        greater_is_better=False,
        entries=entries,
        extra={"measures": CLUSTER_MEASURES, "search_rows": int(n_search_rows)},
    )
    best = board.best
    assert best is not None
    board.selected = best.name
    return board


def _refit_best(
    est: Any, family: str, Xt_all: np.ndarray, rng: np.random.Generator
) -> tuple[ClusterModel, np.ndarray]:
    """The winner refitted on every row (a sample for the quadratic families) and each row's
    cluster (-1 for noise when it was fitted on every row)."""
    n = len(Xt_all)
    fit_rows = np.arange(n)
    if family in ("agglomerative", "hdbscan") and n > MAX_AGGLOMERATIVE_ROWS:
        fit_rows = np.sort(rng.choice(n, size=MAX_AGGLOMERATIVE_ROWS, replace=False))
    with threadpool_limits(limits=1):
        final = ClusterModel(est).fit(Xt_all[fit_rows])
        assigned = final.predict(Xt_all)
    if len(fit_rows) == n:
        assigned = np.where(final.labels_ >= 0, final.labels_, -1)
    return final, assigned


_WORDS = {"age": ("older", "younger")}


def _num_phrase(col: str, m: float, overall: float, sd: float) -> tuple[float, str] | None:
    d = (m - overall) / sd if sd > 0 else 0.0
    if abs(d) < 0.5:
        return None
    up, down = _WORDS.get(col.lower(), (f"higher {col}", f"lower {col}"))
    word = up if d > 0 else down
    r = m / overall if overall > 0 and m > 0 and col.lower() not in _WORDS else 1.0
    if 1.8 <= r < 2.5:
        word = f"twice the average {col}"
    elif r >= 2.5:
        word = f"{r:.0f} times the average {col}"
    elif 0.4 <= r <= 0.6:
        word = f"half the average {col}"
    return abs(d), f"{word} (mean {_f(m)} vs {_f(overall)})"


def _f(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def profile_clusters(
    X: pd.DataFrame, labels: np.ndarray, roles: FeatureRoles, *, max_terms: int = 3
) -> list[dict[str, Any]]:
    """Describe each cluster against everyone: its size and the features that set it apart.

    Numbers: the cluster mean vs the overall mean, named when at least half an SD apart
    ("older (mean 58 vs 41)", "twice the average tenure (mean 8.1 vs 4.0)"). Categories: the
    cluster's most common value when its share beats the overall share by 15 points ("mostly
    sex = female: 80% vs 51%"). The ``max_terms`` strongest go in the one-line ``summary``.

    Examples
    --------
    >>> X = pd.DataFrame({"age": [20, 22, 24, 60, 62, 64], "area": list("uuurrr")})
    >>> p = profile_clusters(X, np.array([0, 0, 0, 1, 1, 1]),
    ...                      FeatureRoles(numeric=["age"], categorical=["area"]))
    >>> p[0]["summary"]
    'Cluster 0 (3 rows, 50%): mostly area = u: 100% vs 50%, younger (mean 22 vs 42)'
    """
    out = []
    labels = np.asarray(labels)
    n = len(labels)
    for k in sorted(int(v) for v in np.unique(labels) if v >= 0):
        mask = labels == k
        terms: list[tuple[float, str]] = []
        numeric = []
        for col in roles.numeric:
            s = pd.to_numeric(X[col], errors="coerce")
            m, o, sd = float(s[mask].mean()), float(s.mean()), float(s.std())
            if m != m or o != o:
                continue
            numeric.append({"feature": col, "mean": m, "overall_mean": o, "overall_sd": sd})
            t = _num_phrase(str(col), m, o, sd)
            if t:
                terms.append(t)
        categorical = []
        for col in roles.categorical:
            s = X[col].astype("string").fillna("(missing)")
            inside = s[mask].value_counts(normalize=True)
            if inside.empty:
                continue
            top, share = str(inside.index[0]), float(inside.iloc[0])
            overall = float((s == top).mean())
            categorical.append(
                {"feature": col, "value": top, "share": share, "overall_share": overall}
            )
            if share - overall >= 0.15:
                terms.append(
                    ((share - overall) * 4, f"mostly {col} = {top}: {share:.0%} vs {overall:.0%}")
                )
        terms.sort(key=lambda t: -t[0])
        size = int(mask.sum())
        words = (
            ", ".join(t[1] for t in terms[:max_terms]) or "close to the average on every feature"
        )
        out.append(
            {
                "cluster": k,
                "name": f"Cluster {k}",
                "size": size,
                "share": size / n if n else 0.0,
                "summary": f"Cluster {k} ({size:,} rows, {size / n:.0%}): {words}",
                "numeric": numeric,
                "categorical": categorical,
            }
        )
    noise = int((labels < 0).sum())
    if noise:
        out.append(
            {
                "cluster": -1,
                "name": "Noise",
                "size": noise,
                "share": noise / n,
                "summary": f"Noise ({noise:,} rows, {noise / n:.0%}): rows in no dense cluster; "
                "served rows are assigned to the nearest cluster",
                "numeric": [],
                "categorical": [],
            }
        )
    return out
