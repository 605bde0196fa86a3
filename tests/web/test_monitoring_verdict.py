"""Issue 20: ``civicml monitor``, the dashboard and the HTML report give one verdict on one log.

A small binary model is served by the real ASGI app (tests/monitor/_served.py); its decision
log, written by the server, holds a categorical with missing values, a date, redacted free
text and an identifier. The CLI (``--json`` and ``--html``) and the dashboard's
``monitoring_status`` are run on that log and must agree word for word; the dashboard's page
over HTTP must print the sentence ``civicml monitor`` gives for the registry's model.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for monitor._served
from monitor._served import make_bundle, rows, serve_traffic

if TYPE_CHECKING:
    from .conftest import Site


def _cli() -> typer.Typer:
    from civicml.cli._monitor import monitor_app

    root = typer.Typer()

    @root.callback()
    def _main() -> None:
        """civicml."""

    root.add_typer(monitor_app, name="monitor")
    return root


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("verdict")
    bundle = make_bundle(base / "bundle")
    serve_traffic(bundle, base / "decisions" / "cases", rows(401, year=2025, seed=7))
    return {"bundle": bundle, "root": base / "decisions", "folder": base / "decisions" / "cases"}


def _status(bundle: Any, log_root: Path) -> Any:
    from civicml.web import monitoring_status

    registry = SimpleNamespace(load_version=lambda ref: bundle)
    version = SimpleNamespace(name="cases", version=1, digest=bundle.digest, ref="cases/1")
    return monitoring_status(registry, version, log_root)  # type: ignore[arg-type]


def _cli_json(bundle: Any, folder: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["monitor", "cases", "--bundle", str(bundle.path), "--log-dir", str(folder)]
    result = CliRunner().invoke(_cli(), [*args, "--json", *extra])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_cli_dashboard_and_html_report_give_one_verdict(
    served: dict[str, Any], tmp_path: Path
) -> None:
    html = tmp_path / "report.html"
    code, doc = _cli_json(served["bundle"], served["folder"], "--html", str(html))
    status = _status(served["bundle"], served["root"])
    verdict = doc["verdict"]
    assert status.verdict is not None and status.verdict.to_dict() == verdict
    assert status.message == verdict["message"]
    assert status.state == ("drift" if verdict["state"] == "alert" else "ok")
    assert code == (1 if verdict["state"] == "alert" else 0) == doc["exit_code"]
    # the same counts, from the same columns, with the same scores
    counts = f"{verdict['n_drifted']} of {verdict['n_columns']} input columns drifted"
    assert verdict["message"].startswith(counts)
    features = [c for c in doc["drift"]["columns"] if c["role"] == "feature"]
    assert verdict["n_columns"] == len(features) == 2  # tenure and band; not the date or text
    cli_columns = [
        {k: v for k, v in c.items() if k != "distribution"} for c in doc["drift"]["columns"]
    ]
    assert json.loads(json.dumps(status.columns)) == cli_columns
    page = html.read_text("utf-8")
    assert verdict["message"] in page and "Columns not compared" in page


def test_a_date_text_and_missing_values_do_not_drift_by_themselves(
    served: dict[str, Any],
) -> None:
    """Traffic drawn like the training data: the date is a year later, the notes are redacted
    and one case in ten has no band, as in training."""
    _, doc = _cli_json(served["bundle"], served["folder"])
    verdict = doc["verdict"]
    columns = {c["column"]: c for c in doc["drift"]["columns"]}
    assert "opened" not in columns and "notes" not in columns and "case_id" not in columns
    assert "date" in verdict["left_out"]["opened"] and "text" in verdict["left_out"]["notes"]
    band = columns["band"]
    assert not band["drifted"] and band["p_value"] > 0.5, band
    assert "(missing)" in band["distribution"]["labels"]
    shares = dict(zip(band["distribution"]["labels"], band["distribution"]["current"], strict=True))
    assert shares["(missing)"] == pytest.approx(0.1, abs=0.01)
    assert verdict["n_drifted"] == 0 and not verdict["dataset_drift"]
    assert "dataset_drift" not in verdict["alerts"]


def test_the_dashboard_page_prints_the_cli_verdict(site: Site) -> None:
    """Over HTTP, on the shared web registry: the page's sentence is the CLI's."""
    from starlette.testclient import TestClient

    from civicml.web import create_app

    args = ["monitor", "outreach", "--registry", site.uri, "--project-dir", str(site.root)]
    result = CliRunner().invoke(_cli(), [*args, "--log-dir", str(site.decision_log), "--json"])
    assert result.exit_code in (0, 1), result.output
    verdict = json.loads(result.stdout)["verdict"]
    with TestClient(create_app(site.config()), base_url="http://testserver") as client:
        page = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        client.post(
            "/sign-in",
            data={"token": site.tokens["vera"], "csrf_token": token.group(1), "next": "/"},
        )
        one = client.get("/monitoring/outreach").text
        overview = client.get("/monitoring").text
    shown = re.search(r'<p class="govuk-body" id="monitoring-message">([^<]*)</p>', one)
    assert shown is not None
    from html import unescape

    assert unescape(shown.group(1)) == verdict["message"]
    assert verdict["message"] in unescape(overview)
