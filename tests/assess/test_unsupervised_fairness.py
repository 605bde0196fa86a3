"""Fairness of clustering and anomaly models against small examples computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml._errors import DataError
from civicml.assess._unsupervised import unsupervised_checks, unsupervised_html
from civicml.assess._unsupervised_fairness import (
    UnsupervisedFairnessRules,
    anomaly_fairness,
    cluster_fairness,
    fairness_checks,
)


@pytest.fixture
def people() -> pd.DataFrame:
    # 50 women and 50 men; ages 20..69 twice over
    return pd.DataFrame({"sex": ["f"] * 50 + ["m"] * 50, "age": list(range(20, 70)) * 2})


def _clusters() -> np.ndarray:
    # cluster 0: 45 f + 15 m (60 rows); cluster 1: 5 f + 35 m (40 rows)
    return np.array([0] * 45 + [1] * 5 + [0] * 15 + [1] * 35)


def test_cluster_shares_against_overall_by_hand(people: pd.DataFrame) -> None:
    doc = cluster_fairness(people, _clusters(), protected={"sex": "sex"}, names={0: "Big"})
    t = doc["characteristics"][0]
    assert [(g["group"], g["n"], g["share"]) for g in t["groups"]] == [
        ("f", 50, 0.5),
        ("m", 50, 0.5),
    ]
    cells = {(cl["name"], c["group"]): c for cl in t["clusters"] for c in cl["cells"]}
    big_f = cells[("Big", "f")]
    assert big_f["n"] == 45 and big_f["share"] == pytest.approx(0.75)
    assert big_f["difference"] == pytest.approx(0.25) and big_f["ratio"] == pytest.approx(1.5)
    assert big_f["flag"] == "over"
    one_f = cells[("Cluster 1", "f")]
    assert one_f["share"] == pytest.approx(5 / 40) and one_f["ratio"] == pytest.approx(0.25)
    assert one_f["flag"] == "under" and cells[("Cluster 1", "m")]["flag"] == "over"
    worst = doc["largest_disparity"]
    assert (worst["cluster_name"], worst["group"]) == ("Cluster 1", "f")
    assert worst["difference"] == pytest.approx(-0.375)
    assert "Cluster 1 under-represents sex = f: 12% of its 40 rows against 50%" in " ".join(
        t["warnings"]
    )
    assert "Big is dominated by sex = f" in " ".join(t["warnings"])
    # the gate: 37.5 points > 20
    (check,) = fairness_checks({"task": "clustering", "fairness": doc})
    assert (check.name, check.passed) == ("max_fairness_gap", False)
    assert check.value == pytest.approx(0.375) and "Cluster 1" in check.evidence


def test_cluster_rule_needs_points_and_ratio(people: pd.DataFrame) -> None:
    # cluster 0: 33 f + 27 m -> f share 0.55 (5 points, ratio 1.1): not flagged
    k = np.array([0] * 33 + [1] * 17 + [0] * 27 + [1] * 23)
    doc = cluster_fairness(people, k, protected={"sex": "sex"})
    assert all(
        c["flag"] is None for cl in doc["characteristics"][0]["clusters"] for c in cl["cells"]
    )
    assert fairness_checks({"task": "clustering", "fairness": doc})[0].passed


def test_cluster_groups_reuse_age_bands_and_intersections(people: pd.DataFrame) -> None:
    rules = UnsupervisedFairnessRules(min_group_size=5)
    doc = cluster_fairness(people, _clusters(), protected={"sex": "sex", "age": "age"}, rules=rules)
    names = [(t["name"], t["kind"]) for t in doc["characteristics"]]
    assert names == [("sex", "single"), ("age", "single"), ("sex and age", "intersection")]
    ages = [g["group"] for g in doc["characteristics"][1]["groups"]]
    assert ages == ["25 to 34", "35 to 44", "45 to 54", "55 and over", "under 25"]
    missing = {n["characteristic"] for n in doc["not_assessed"]}
    assert "race" in missing and "sex" not in missing


def test_small_groups_are_shown_not_judged() -> None:
    f = pd.DataFrame({"sex": ["f"] * 10 + ["m"] * 90})
    k = np.array([1] * 10 + [0] * 90)
    doc = cluster_fairness(f, k, protected={"sex": "sex"})
    t = doc["characteristics"][0]
    assert t["groups"][0]["small"] and not t["warnings"]
    assert fairness_checks({"task": "clustering", "fairness": doc})[0].passed


def test_anomaly_flag_rates_by_hand(people: pd.DataFrame) -> None:
    from scipy.stats import binomtest
    from sklearn.metrics import roc_auc_score

    # women: 10 of 50 flagged (20%); men: 0 of 50; overall 10%
    flags = np.array([1] * 10 + [0] * 40 + [0] * 50)
    known = np.array([1] * 6 + [0] * 4 + [1] * 2 + [0] * 38 + [1] * 4 + [0] * 46)
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 1, 100) + 2 * flags
    doc = anomaly_fairness(
        people, flags, protected={"sex": "sex"}, scores=scores, known=known, threshold=1.0
    )
    assert doc["overall_rate"] == pytest.approx(0.1) and doc["labelled"]
    f, m = doc["characteristics"][0]["groups"]
    assert (f["flagged"], f["flag_rate"], f["ratio"], f["flag"]) == (10, 0.2, 2.0, "above")
    assert (m["flag_rate"], m["ratio"], m["flag"]) == (0.0, 0.0, "below")
    assert f["p_value"] == pytest.approx(binomtest(10, 50, 0.1).pvalue)
    lo, hi = f["flag_rate_ci"]
    assert lo < 0.2 < hi
    pred = scores > 1.0
    assert f["known_anomalies"] == 8
    assert f["recall"] == pytest.approx((pred[:50] & (known[:50] == 1)).sum() / 8)
    assert f["roc_auc"] == pytest.approx(roc_auc_score(known[:50], scores[:50]))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(known[50:], scores[50:]))
    assert "flagged at 20.0% against 10.0% overall (ratio 2.00" in " ".join(
        doc["characteristics"][0]["warnings"]
    )
    (check,) = fairness_checks({"task": "anomaly", "fairness": doc})
    assert (check.name, check.passed) == ("flag_rate_ratio", False)


def test_anomaly_ratio_outside_band_by_chance_does_not_fail_the_gate() -> None:
    # 2 of 40 vs 1 of 40: ratios 1.33 and 0.67 (flagged) but p far above 0.05
    f = pd.DataFrame({"sex": ["f"] * 40 + ["m"] * 40})
    flags = np.array([1] * 2 + [0] * 38 + [1] + [0] * 39)
    doc = anomaly_fairness(f, flags, protected={"sex": "sex"})
    assert [g["flag"] for g in doc["characteristics"][0]["groups"]] == ["above", "below"]
    assert fairness_checks({"task": "anomaly", "fairness": doc})[0].passed


def test_checks_report_fairness_with_the_others(people: pd.DataFrame) -> None:
    doc = {
        "task": "clustering",
        "metrics": {"silhouette": {"value": 0.5}, "stability": {"value": 0.9}},
        "clusters": [{"cluster": 0, "share": 0.6}, {"cluster": 1, "share": 0.4}],
        "fairness": cluster_fairness(people, _clusters(), protected={"sex": "sex"}),
    }
    names = [c.name for c in unsupervised_checks(doc)]
    assert names == [
        "separation",
        "no_tiny_clusters",
        "stability",
        "max_fairness_gap",
        "data_quality",
    ]


def test_html_tables_are_accessible(people: pd.DataFrame) -> None:
    doc = {
        "task": "anomaly",
        "metrics": {},
        "fairness": anomaly_fairness(people, [1] * 10 + [0] * 90, protected={"sex": "sex"}),
    }
    html = unsupervised_html(doc, plan="civicml monitor watches the flag rate.")
    assert 'class="govuk-table"' in html and "govuk-table__caption" in html
    assert '<th scope="col"' in html and '<th scope="row"' in html
    assert "Anomaly flag rate by sex" in html and "Flagged more" in html
    assert "Monitoring plan" in html and "watches the flag rate" in html


def test_bad_input_is_one_clear_line(people: pd.DataFrame) -> None:
    with pytest.raises(DataError) as err:
        cluster_fairness(people, [0, 1], protected={"sex": "sex"})
    assert "one value per row (100)" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="pandas DataFrame"):
        anomaly_fairness([1, 2], [0, 1], protected={"sex": "sex"})  # type: ignore[arg-type]
