from __future__ import annotations

import civicml.monitor as monitor

EXPECTED = [
    "PRIVATE_REASONS",
    "REFERENCE_DOCUMENT",
    "STATTESTS",
    "Alert",
    "AlertPolicy",
    "ChunkedMonitor",
    "ChunkedResult",
    "ColumnDrift",
    "DriftDetector",
    "DriftReport",
    "LabelDelivery",
    "MonitorInputs",
    "MonitorKeywords",
    "MonitorReport",
    "MonitorSettings",
    "OverrideReport",
    "PCAReconstructionDrift",
    "ReferenceProfile",
    "ScoreCalibrator",
    "Verdict",
    "build_reference",
    "build_report",
    "distribution_svg",
    "estimate_performance_cbpe",
    "estimate_performance_over_time",
    "evaluate_alerts",
    "infer_column_kind",
    "iter_chunks",
    "make_verdict",
    "monitor_decision_log",
    "monitor_model",
    "monitor_registered",
    "monitoring_plan",
    "override_rate",
    "parse_when",
    "post_webhook",
    "private_columns",
    "private_sketches",
    "read_labels",
    "realised_performance",
    "reconcile_performance",
    "retrain_recommendation",
    "selection_rates_over_time",
    "sketch_column",
    "store_labels",
]


def test_public_names_are_pinned() -> None:
    assert monitor.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(monitor, name) is not None


def test_estimators_follow_the_sklearn_contract() -> None:
    for cls in (monitor.DriftDetector, monitor.ChunkedMonitor, monitor.PCAReconstructionDrift):
        est = cls()
        assert not [k for k in vars(est) if k.endswith("_")]  # nothing learned before fit


def test_drift_detector_clones_like_a_sklearn_estimator() -> None:
    from sklearn.base import clone

    det = monitor.DriftDetector(drift_share=0.3, cat_stattest="chisquare_2sample")
    copy = clone(det)
    assert copy.get_params() == det.get_params() and copy is not det
