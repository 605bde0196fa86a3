"""Anomaly detection on real data with known anomalies (breast cancer: malignant minority)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from civicml.components._clusters import anomaly_reasons, anomaly_reference
from civicml.learn._anomaly import anomaly_labels, detect_anomalies
from civicml.learn._preprocess import FeatureRoles

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def cells() -> tuple[pd.DataFrame, pd.Series, FeatureRoles]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True)
    X = d.data[[c for c in d.data.columns if c.startswith("mean ")]]
    malignant = (d.target == 0).astype(int)
    rng = np.random.default_rng(1)
    keep = np.sort(
        np.concatenate(
            [
                np.flatnonzero(malignant == 0),
                rng.choice(np.flatnonzero(malignant == 1), 20, replace=False),
            ]
        )
    )
    X, y = X.iloc[keep].reset_index(drop=True), malignant.iloc[keep].reset_index(drop=True)
    return X, y, FeatureRoles(numeric=list(X.columns))


def test_known_anomalies_are_ranked_high(cells) -> None:
    X, y, roles = cells
    r = detect_anomalies(X, roles=roles, labels=y, contamination=0.05)
    assert r.metric == "roc_auc"
    assert r.test_metrics["roc_auc"] > 0.85
    assert {e.family for e in r.leaderboard.entries} == {"isolation_forest", "local_outlier_factor"}
    assert abs(r.extra["anomaly_rate"] - 0.05) < 0.02
    scores = -r.pipeline.score_samples(X)
    flagged = scores > r.extra["threshold"]
    assert y[flagged].mean() > 3 * y.mean()  # flagged rows are enriched for malignancy
    assert "robust SDs" in r.extra["examples"][0]["reasons"]


def test_without_labels_chooses_by_stability(cells) -> None:
    X, _, roles = cells
    r = detect_anomalies(X, roles=roles, families=["local_outlier_factor"], contamination="auto")
    assert r.metric == "stability" and r.best.startswith("lof_k")
    assert 0 < r.extra["anomaly_rate"] < 0.2


def test_labels_and_reasons() -> None:
    assert anomaly_labels(pd.Series([True, False, False])).tolist() == [1, 0, 0]
    assert anomaly_labels(pd.Series(["ok", "odd", "ok"])).tolist() == [0, 1, 0]
    frame = pd.DataFrame({"x": np.arange(100.0), "c": ["a"] * 99 + ["b"]})
    ref = anomaly_reference(frame, ["x"], ["c"])
    out = anomaly_reasons(pd.DataFrame({"x": [500.0, 50.0], "c": ["zz", "a"]}), ref)
    assert out[0].startswith("x is high (500")
    assert "c is 'zz', never seen in training" in out[0]
    assert out[1].startswith("x is typical")
