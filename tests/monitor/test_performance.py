from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from civicml._errors import DataError, SpecError
from civicml.monitor import (
    ScoreCalibrator,
    estimate_performance_cbpe,
    estimate_performance_over_time,
    realised_performance,
    reconcile_performance,
)
from civicml.monitor._performance import roc_auc

from ._frames import decision_log


def _small_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3", "r4", "r5", "r6"],
            "case_ref": ["A", "B", "C", "D", "E", "F"],
            "time": pd.to_datetime(
                [
                    "2025-05-01 08:00",
                    "2025-05-01 12:00",
                    "2025-05-01 18:00",
                    "2025-05-02 09:00",
                    "2025-05-02 10:00",
                    "2025-05-02 23:59",
                ],
                utc=True,
            ),
            "score": [0.9, 0.6, 0.2, 0.8, 0.3, 0.7],
            "decision": [1, 1, 0, 1, 0, 1],
        }
    )


def test_late_labels_join_gives_hand_computed_metrics() -> None:
    labels = pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3", "r4", "r5", "r5", "r9"],
            # r5 first labelled 1, then corrected to 0 (the last label wins); r6 not labelled yet;
            # r9 is not in the log
            "label": [1, 0, 0, 1, 1, 0, 1],
        }
    )
    out = realised_performance(_small_log(), labels)
    day1, day2 = out.iloc[0], out.iloc[1]
    # day 1: (pred, label) = (1,1), (1,0), (0,0): TP 1, FP 1, TN 1
    assert (day1["n"], day1["n_labelled"]) == (3, 3)
    assert day1["accuracy"] == pytest.approx(2 / 3)
    assert day1["precision"] == pytest.approx(0.5)
    assert day1["recall"] == pytest.approx(1.0)
    assert day1["f1"] == pytest.approx(2 / 3)
    assert day1["roc_auc"] == pytest.approx(1.0)  # positive r1 scores above both negatives
    # day 2: r4 (1,1), r5 (0,0), r6 unlabelled
    assert (day2["n"], day2["n_labelled"], day2["label_coverage"]) == (3, 2, pytest.approx(2 / 3))
    assert day2["accuracy"] == 1.0 and day2["precision"] == 1.0 and day2["recall"] == 1.0


def test_labels_join_on_a_declared_key() -> None:
    labels = pd.DataFrame({"case_ref": ["A", "B", "C"], "outcome": [1, 1, 1]})
    out = realised_performance(
        _small_log(),
        labels,
        key="case_ref",
        label_column="outcome",
        metrics=["recall", "precision"],
    )
    assert out.iloc[0]["recall"] == pytest.approx(2 / 3)
    assert out.iloc[0]["precision"] == pytest.approx(1.0)
    assert out.iloc[1]["n_labelled"] == 0 and np.isnan(out.iloc[1]["recall"])


def test_regression_metrics() -> None:
    log = pd.DataFrame(
        {
            "request_id": ["a", "b"],
            "time": pd.to_datetime(["2025-01-01"] * 2, utc=True),
            "prediction": [10.0, 20.0],
        }
    )
    labels = pd.DataFrame({"request_id": ["a", "b"], "label": [12.0, 16.0]})
    out = realised_performance(log, labels, prediction_column="prediction", score_column=None)
    assert out.iloc[0]["mae"] == pytest.approx(3.0)
    assert out.iloc[0]["rmse"] == pytest.approx(np.sqrt(10.0))


def test_bad_inputs_are_explained() -> None:
    with pytest.raises(DataError, match="labels file lacks columns"):
        realised_performance(_small_log(), pd.DataFrame({"request_id": ["r1"]}))
    with pytest.raises(SpecError, match="Unknown performance metrics"):
        realised_performance(
            _small_log(), pd.DataFrame({"request_id": ["r1"], "label": [1]}), metrics=["bleu"]
        )


def test_roc_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(500) < 0.3
    s = np.round(rng.random(500), 1)
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_cbpe_estimate_is_close_to_realised_on_calibrated_scores() -> None:
    log = decision_log(40_000, seed=3, days=4)
    rng = np.random.default_rng(4)
    labels = pd.DataFrame(
        {
            "request_id": log["request_id"],
            "label": (rng.random(len(log)) < log["score"]).astype(int),
        }
    )
    realised = realised_performance(log, labels)
    estimated = estimate_performance_over_time(log)
    assert (estimated["valid_under"] == "covariate shift only").all()
    both = reconcile_performance(estimated, realised)
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert both[f"gap_{metric}"].abs().max() < 0.03, metric
    assert both["estimate_held"].all()


def test_reconciliation_flags_concept_shift() -> None:
    log = decision_log(8000, seed=5, days=2)
    rng = np.random.default_rng(6)
    # labels no longer follow the scores: the estimate cannot see this
    labels = pd.DataFrame(
        {"request_id": log["request_id"], "label": (rng.random(len(log)) < 0.5).astype(int)}
    )
    both = reconcile_performance(
        estimate_performance_over_time(log), realised_performance(log, labels)
    )
    assert not both["estimate_held"].any()


def test_calibrator_round_trip_and_use_in_cbpe() -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(5000)
    truth = raw**2  # scores overstate the positive rate
    y = rng.random(5000) < truth
    cal = ScoreCalibrator().fit(raw, y)
    again = ScoreCalibrator.from_dict(cal.to_dict())
    np.testing.assert_allclose(again.transform(raw), cal.transform(raw))
    new = rng.random(5000)
    y_new = rng.random(5000) < new**2
    est = estimate_performance_cbpe(new, 0.5, calibrator=cal, metrics=["accuracy"])
    realised_acc = np.mean((new >= 0.5) == y_new)
    assert est["accuracy"] == pytest.approx(realised_acc, abs=0.03)
    naive = estimate_performance_cbpe(new, 0.5, metrics=["accuracy"])
    assert abs(naive["accuracy"] - realised_acc) > abs(est["accuracy"] - realised_acc)


def test_window_must_be_a_fixed_duration() -> None:
    with pytest.raises(SpecError, match="fixed duration"):
        estimate_performance_over_time(_small_log(), window="W")
