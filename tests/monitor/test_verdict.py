"""The verdict every monitoring surface shows: its wording, its state, where it appears."""

from __future__ import annotations

import numpy as np
import pandas as pd

from civicml.monitor import Alert, DriftDetector, MonitorReport, build_report, make_verdict


def _drift(shift: float) -> object:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3000), "y": rng.normal(0, 1, 3000)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, 3000), "y": rng.normal(0, 1, 3000)})
    return DriftDetector().fit(ref).detect(cur)


def test_alerts_are_listed_most_severe_first() -> None:
    alerts = [Alert("chunked_drift", "medium", "m"), Alert("dataset_drift", "high", "h")]
    v = make_verdict(_drift(1.0), alerts, {"opened": "a date"})  # type: ignore[arg-type]
    assert (v.state, v.severity, v.alerts) == ("alert", "high", ["dataset_drift", "chunked_drift"])
    assert v.message == (
        "1 of 2 input columns drifted; 2 alerts: dataset_drift (high), chunked_drift (medium)."
    )
    assert v.counts == "1 of 2 input columns drifted" and v.left_out == {"opened": "a date"}


def test_no_alert_is_ok_even_with_a_drifted_column() -> None:
    v = make_verdict(_drift(1.0), [], {})  # type: ignore[arg-type]
    assert v.state == "ok" and v.severity is None
    assert v.message == "1 of 2 input columns drifted; no alerts."


def test_the_report_carries_the_verdict_in_json_text_and_html() -> None:
    report = build_report(
        MonitorReport(model="claims", drift=_drift(1.0), left_out={"notes": "free text"})  # type: ignore[arg-type]
    )
    doc = report.to_dict()
    assert doc["verdict"] == report.verdict.to_dict()
    assert doc["verdict"]["state"] == ("alert" if report.alerts else "ok")
    assert doc["exit_code"] == (1 if doc["verdict"]["state"] == "alert" else 0)
    text = report.render()
    assert f"verdict: {report.verdict.state}: {report.verdict.message}" in text
    assert "not compared: notes: free text" in text
    html = report.to_html()
    assert report.verdict.message in html and 'id="left-out"' in html
