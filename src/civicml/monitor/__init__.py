"""Monitoring in production: drift, chunked alerts, performance, fairness drift and reports.

Library side of issue 7. Drift follows Evidently 0.7's DataDriftPreset rules without depending
on Evidently; see :mod:`civicml.monitor._drift` for the exact source matched.
"""

from __future__ import annotations

from civicml.monitor._alerts import Alert, AlertPolicy, evaluate_alerts, retrain_recommendation
from civicml.monitor._chunked import ChunkedMonitor, ChunkedResult, iter_chunks
from civicml.monitor._drift import STATTESTS, ColumnDrift, DriftDetector, DriftReport
from civicml.monitor._fairness import OverrideReport, override_rate, selection_rates_over_time
from civicml.monitor._inputs import MonitorInputs
from civicml.monitor._job import (
    MonitorKeywords,
    MonitorSettings,
    monitor_decision_log,
    monitor_model,
    monitor_registered,
    parse_when,
)
from civicml.monitor._labels import LabelDelivery, read_labels, store_labels
from civicml.monitor._multivariate import PCAReconstructionDrift
from civicml.monitor._outputs import monitoring_plan
from civicml.monitor._performance import (
    ScoreCalibrator,
    estimate_performance_cbpe,
    estimate_performance_over_time,
    realised_performance,
    reconcile_performance,
)
from civicml.monitor._plots import distribution_svg
from civicml.monitor._profile import (
    PRIVATE_REASONS,
    ReferenceProfile,
    infer_column_kind,
    sketch_column,
)
from civicml.monitor._reference import (
    REFERENCE_DOCUMENT,
    build_reference,
    private_columns,
    private_sketches,
)
from civicml.monitor._report import MonitorReport, build_report, post_webhook
from civicml.monitor._verdict import Verdict, make_verdict

__all__ = [
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
