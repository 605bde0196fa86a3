from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import numpy as np
import pandas as pd
import pytest

from civicml._errors import CivicMLError, SpecError
from civicml.monitor import (
    AlertPolicy,
    ChunkedMonitor,
    DriftDetector,
    MonitorReport,
    PCAReconstructionDrift,
    build_report,
    estimate_performance_over_time,
    override_rate,
    post_webhook,
    realised_performance,
    selection_rates_over_time,
)

from ._frames import decision_log


@pytest.fixture(scope="module")
def full_report() -> MonitorReport:
    ref = decision_log(3000, seed=0, start="2025-01-01", days=10)
    cur = decision_log(2000, seed=1, start="2025-03-01", days=5)
    cur["age"] = cur["age"] + 6.0  # 0.6 sd shift
    cur["reviewer_decision"] = cur["decision"]  # nobody ever overrides
    rng = np.random.default_rng(2)
    labels = pd.DataFrame(
        {"request_id": cur["request_id"], "label": (rng.random(len(cur)) < 0.3).astype(int)}
    )
    inputs = ["age", "region", "sex"]
    found = MonitorReport(
        model="benefits-triage",
        version="3",
        alias="production",
        drift=DriftDetector().fit(ref).detect(cur),
        chunked=ChunkedMonitor(chunk_size=250, columns=inputs).fit(ref).detect(cur),
        multivariate=PCAReconstructionDrift(chunk_size=250, columns=inputs).fit(ref).detect(cur),
        performance=realised_performance(cur, labels),
        estimated=estimate_performance_over_time(cur),
        fairness=selection_rates_over_time(cur, protected={"sex": "sex"}),
        overrides=override_rate(cur),
    )
    return build_report(found, reference_performance={"accuracy": 0.75})


def test_alerts_and_exit_code(full_report: MonitorReport) -> None:
    kinds = [a.kind for a in full_report.alerts]
    assert full_report.exit_code == 1
    assert "chunked_drift" in kinds and "automation_bias" in kinds and "performance_drop" in kinds
    assert full_report.drift is not None and full_report.drift["age"].drifted
    drifted = MonitorReport(model="m", drift=full_report.drift)
    quiet = build_report(drifted, policy=AlertPolicy(dataset_drift=False))
    assert quiet.exit_code == 0
    assert build_report(drifted, policy=AlertPolicy(any_column_drift=True)).exit_code == 1


def test_retrain_recommendation_names_columns_and_evidence(full_report: MonitorReport) -> None:
    text = full_report.retrain_recommendation
    assert text.startswith("Retraining recommended for benefits-triage")
    age = full_report.drift["age"]
    assert f"age (numeric, feature): Wasserstein distance (normed) {age.score:.4g} >= 0.1" in text
    assert "Realised performance fell" in text or "performance" in text


def test_json_report_holds_every_column(full_report: MonitorReport) -> None:
    data = json.loads(full_report.to_json())
    columns = {c["column"] for c in data["drift"]["columns"]}
    assert columns == {"age", "region", "sex", "score", "prediction", "decision"}
    assert data["exit_code"] == 1 and data["alerts"]
    assert data["estimated_performance"][0]["valid_under"] == "covariate shift only"
    assert data["overrides"]["signals"] == ["possible automation bias"]
    compact = full_report.to_dict(details=False)
    assert "distribution" not in compact["drift"]["columns"][0]


def test_text_summary(full_report: MonitorReport) -> None:
    text = full_report.render()
    assert text.splitlines()[0] == "civicml monitor: benefits-triage v3 (production)"
    for column in ("age", "region", "sex", "score", "decision"):
        assert f"\n  {column}" in text
    assert "estimated performance (CBPE, valid under covariate shift only)" in text


def test_html_report_is_self_contained_and_accessible(
    full_report: MonitorReport, tmp_path: Any
) -> None:
    html = full_report.to_html()
    assert html.startswith("<!DOCTYPE html>") and 'lang="en-GB"' in html
    assert "arial, sans-serif" in html
    for column in ("age", "region", "sex", "score", "prediction", "decision"):
        assert f'<th scope="row">{column}' in html
    n_svg = html.count("<svg")
    assert n_svg >= 6
    assert html.count('role="img" aria-label=') == n_svg  # each plot has a text alternative
    assert html.count("<figcaption") == n_svg
    for fetch in (
        "<script",
        "<link",
        "src=",
        "@import",
        "url(http",
    ):  # nothing fetched from outside
        assert fetch not in html
    path = full_report.save_html(tmp_path / "report.html")
    assert path.read_text(encoding="utf-8") == html


def test_html_escapes_untrusted_names() -> None:
    ref = pd.DataFrame({"<b>x</b>": np.random.default_rng(0).normal(0, 1, 100)})
    report = build_report(
        MonitorReport(model="<script>alert(1)</script>", drift=DriftDetector().fit(ref).detect(ref))
    )
    html = report.to_html()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_empty_report() -> None:
    report = MonitorReport(model="m")
    assert report.exit_code == 0 and report.to_dict()["drift"] is None
    assert "No retraining needed" in report.render()
    assert "<h1>Monitoring report</h1>" in report.to_html()


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.received.append({"type": self.headers["Content-Type"], "body": json.loads(body)})
        status = 500 if self.path == "/fail" else 204
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def test_webhook_posts_json_to_a_loopback_server(full_report: MonitorReport) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert post_webhook(url + "/hook", full_report, timeout=5) == 204
        got = _Recorder.received[-1]
        assert got["type"] == "application/json"
        assert got["body"]["model"] == "benefits-triage"
        assert got["body"]["alerts"] and got["body"]["text"].startswith("civicml monitor")
        with pytest.raises(CivicMLError, match="refused the report"):
            post_webhook(url + "/fail", full_report, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(CivicMLError, match="could not be reached"):
        post_webhook(url + "/hook", full_report, timeout=2)
    with pytest.raises(SpecError, match="http or https"):
        post_webhook("file:///etc/passwd", full_report)
