from __future__ import annotations

import json
import re

import pytest

from civicml._errors import GovernanceError
from civicml.report import (
    NEEDS_HUMAN,
    ATRSRecord,
    atrs_json_schema,
    mark_complete,
    missing_fields,
)

SECTIONS = [
    "summary",
    "checks",
    "data",
    "personal-data",
    "leaderboard",
    "performance",
    "threshold",
    "importance",
    "fairness",
    "about",
]


def test_report_is_self_contained_and_accessible_by_construction(report_dir) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    assert '<html lang="en-GB">' in html
    assert not re.search(r'(src|href)="https?://', html)
    assert "<script" not in html and "<link" not in html
    for s in SECTIONS:
        assert f'<section id="{s}"' in html, s
    assert "Out of every 100 people the model flags as ‘ui: yes’, about" in html
    assert "Deciding anyone&#39;s entitlement to benefits" in html
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) >= 5
    assert all('role="img"' in s and "aria-labelledby" in s for s in svgs)
    ids = re.findall(r'id="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert html.count("<caption") == html.count("<table")
    assert "four-fifths rule (a heuristic, not UK law)" in html
    assert "Not assessed" in html and "Disability" in html


def test_model_card_and_atrs_written(report_dir) -> None:
    card = report_dir.model_card.read_text(encoding="utf-8")
    assert card.startswith("---\n") and "\n# Model card: benefits-mini\n" in card
    for h in ("## Intended use", "## Out-of-scope uses", "## Fairness", "## Promotion checks"):
        assert h in card
    doc = json.loads(report_dir.atrs_json.read_text(encoding="utf-8"))
    record = ATRSRecord.model_validate(doc)
    assert record.complete is False
    assert record.tier1.name == "benefits-mini"
    assert record.tier2.owner_and_responsibility.team == "Analytics"
    assert record.tier2.tool_specification.models[0].version == "3"
    needs = doc["_civicml"]["needs_human"]
    assert "tier2.description_and_rationale.benefit" in needs
    assert "tier1.name" not in needs
    assert needs == missing_fields(record)
    atrs_html = report_dir.atrs_html.read_text(encoding="utf-8")
    assert NEEDS_HUMAN in atrs_html and "2.5 Risks, mitigations and impact assessments" in atrs_html
    assert report_dir.pdf is None and "not requested" in report_dir.pdf_note


def test_record_cannot_be_complete_with_empty_fields(report_dir) -> None:
    doc = json.loads(report_dir.atrs_json.read_text(encoding="utf-8"))
    record = ATRSRecord.model_validate(doc)
    with pytest.raises(GovernanceError, match="cannot be marked complete"):
        mark_complete(record)
    with pytest.raises(ValueError, match="cannot be complete"):
        ATRSRecord.model_validate({**doc, "complete": True})

    def fill(node):
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fill(v) for v in node]
        if isinstance(node, str) and NEEDS_HUMAN in node:  # anywhere in the text
            return "Filled in by the team"
        return node

    filled = ATRSRecord.model_validate({**fill(doc), "_civicml": {}})
    for a in filled.tier2.risks_mitigations_and_impact_assessments.impact_assessments:
        a.date, a.link = "2026-11-01", "https://www.gov.uk/example/assessment"  # checked values
    filled.tier2.owner_and_responsibility.external_supplier = False
    done = mark_complete(filled)
    assert done.complete and done.metadata.date_completion
    assert "properties" in atrs_json_schema()


def test_cli_report_command(bundle_dir, tmp_path) -> None:
    import typer
    from typer.testing import CliRunner

    from civicml.cli._report import report

    app = typer.Typer()
    app.command()(report)
    app.command("noop")(lambda: None)
    res = CliRunner().invoke(app, ["report", str(bundle_dir), "-o", str(tmp_path), "--no-pdf"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report.html").exists() and (tmp_path / "atrs.json").exists()
    bad = CliRunner().invoke(app, ["report", str(tmp_path / "missing"), "-o", str(tmp_path)])
    assert bad.exit_code == 2


def test_the_report_lists_what_data_minimisation_asks_and_links_the_eqia(
    report_dir, bundle_dir
) -> None:
    from civicml.report import minimisation_findings

    html = report_dir.html.read_text(encoding="utf-8")
    findings = minimisation_findings(bundle_dir)
    if findings:
        listed = html.split('id="minimisation"')[1].split("</ul>")[0]
        assert listed.count("<li>") == len(findings)
    assert 'href="eqia.html"' in html and (report_dir.html.parent / "eqia.html").is_file()
