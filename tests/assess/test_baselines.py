"""The model against the policies a department could use without it, and the checks built on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from civicml.assess import Check, baseline_comparison, checks_to_dict, evaluate_checks


def _binary(n: int = 400, seed: int = 0, signal: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.6
    s = 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(size=n))))
    return y, s


def test_policies_are_measured_on_the_same_rows() -> None:
    y = np.array([True] * 60 + [False] * 40)
    s = np.where(y, 0.8, 0.3)
    out = baseline_comparison("binary", y, s, metric="f1", threshold=0.5, costs=(1, 2), n_boot=50)
    pol = out["policies"]
    assert out["base_rate"] == pytest.approx(0.6) and out["n"] == 100
    # flag everyone: 40 false alarms at cost 1 each per 100 rows
    assert pol["flag_everyone"]["cost_per_1000"] == pytest.approx(400)
    assert pol["flag_everyone"]["precision"] == pytest.approx(0.6)
    assert pol["flag_everyone"]["recall"] == 1 and pol["flag_everyone"]["selection_rate"] == 1
    # flag no one: 60 missed cases at cost 2
    assert pol["flag_no_one"]["cost_per_1000"] == pytest.approx(1200)
    assert pol["flag_no_one"]["recall"] == 0
    # a random share of 60%: (1 + 2) * 0.6 * 0.4 per case
    assert pol["base_rate"]["cost_per_1000"] == pytest.approx(720)
    assert pol["model"]["cost_per_1000"] == 0 and pol["model"]["f1"] == 1
    assert pol["model"]["false_positive_rate"] == 0
    assert out["cost"]["best_policy"] == "flag_everyone" and out["cost"]["better"] is True
    assert out["score"]["best_policy"] == "flag_everyone"
    assert out["score"]["difference"] == pytest.approx(1 - 2 * 0.6 / 1.6)


def test_a_model_no_better_than_flag_everyone_is_not_better() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(500) < 0.7
    s = rng.random(500)  # no information
    out = baseline_comparison("binary", y, s, metric="roc_auc", threshold=0.1, n_boot=300)
    assert out["cost"]["better"] is False and out["score"]["better"] is False
    lo, hi = out["score"]["ci"]
    assert lo < 0 < hi
    assert out["score"]["n_boot"] == 300


def test_regression_and_multiclass_baselines() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, 200)
    out = baseline_comparison(
        "regression", y, y + rng.normal(0, 0.5, 200), metric="mae", n_boot=100
    )
    assert set(out["policies"]) == {"model", "predict_mean", "predict_median"}
    assert out["policies"]["predict_median"]["mae"] == pytest.approx(
        np.abs(y - np.median(y)).mean()
    )
    assert out["score"]["better"] and out["score"]["difference"] < 0
    labels = np.array(list("aab") * 30)
    out = baseline_comparison("multiclass", labels, labels, metric="accuracy", n_boot=50)
    assert out["policies"]["most_common_class"]["accuracy"] == pytest.approx(2 / 3)


def test_beats_baseline_check_states_difference_and_interval() -> None:
    y, s = _binary()
    good = {"baselines": baseline_comparison("binary", y, s, metric="roc_auc", n_boot=200)}
    c = {x.name: x for x in evaluate_checks(good, metric="roc_auc")}["beats_baseline"]
    assert c.passed is True
    assert "reliably better" in c.evidence and "95% interval" in c.evidence
    rng = np.random.default_rng(3)
    bad = {
        "baselines": baseline_comparison(
            "binary", y, rng.random(len(y)), metric="roc_auc", threshold=0.05, n_boot=200
        )
    }
    c = {x.name: x for x in evaluate_checks(bad, metric="roc_auc")}["beats_baseline"]
    assert c.passed is False
    assert "NOT reliably better" in c.evidence and "flagging everyone" in c.evidence
    assert "95% interval of the difference" in c.evidence and "200 bootstrap" in c.evidence
    assert checks_to_dict([c])["passed"] is False


def test_a_check_without_a_limit_is_not_checked_and_counts_neither_way() -> None:
    a = {
        "metrics": {"roc_auc": {"value": 0.55, "ci": [0.5, 0.6]}, "brier": {"value": 0.3}},
        "fairness": {"characteristics": [{"name": "sex", "kind": "single", "difference": 0.05}]},
        "calibration": {"ece": 0.5},
    }
    checks = {c.name: c for c in evaluate_checks(a, metric="roc_auc", max_calibration_error=None)}
    assert checks["min_roc_auc"].passed is None
    assert checks["min_roc_auc"].status == "not_checked"
    assert "not checked: no limit set" in checks["min_roc_auc"].evidence
    assert checks["max_calibration_error"].status == "not_checked"
    assert checks["beats_baseline"].status == "not_checked"
    doc = checks_to_dict(list(checks.values()))
    assert doc["passed"] is True  # fairness and data quality passed; the rest count neither way
    assert {c["status"] for c in doc["checks"]} == {"pass", "not_checked"}


def test_limits_from_the_spec_checks_section() -> None:
    a = {
        "metrics": {"roc_auc": {"value": 0.65}, "brier": {"value": 0.3}},
        "fairness": {"characteristics": [{"name": "sex", "kind": "single", "difference": 0.15}]},
        "calibration": {"ece": 0.05},
    }
    limits = {"min_roc_auc": 0.7, "max_brier": 0.25, "max_fairness_gap": 0.1}
    checks = {c.name: c for c in evaluate_checks(a, metric="roc_auc", limits=limits)}
    assert checks["min_roc_auc"].passed is False and checks["min_roc_auc"].limit == 0.7
    assert checks["max_brier"].passed is False and "at most 0.250" in checks["max_brier"].evidence
    assert checks["max_fairness_gap"].passed is False and checks["max_fairness_gap"].limit == 0.1
    assert checks["max_calibration_error"].passed is True  # default limit 0.1 kept
    # the template's "min_roc_auc: null" on a task that has no roc_auc adds nothing
    reg = {"metrics": {"mae": {"value": 2.0}}}
    names = [c.name for c in evaluate_checks(reg, metric="mae", limits={"min_roc_auc": None})]
    assert "min_roc_auc" not in names and names[0] == "max_mae"


def test_data_quality_fails_on_a_problem_and_lists_notes() -> None:
    problem = {"column": "bluecol", "message": "'bluecol' has a single value", "problem": True}
    note = {"column": "age", "message": "'age' is 5% missing", "problem": False}
    c = {x.name: x for x in evaluate_checks({}, metric="roc_auc", data_findings=[problem, note])}
    dq = c["data_quality"]
    assert dq.passed is False and "'bluecol' has a single value" in dq.evidence
    assert dq.details == ("'bluecol' has a single value", "'age' is 5% missing")
    ok = {x.name: x for x in evaluate_checks({}, metric="roc_auc", data_findings=[note])}
    assert ok["data_quality"].passed is True and "5% missing" in ok["data_quality"].evidence
    assert Check("x", None, "e").to_dict()["status"] == "not_checked"


def test_constant_column_is_a_finding_and_leaves_the_contract() -> None:
    from civicml.data import drop_constant_columns, infer_contract, quality_findings

    df = pd.DataFrame({"a": [1.0, 2, None, 4] * 5, "bluecol": ["no"] * 20, "y": [0, 1] * 10})
    contract = infer_contract(df, target="y")
    found = quality_findings(contract)
    assert [(f["column"], f["problem"]) for f in found] == [("bluecol", True), ("a", False)]
    trimmed = drop_constant_columns(contract)
    assert "bluecol" not in trimmed.names and "bluecol" in trimmed.dropped
    from civicml.data import validate_data

    report = validate_data(df.drop(columns=["bluecol"]), trimmed)
    assert not any(i.column == "bluecol" for i in report.issues)


def test_a_dropped_constant_column_is_neither_required_nor_refused_at_serving() -> None:
    from civicml.data import drop_constant_columns, infer_contract
    from civicml.serve import InputSchema

    df = pd.DataFrame({"a": [1.0, 2, 3, 4] * 5, "bluecol": ["no"] * 20, "y": [0, 1] * 10})
    contract = drop_constant_columns(infer_contract(df, target="y")).to_dict()
    schema = InputSchema.from_contract(contract, ["a"])
    assert [c.name for c in schema.columns] == ["a"]
    assert schema.validate_columns({"a": [1.0]}, 1) == {"a": [1.0]}
    assert schema.validate_columns({"a": [1.0], "bluecol": ["no"]}, 1) == {"a": [1.0]}
