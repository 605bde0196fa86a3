"""Clustering on real labelled data (iris, wine, digits, penguins): ARI/NMI, profiles, model."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from civicml.components._clusters import ClusterModel
from civicml.learn._clustering import cluster, profile_clusters, validate_clusters
from civicml.learn._preprocess import FeatureRoles

pytestmark = pytest.mark.filterwarnings("ignore")


def _numeric(loader, rows=None):
    d = loader(as_frame=True)
    X, y = d.data, d.target
    if rows is not None:
        idx = np.random.default_rng(0).choice(len(X), size=rows, replace=False)
        X, y = X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)
    return X, y, FeatureRoles(numeric=list(X.columns))


def test_wine_recovers_cultivars() -> None:
    from sklearn.datasets import load_wine

    X, y, roles = _numeric(load_wine)
    r = cluster(X, roles=roles, labels=y, max_clusters=6, stability_resamples=2)
    assert r.task == "clustering" and r.metric == "mean_rank"
    assert r.test_metrics["n_clusters"] == 3
    assert r.test_metrics["ari"] > 0.8 and r.test_metrics["nmi"] > 0.8
    assert r.leaderboard.best.name == r.best
    assert {"silhouette", "davies_bouldin", "calinski_harabasz", "stability", "mean_rank"} <= set(
        r.leaderboard.best.cv_mean
    )
    # every family was compared, and the chosen one ranks first
    assert {e.family for e in r.leaderboard.entries} == {
        "kmeans",
        "gaussian_mixture",
        "agglomerative",
        "hdbscan",
    }


def test_iris_clusters_agree_with_species() -> None:
    from sklearn.datasets import load_iris

    X, y, roles = _numeric(load_iris)
    r = cluster(X, roles=roles, labels=y, max_clusters=5, stability_resamples=2)
    # internal indices prefer 2 clusters on iris (versicolor and virginica overlap): ARI ~0.55
    assert r.test_metrics["ari"] > 0.5 and r.test_metrics["nmi"] > 0.6
    # at k = 3 a candidate recovers the species
    assert max(v["ari"] for k, v in r.extra["validation"].items() if k.endswith("_k3")) > 0.85


def test_digits_sample() -> None:
    from sklearn.datasets import load_digits

    X, y, roles = _numeric(load_digits, rows=500)
    r = cluster(
        X,
        roles=roles,
        labels=y,
        families=["kmeans", "agglomerative"],
        min_clusters=8,
        max_clusters=11,
        stability_resamples=1,
    )
    assert r.test_metrics["nmi"] > 0.6
    assert max(v["ari"] for v in r.extra["validation"].values()) > 0.5


def test_penguins_with_categories() -> None:
    palmerpenguins = pytest.importorskip("palmerpenguins")
    df = palmerpenguins.load_penguins()
    feats = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    roles = FeatureRoles(numeric=feats[1:], categorical=["island"])
    r = cluster(df[feats], roles=roles, labels=df["species"], max_clusters=5, stability_resamples=1)
    assert r.test_metrics["ari"] > 0.6
    assert max(v["ari"] for v in r.extra["validation"].values()) > 0.9
    summaries = [p["summary"] for p in r.extra["profiles"]]
    assert any("island = Biscoe" in s for s in summaries), summaries
    # the served pipeline assigns raw rows (missing values included)
    assert r.pipeline.predict(df[feats].head(5)).tolist() == r.extra["labels"][:5]


def test_profiles_in_words() -> None:
    X = pd.DataFrame(
        {"age": [20, 22, 24, 60, 62, 64], "tenure": [1, 1, 1, 4, 4, 4], "area": list("uuurrr")}
    )
    roles = FeatureRoles(numeric=["age", "tenure"], categorical=["area"])
    p = profile_clusters(X, np.array([0, 0, 0, 1, 1, 1]), roles)
    assert p[1]["summary"].startswith("Cluster 1 (3 rows, 50%): ")
    assert "older (mean 62 vs 42)" in p[1]["summary"]
    assert "mostly area = r: 100% vs 50%" in p[1]["summary"]
    assert "twice the average tenure" not in p[0]["summary"]
    assert "half the average tenure" not in p[1]["summary"]
    assert validate_clusters([0, 0, 1, 1], [1, 1, 0, 0]) == {"ari": 1.0, "nmi": 1.0}


@pytest.mark.parametrize("name", ["hdbscan", "agglomerative"])
def test_cluster_model_assigns_new_rows(name: str) -> None:
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (40, 2)), rng.normal(5, 0.3, (20, 2))])
    est = HDBSCAN(min_cluster_size=5) if name == "hdbscan" else AgglomerativeClustering(2)
    m = ClusterModel(est).fit(X)
    assert m.n_clusters_ == 2 and m.estimator_ is None
    assert m.sizes_[0] >= m.sizes_[1]  # 0 is the largest
    assert m.predict([[0.1, 0.0], [5.2, 4.9]]).tolist() == [0, 1]


def test_cluster_model_estimator_checks() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(ClusterModel())
