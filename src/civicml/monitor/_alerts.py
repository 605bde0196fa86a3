"""Alert policy: which monitoring findings raise an alert, and the retrain recommendation.

Examples
--------
>>> alert = Alert(kind="dataset_drift", severity="high", message="Half the inputs drifted.")
>>> alert.to_dict()["kind"]
'dataset_drift'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from civicml.monitor._fairness import AUTOMATION_BIAS, QUALITY_CONCERN, OverrideReport

if TYPE_CHECKING:  # pragma: no cover
    from civicml.monitor._chunked import ChunkedResult
    from civicml.monitor._drift import ColumnDrift, DriftReport
    from civicml.monitor._outputs import OutputDrift
    from civicml.monitor._report import MonitorReport

__all__ = ["Alert", "AlertPolicy", "evaluate_alerts", "retrain_recommendation"]


@dataclass(frozen=True)
class Alert:
    """One finding that needs a person's attention."""

    kind: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class AlertPolicy:
    """Which findings alert. Every switch and limit is configurable.

    Parameters
    ----------
    dataset_drift : bool
        Alert when the drift report says dataset drift (share of drifted columns ≥ drift_share).
    prediction_drift : bool
        Alert when a score or decision column drifted, or (clustering and anomaly models) the
        cluster shares or the anomaly flag rate moved (``output_drift``).
    any_column_drift : bool
        Alert on every drifted feature column, even without dataset drift.
    chunked : bool
        Alert on per-column chunk alerts (two consecutive chunks outside limits).
    multivariate : bool
        Alert on PCA reconstruction-error chunk alerts.
    performance_drop : float or None
        Alert when a realised (or, failing that, estimated) metric in the latest window falls more
        than this below its reference value.
    fairness_min_ratio : float or None
        Alert when a group's selection rate in the latest window is under this share of the
        highest group's.
    fairness_tolerance : float
        When the fairness table has a ``reference_ratio`` column (the group's ratio on the
        training reference), a low ratio alerts only if it is more than this below it: a gap the
        model already had at assessment is not drift. A ``ratio_margin`` column (sampling
        error of small groups) widens the tolerance row by row.
    oversight : bool
        Alert on override-rate signals (automation bias, model quality concern).
    """

    dataset_drift: bool = True
    prediction_drift: bool = True
    any_column_drift: bool = False
    chunked: bool = True
    multivariate: bool = True
    performance_drop: float | None = 0.05
    fairness_min_ratio: float | None = 0.8
    fairness_tolerance: float = 0.05
    oversight: bool = True


def _latest(frame: pd.DataFrame | None) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    last = frame["window_start"].max()
    return frame[frame["window_start"] == last]


def evaluate_alerts(
    policy: AlertPolicy,
    *,
    drift: DriftReport | None = None,
    chunked: ChunkedResult | None = None,
    multivariate: ChunkedResult | None = None,
    performance: pd.DataFrame | None = None,
    estimated: pd.DataFrame | None = None,
    reference_performance: dict[str, float] | None = None,
    fairness: pd.DataFrame | None = None,
    overrides: OverrideReport | None = None,
    output_drift: OutputDrift | None = None,
) -> list[Alert]:
    """Apply ``policy`` to the findings and return the alerts, most severe first.

    Examples
    --------
    >>> evaluate_alerts(AlertPolicy())
    []
    """
    alerts: list[Alert] = []
    if drift is not None:
        alerts.extend(_drift_alerts(policy, drift))
    if policy.prediction_drift and output_drift is not None and output_drift.drifted:
        alerts.append(_output_drift_alert(output_drift))
    if policy.chunked and chunked is not None and chunked.alerts:
        alerts.append(_chunked_alert(chunked))
    if policy.multivariate and multivariate is not None and multivariate.alerts:
        alerts.append(_multivariate_alert(multivariate))
    if policy.performance_drop is not None and reference_performance:
        alerts.extend(
            _performance_alerts(
                policy.performance_drop, performance, estimated, reference_performance
            )
        )
    if policy.fairness_min_ratio is not None and fairness is not None and not fairness.empty:
        alerts.extend(
            _fairness_alerts(policy.fairness_min_ratio, policy.fairness_tolerance, fairness)
        )
    if policy.oversight and overrides is not None:
        alerts.extend(_oversight_alerts(overrides))
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(alerts, key=lambda a: order.get(a.severity, 3))


def _column_evidence(columns: list[ColumnDrift]) -> dict[str, dict[str, Any]]:
    return {
        c.column: {"test": c.stattest, "score": c.score, "threshold": c.threshold} for c in columns
    }


def _drift_alerts(policy: AlertPolicy, drift: DriftReport) -> list[Alert]:
    """Dataset (or, by policy, any column) drift and prediction drift over the period."""
    alerts = []
    drifted = [c for c in drift.features if c.drifted]
    evidence = _column_evidence(drifted)
    if policy.dataset_drift and drift.dataset_drift:
        alerts.append(
            Alert(
                "dataset_drift",
                "high",
                f"{len(drifted)} of {len(drift.features)} input columns drifted "
                f"({drift.share_drifted:.0%}, limit {drift.drift_share:.0%}).",
                evidence,
            )
        )
    elif policy.any_column_drift and drifted:
        alerts.append(
            Alert(
                "column_drift",
                "medium",
                f"Input columns drifted: {', '.join(evidence)}.",
                evidence,
            )
        )
    preds = [c for c in drift.predictions if c.drifted]
    if policy.prediction_drift and preds:
        alerts.append(
            Alert(
                "prediction_drift",
                "high",
                f"The model's outputs drifted: {', '.join(c.column for c in preds)}.",
                _column_evidence(preds),
            )
        )
    return alerts


