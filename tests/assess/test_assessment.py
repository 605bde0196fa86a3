from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from civicml.assess import Assessment, assess_model, checks_to_dict, evaluate_checks

FEATURES = ["tenure", "age", "region"]  # sex and nwhite are protected but not features
PROTECTED = {"sex": "sex", "race": "nwhite", "age": "age"}


@pytest.fixture(scope="module")
def assessed(frame: pd.DataFrame, fit_pipeline) -> Assessment:
    train, test = frame.iloc[:400], frame.iloc[400:].reset_index(drop=True)
    model = fit_pipeline(train, FEATURES)
    return assess_model(
        model,
        test[FEATURES],
        test["outcome"],
        task="binary",
        classes=["no", "yes"],
        threshold=0.4,
        protected=PROTECTED,
        frame_test=test,
        features=FEATURES,
        n_boot=100,
    )


def test_assessment_holds_what_the_report_needs(assessed: Assessment) -> None:
    d = assessed.to_dict()
    json.dumps(d, allow_nan=True)
    assert d["n_test"] == 200 and d["positive_label"] == "yes" and d["threshold"] == 0.4
    for m in ("roc_auc", "precision", "recall", "accuracy", "brier"):
        lo, hi = d["metrics"][m]["ci"]
        assert lo <= d["metrics"][m]["value"] <= hi
    assert 2 <= len(d["curves"]["roc"]["fpr"]) <= 100
    c = d["confusion"]
    assert c["tp"] + c["fp"] + c["fn"] + c["tn"] == 200
    assert sum(b["n"] for b in d["calibration"]["bins"]) == 200
    names = [t["name"] for t in d["fairness"]["characteristics"]]
    assert {"sex", "race", "age"} <= set(names)
    assert {f["feature"] for f in d["importance"]["features"]} == set(FEATURES)
    assert d["partial_dependence"] and d["examples"][0]["reasons"]
    assert Assessment.from_dict(d).n_test == 200


def test_metrics_match_scikit_learn(
    frame: pd.DataFrame, fit_pipeline, assessed: Assessment
) -> None:
    from sklearn.metrics import average_precision_score, roc_auc_score

    test = frame.iloc[400:].reset_index(drop=True)
    model = fit_pipeline(frame.iloc[:400], FEATURES)
    s = model.predict_proba(test[FEATURES])[:, 1]
    y = test["outcome"] == "yes"
    assert assessed.metrics["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, s))
    assert assessed.metrics["pr_auc"]["value"] == pytest.approx(average_precision_score(y, s))


def test_lightgbm_uses_tree_shap_and_is_fast(frame: pd.DataFrame, fit_pipeline) -> None:
    big = pd.concat([frame] * 3, ignore_index=True)  # about 1,000 test rows
    model = fit_pipeline(frame, FEATURES, kind="lightgbm")
    started = time.monotonic()
    a = assess_model(
        model,
        big[FEATURES][:1000],
        big["outcome"][:1000],
        task="binary",
        classes=["no", "yes"],
        threshold=None,
        protected=PROTECTED,
        frame_test=big[:1000],
        features=FEATURES,
    )
    assert time.monotonic() - started < 20
    assert "tree SHAP" in a.importance["method"]
    assert all(r["shap"] is not None for r in a.importance["features"])


def test_regression_task_is_assessed(frame: pd.DataFrame, fit_pipeline) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame[["tenure", "age"]], frame["tenure"] * 2)
    a = assess_model(
        model,
        frame[["tenure", "age"]],
        frame["tenure"] * 2,
        task="regression",
        classes=[],
        threshold=None,
        protected={"sex": "sex"},
        frame_test=frame,
        features=["tenure", "age"],
        n_boot=20,
    )
    assert a.metrics["mae"]["value"] == pytest.approx(0, abs=1e-9)
    assert a.fairness["characteristics"][0]["metric"] == "mae"


def test_checks_pass_and_fail_with_evidence(assessed: Assessment) -> None:
    ok = evaluate_checks(assessed, metric="roc_auc", min_metric=0.5, max_fairness_gap=1.0)
    assert all(c.passed for c in ok), ok
    bad = evaluate_checks(
        assessed,
        metric="roc_auc",
        min_metric=0.99,
        max_fairness_gap=0.0,
        max_calibration_error=0.0,
        data_findings=[{"column": "nino", "kind": "nino"}],
    )
    by = {c.name: c for c in bad}
    for k in ("min_roc_auc", "max_fairness_gap", "max_calibration_error"):
        assert by[k].passed is False, by[k]
    assert by["data_quality"].passed is False
    assert "0.990" in by["min_roc_auc"].evidence and "nino" in by["data_quality"].evidence
    assert by["beats_baseline"].passed is True  # the fixture's model has a real signal
    doc = checks_to_dict(bad)
    assert doc["passed"] is False
    assert set(doc["checks"][0]) >= {"name", "passed", "evidence", "value", "limit"}
    assert np.isfinite(next(c for c in doc["checks"] if c["name"] == "max_fairness_gap")["value"])
