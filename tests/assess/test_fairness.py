"""Fairness numbers checked against a hand-computed example (12 rows, two groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml.assess import FairnessThresholds, band_age, fairness_table, proxy_check

# Group A: y = 1 1 1 0 0 0, predicted 1 1 0 1 0 0 -> TP 2, FN 1, FP 1, TN 2
# Group B: y = 1 1 0 0 0 0, predicted 1 0 0 0 0 0 -> TP 1, FN 1, FP 0, TN 4
FRAME = pd.DataFrame({"sex": ["A"] * 6 + ["B"] * 6})
Y = np.array([1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
P = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)


@pytest.fixture(scope="module")
def table() -> dict:
    out = fairness_table(
        FRAME,
        Y,
        P,
        protected={"sex": "sex"},
        n_boot=100,
        thresholds=FairnessThresholds(min_group_size=5),
    )
    return out["characteristics"][0]


def test_per_group_rates_match_hand_computation(table: dict) -> None:
    a, b = table["groups"]
    assert (a["group"], a["n"], b["group"], b["n"]) == ("A", 6, "B", 6)
    assert a["selection_rate"] == pytest.approx(3 / 6)
    assert a["precision"] == pytest.approx(2 / 3)
    assert a["recall"] == pytest.approx(2 / 3)
    assert a["fpr"] == pytest.approx(1 / 3)
    assert a["fnr"] == pytest.approx(1 / 3)
    assert b["selection_rate"] == pytest.approx(1 / 6)
    assert b["precision"] == pytest.approx(1.0)
    assert b["recall"] == pytest.approx(1 / 2)
    assert b["fpr"] == pytest.approx(0.0)
    assert b["fnr"] == pytest.approx(1 / 2)


def test_gaps_match_hand_computation_and_fairlearn(table: dict) -> None:
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
    )

    assert table["demographic_parity_difference"] == pytest.approx(1 / 3)
    assert table["demographic_parity_ratio"] == pytest.approx(1 / 3)
    assert table["equalized_odds_difference"] == pytest.approx(1 / 3)  # max(1/6, 1/3)
    s = FRAME["sex"]
    assert table["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(Y, P, sensitive_features=s)
    )
    assert table["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(Y, P, sensitive_features=s)
    )
    assert table["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(Y, P, sensitive_features=s)
    )
    assert table["four_fifths"]["passes"] is False
    assert "heuristic" in table["four_fifths"]["note"]


def test_intervals_contain_the_point_and_warnings_fire(table: dict) -> None:
    for g in table["groups"]:
        lo, hi = g["selection_rate_ci"]
        assert lo <= g["selection_rate"] <= hi
    assert any("Selection rates by sex" in w for w in table["warnings"])


def test_small_groups_flagged_not_hidden_and_absent_listed() -> None:
    out = fairness_table(FRAME, Y, P, protected={"sex": "sex", "race": "ethnicity"}, n_boot=0)
    t = out["characteristics"][0]
    assert [g["small"] for g in t["groups"]] == [True, True]  # default minimum is 30
    assert any("fewer than 30" in w for w in t["warnings"])
    reasons = {n["characteristic"]: n["reason"] for n in out["not_assessed"]}
    assert "ethnicity" in reasons["race"]
    assert "disability" in reasons and "sex" not in reasons


def test_age_is_banded_and_intersections_need_sizes() -> None:
    assert band_age(pd.Series([24, 25, 34.9, 54, 55])).tolist() == [
        "under 25",
        "25 to 34",
        "25 to 34",
        "45 to 54",
        "55 and over",
    ]
    rng = np.random.default_rng(0)
    n = 400
    f = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "age": rng.integers(18, 70, n)})
    y, p = rng.random(n) < 0.4, rng.random(n) < 0.5
    out = fairness_table(f, y, p, protected={"sex": "sex", "age": "age"}, n_boot=20)
    kinds = [(t["name"], t["kind"]) for t in out["characteristics"]]
    assert ("sex and age", "intersection") in kinds
    age = next(t for t in out["characteristics"] if t["name"] == "age")
    assert {g["group"] for g in age["groups"]} <= {
        "under 25",
        "25 to 34",
        "35 to 44",
        "45 to 54",
        "55 and over",
    }


def test_proxy_check_finds_a_proxy() -> None:
    rng = np.random.default_rng(1)
    sex = rng.choice(["f", "m"], 300)
    f = pd.DataFrame(
        {
            "sex": sex,
            "role": np.where(sex == "f", "carer", "driver"),
            "noise": rng.normal(size=300),
        }
    )
    out = proxy_check(f, features=["role", "noise"], protected={"sex": "sex"})
    flagged = {p["feature"] for p in out if p["flagged"]}
    assert flagged == {"role"}