def _output_drift_alert(output_drift: OutputDrift) -> Alert:
    return Alert(
        "output_drift",
        "high",
        output_drift.message,
        {
            "measure": output_drift.measure,
            "test": output_drift.test,
            "p_value": output_drift.p_value,
            "psi": output_drift.psi,
            "rule": output_drift.rule,
        },
    )


def _chunked_alert(chunked: ChunkedResult) -> Alert:
    cols = [a["column"] for a in chunked.alerts]
    return Alert(
        "chunked_drift",
        "medium",
        f"{len(cols)} column(s) left their reference limits for {chunked.consecutive} chunks in a "
        f"row: {', '.join(cols)}.",
        {"alerts": chunked.alerts},
    )


def _multivariate_alert(multivariate: ChunkedResult) -> Alert:
    return Alert(
        "multivariate_drift",
        "medium",
        "The joint distribution of the inputs changed (PCA reconstruction error above its "
        f"limit for {multivariate.consecutive} chunks in a row).",
        {"alerts": multivariate.alerts},
    )


def _fairness_alerts(min_ratio: float, tolerance: float, fairness: pd.DataFrame) -> list[Alert]:
    """Groups under ``min_ratio`` of the highest selection rate in the latest window, beyond
    ``tolerance`` below any gap the model already had on its reference."""
    latest = _latest(fairness)
    low = latest[latest["ratio_to_max"] < min_ratio]
    if "reference_ratio" in low.columns:  # a gap the model already had is not drift
        margin = np.maximum(
            tolerance,
            low["ratio_margin"] if "ratio_margin" in low.columns else 0.0,
        )
        low = low[~(low["ratio_to_max"] >= low["reference_ratio"] - margin)]
    if low.empty:
        return []
    groups = [f"{r.characteristic}={r.group} ({r.ratio_to_max:.2f})" for r in low.itertuples()]
    return [
        Alert(
            "fairness_drift",
            "high",
            f"Selection-rate ratio under {min_ratio:.2f} in the latest window: "
            + ", ".join(groups)
            + ".",
            {"groups": groups},
        )
    ]


def _oversight_alerts(overrides: OverrideReport) -> list[Alert]:
    """Automation bias and a rising override rate (a model quality concern)."""
    alerts = []
    for signal, text in zip(overrides.signals, overrides.evidence, strict=False):
        kind = "automation_bias" if signal == AUTOMATION_BIAS else "override_rate_rising"
        severity = "medium" if signal == AUTOMATION_BIAS else "high"
        if signal in (AUTOMATION_BIAS, QUALITY_CONCERN):
            alerts.append(
                Alert(kind, severity, f"{signal.capitalize()}: {text}", {"signal": signal})
            )
    return alerts


def _performance_alerts(
    drop: float,
    performance: pd.DataFrame | None,
    estimated: pd.DataFrame | None,
    reference: dict[str, float],
) -> list[Alert]:
    out = []
    for source, frame in (("realised", performance), ("estimated", estimated)):
        latest = _latest(frame)
        if latest.empty:
            continue
        row = latest.iloc[0]
        measured = [m for m in reference if m in row and pd.notna(row[m])]
        if not measured:
            continue
        falls = {
            m: {"reference": reference[m], source: float(row[m])}
            for m in measured
            if reference[m] - float(row[m]) > drop
        }
        if falls:
            note = "" if source == "realised" else " (estimate, valid under covariate shift only)"
            text = ", ".join(
                f"{m} {v[source]:.3f} vs {v['reference']:.3f}" for m, v in falls.items()
            )
            out.append(
                Alert(
                    "performance_drop",
                    "high",
                    f"{source.capitalize()} performance fell{note}: {text}.",
                    falls,
                )
            )
        break  # realised metrics, when the latest window has them, override the estimate
    return out


def retrain_recommendation(report: MonitorReport) -> str:
    """Plain-English advice naming the drifted columns and the evidence for each.

    Examples
    --------
    >>> from civicml.monitor._report import MonitorReport
    >>> retrain_recommendation(MonitorReport(model="claims"))
    'No retraining needed: no drift or performance alert in this window.'
    """
    drift = report.drift
    lines: list[str] = []
    if drift is not None:
        for c in drift.columns:
            if not c.drifted:
                continue
            comparison = "<" if STAT_IS_P.get(c.stattest, False) else ">="
            lines.append(
                f"- {c.column} ({c.kind}, {c.role}): {c.stattest_name} {_fmt(c.score)} {comparison} "
                f"{c.threshold:g}; PSI {_fmt(c.psi)}"
            )
    out = getattr(report, "output_drift", None)
    if out is not None and out.drifted:
        lines.append(f"- model outputs ({out.measure}): {out.message} Rule: {out.rule}")
    kinds = {a.kind for a in report.alerts}
    if not lines and not kinds & {
        "performance_drop",
        "multivariate_drift",
        "chunked_drift",
        "override_rate_rising",
    }:
        return "No retraining needed: no drift or performance alert in this window."
    head = (
        "Retraining recommended"
        if kinds & {"dataset_drift", "prediction_drift", "output_drift", "performance_drop"}
        else ("Investigate before retraining")
    )
    parts = [f"{head} for {report.model or 'this model'}."]
    if lines:
        parts.append("Drifted columns and evidence:")
        parts.extend(lines)
    for alert in report.alerts:
        if alert.kind in (
            "performance_drop",
            "multivariate_drift",
            "chunked_drift",
            "override_rate_rising",
        ):
            parts.append(f"- {alert.message}")
    parts.append(
        "Retrain on recent labelled data that covers the drifted columns, compare the candidate "
        "with the current model on the same window, and record the decision."
    )
    return "\n".join(parts)


STAT_IS_P = {"ks": True, "chisquare": True, "z": True}


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{value:.4g}"
