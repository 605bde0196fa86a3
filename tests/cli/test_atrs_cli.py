"""``civicml atrs fill / check / publish`` on a registered version: every gap listed with its
label, answers stored from YAML (unknown ids refused), carried to a new version only where the
field is not about the version, and the finished record published as JSON, HTML and a
spreadsheet that reads back the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from civicml.bundle import save_bundle
from civicml.cli._app import app
from civicml.report import NEEDS_HUMAN, ATRSRecord, read_atrs_spreadsheet, record_fields

SPEC = {
    "name": "benefits",
    "description": "Who is likely to take up support.",
    "intended_use": "Prioritising outreach letters.",
    "owner": {
        "organisation": "Example Department",
        "team": "Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "team@example.gov.uk",
    },
}
INFO = {
    "name": "benefits",
    "task": "binary",
    "target": "ui",
    "metric": "roc_auc",
    "candidate": "linear",
    "features": ["tenure", "region"],
    "classes": ["no", "yes"],
    "positive_label": "yes",
    "threshold": 0.4,
    "n_train": 400,
    "n_test": 100,
}
ASSESSMENT = {
    "task": "binary",
    "n_test": 100,
    "metrics": {"roc_auc": {"value": 0.71, "ci": [0.6, 0.8]}},
    "fairness": {"characteristics": []},
}
LINEAGE = {
    "data": {"source": "benefits.csv"},
    "energy": {
        "energy_kwh": 0.0002328898306529193,
        "emissions_g": 0.05533,
        "carbon_intensity_g_per_kwh": 237.6,
        "method": "estimate",
    },
}
#: the gaps of a fresh record of this bundle: 27 fields still holding the marker (5 of them
#: mid-text: alternatives, completeness, collection, cleaning and a risk's mitigation are part
#: generated); the 5 supplier details become gaps only once someone answers that there is an
#: external supplier
FRESH_GAPS = 27

ANSWERS: dict[str, Any] = {
    "metadata.function": "Benefits",
    "metadata.region": "England",
    "owner.senior_responsible_owner_role": "Director of Analytics",
    "owner.external_supplier": "no",
    "rationale.benefit": "Outreach reaches people who would otherwise miss out.",
    "rationale.previous_process": "A letter to everyone.",
    "rationale.alternatives_considered": "A letter to everyone; phoning a random sample.",
    "decisions.process_integration": "Caseworkers see a score beside each case.",
    "decisions.frequency_and_scale_of_usage": "Monthly, about 10,000 cases.",
    "decisions.human_decisions_and_review": "A caseworker decides every contact.",
    "decisions.required_training": "Half a day.",
    "decisions.appeals_and_review": "Through the usual complaints process.",
    "tool.maintenance": "Analytics retrains it yearly.",
    "data.data_completeness_and_representativeness": "Every claimant in England.",
    "data.data_collection": "From the claims system.",
    "data.data_cleaning": "None before civicml.",
    "data.data_sharing_agreements": "None needed.",
    "data.data_access_and_storage": "The Analytics team, on department servers.",
    "impact_assessment.1.description": "No high risks found.",
    "impact_assessment.1.date": "2026-11-01",
    "impact_assessment.1.link": "https://www.gov.uk/example/dpia",
    "impact_assessment.2.description": "No adverse impact found.",
    "impact_assessment.2.date": "2026-11-02",
    "impact_assessment.2.link": "https://www.gov.uk/example/eia",
    "risk.1.risk": "Scores differ between groups.",
    "risk.1.mitigation": "Reviewed monthly by the board.",
    "risk.2.mitigation": "Approved by the board.",
}


def _bundle(tmp_path: Path, tag: str) -> Path:
    docs = {
        "model_info.json": {**INFO, "tag": tag},
        "spec.json": SPEC,
        "assessment.json": ASSESSMENT,
        "checks.json": {"checks": []},
        "lineage.json": LINEAGE,
    }
    return save_bundle(tmp_path / tag, documents=docs).path


@pytest.fixture
def cli(tmp_path, monkeypatch, login):
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    login("Rosa Parks")
    runner = CliRunner()

    def run(*args: Any, code: int = 0) -> Any:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    for tag in ("v1", "v2"):
        run("models", "register", _bundle(tmp_path, tag), "--name", "benefits", "--reason", tag)
    return run


def _write(tmp_path: Path, answers: dict[str, Any], name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(answers), encoding="utf-8")
    return path


def _check(cli: Any, version: int, code: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        cli("atrs", "check", "benefits", version, "--json", code=code).stdout
    )
    return doc


def test_check_lists_every_gap_of_a_fresh_record_with_labels(cli) -> None:
    out = cli("atrs", "check", "benefits", 1, code=1).stdout
    assert f"{FRESH_GAPS} gap(s) in the ATRS record of benefits v1" in out
    assert "2.3 Decision-making process: Appeals and review still says" in out
    assert "(id decisions.appeals_and_review)" in out
    assert "tier2." not in out  # labels for people, never JSON paths

    doc = _check(cli, 1, code=1)
    assert doc["complete"] is False and len(doc["gaps"]) == FRESH_GAPS
    ids = {g["id"] for g in doc["gaps"]}
    # the fields holding the marker only mid-text are listed too
    for mid_text in (
        "rationale.alternatives_considered",
        "data.data_cleaning",
        "data.data_completeness_and_representativeness",
        "data.data_collection",
    ):
        assert mid_text in ids
    # a supplier's details are asked only once someone answers that there is one
    assert "owner.external_supplier" in ids and "owner.supplier_name" not in ids


def test_check_writes_an_answers_template_fill_takes_back(cli, tmp_path) -> None:
    template = tmp_path / "todo.yaml"
    cli("atrs", "check", "benefits", 1, "--template", template, code=1)
    text = template.read_text(encoding="utf-8")
    assert "# 2.3 Decision-making process: Appeals and review still says" in text
    todo = yaml.safe_load(text)
    assert len(todo) == FRESH_GAPS and "owner.supplier_name" not in todo
    assert NEEDS_HUMAN in todo["data.data_cleaning"]  # the generated text, to finish by hand
    edited = {k: ANSWERS.get(k, v) for k, v in todo.items() if k in ANSWERS}
    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, edited))
    assert _check(cli, 1, code=0)["gaps"] == []


def test_fill_refuses_unknown_ids_and_lists_the_valid_ones(cli, tmp_path) -> None:
    bad = _write(tmp_path, {"owner.tea": "Earl Grey", "owner.team": "Analytics"}, "bad.yaml")
    out = cli("atrs", "fill", "benefits", 1, "--from", bad, code=2).output
    assert "1 answer id(s) are not fields of this ATRS record" in out
    assert "owner.senior_responsible_owner_role" in out and "['owner.tea']" in out
    assert len(_check(cli, 1, code=1)["gaps"]) == FRESH_GAPS  # nothing was stored


def test_fill_validates_and_then_publish_writes_three_files(cli, tmp_path) -> None:
    wrong = {
        **ANSWERS,
        "owner.external_supplier": "yes",
        "impact_assessment.1.date": "1 Nov",
        "impact_assessment.1.link": "http://www.gov.uk/dpia",
        "tier1.contact_email": "team",
    }
    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, wrong), "--reason", "draft")
    problems = {g["id"]: g["problem"] for g in _check(cli, 1, code=1)["gaps"]}
    assert problems["impact_assessment.1.date"].startswith("is not a date in ISO 8601 form")
    assert problems["impact_assessment.1.link"] == "is not a web address starting https://"
    assert problems["tier1.contact_email"].startswith("is not an email address")
    assert problems["owner.supplier_name"] == "is empty"
    refused = cli("atrs", "publish", "benefits", 1, "-o", tmp_path / "pub", code=2).output
    assert "cannot be published while" in refused and not (tmp_path / "pub").exists()

    supplier = {
        "owner.supplier_name": "Acme Analytics Ltd",
        "owner.companies_house_number": "SC12345",
        "owner.supplier_role": "Built the pipeline",
        "owner.procurement_procedure": "G-Cloud",
        "owner.data_access_terms": "No access to personal data",
    }
    fixed = {
        **ANSWERS,
        **supplier,
        "owner.external_supplier": "yes",
        "tier1.contact_email": "team@example.gov.uk",
    }
    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, fixed))
    gaps = _check(cli, 1, code=1)["gaps"]
    assert [(g["id"], g["problem"][:34]) for g in gaps] == [
        ("owner.companies_house_number", "is not a Companies House number (8")
    ]
    out = cli(
        "atrs",
        "fill",
        "benefits",
        1,
        "--from",
        _write(tmp_path, {"owner.companies_house_number": "SC123456"}),
    ).stdout
    assert "1 answer(s) stored" in out and "No gaps remain" in out
    assert "has no gaps" in cli("atrs", "check", "benefits", 1).stdout

    pub = tmp_path / "pub"
    out = cli("atrs", "publish", "benefits", 1, "-o", pub).stdout
    assert "atrs.xlsx" in out
    doc = json.loads((pub / "atrs.json").read_text(encoding="utf-8"))
    record = ATRSRecord.model_validate(doc)
    assert record.complete and record.metadata.date_completion
    assert NEEDS_HUMAN not in json.dumps({k: v for k, v in doc.items() if k != "_civicml"})
    assert doc["_civicml"]["needs_human"] == [] and doc["_civicml"]["gaps"] == []
    assert doc["_civicml"]["answers"]["owner.companies_house_number"]["revision"] == 2
    assert doc["_civicml"]["answers"]["metadata.region"]["answered_by"] == "Rosa Parks"

    # the spreadsheet holds every field in the template's order and reads back as the JSON
    sheet = read_atrs_spreadsheet(pub / "atrs.xlsx")
    fields = record_fields(record)
    assert list(sheet) == [f.id for f in fields]
    for f in fields:
        want = f.value
        if want is None:
            want = ""
        elif isinstance(want, bool):
            want = "Yes" if want else "No"
        elif isinstance(want, list):
            want = "; ".join(want)
        assert sheet[f.id] == want, f.id

    html = (pub / "atrs.html").read_text(encoding="utf-8")
    assert "Complete</strong>" in html and NEEDS_HUMAN not in html
    assert "0.0002328898306529193" not in html and "0.00023" in html
    assert "Fields a person must complete" not in html and "Not provided" not in html


def test_answers_carry_to_a_new_version_only_where_not_tied_to_it(cli, tmp_path) -> None:
    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, ANSWERS))
    assert _check(cli, 1, code=0)["complete"] is True
    left = {g["id"] for g in _check(cli, 2, code=1)["gaps"]}
    # what is about this version (its data, its risks) is asked again for v2 ...
    assert left == {
        "rationale.alternatives_considered",
        "data.data_completeness_and_representativeness",
        "data.data_cleaning",
        "risk.1.risk",
        "risk.1.mitigation",
        "risk.2.mitigation",
    }
    # ... what is about the tool (owner, appeals, impact assessments) is not
    assert not left & {
        "owner.senior_responsible_owner_role",
        "decisions.appeals_and_review",
        "impact_assessment.1.date",
        "metadata.region",
    }


def test_audit_verify_detects_an_answer_edited_in_the_table(cli, tmp_path) -> None:
    import sqlalchemy as sa

    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, ANSWERS))
    assert "every table row matches" in cli("models", "audit", "--verify").stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'reg.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE registry_atrs_answers SET answer = '\"Nobody\"' "
            "WHERE field = 'decisions.human_decisions_and_review'"
        )
    engine.dispose()
    out = cli("models", "audit", "--verify", code=1).output
    assert "registry_atrs_answers benefits/0:decisions.human_decisions_and_review" in out


def test_an_unreachable_server_registry_is_one_clear_line(cli, monkeypatch) -> None:
    # a civicml server's registry works (tests/cli/test_atrs_remote.py); one not there is one line
    monkeypatch.setenv("CIVICML_TOKEN", "cml_" + "0" * 16 + "_" + "a" * 43)
    out = cli(
        "atrs", "check", "benefits", 1, "--registry", "https://civicml.example.gov.uk", code=2
    ).output
    assert "Cannot reach the civicml server at https://civicml.example.gov.uk" in out


def test_a_serving_alias_needs_a_complete_record_or_an_exemption(cli, tmp_path, login) -> None:
    login("Ada Lovelace")  # these bundles record no checks: a second person overrides that
    for version in (1, 2):
        cli("models", "override", "benefits", version, "--reason", "Checked by hand")
    login("Rosa Parks")
    for version in (1, 2):
        cli(
            "models", "request-approval", "benefits", version, "--reason", "ready",
            "--oversight", "human-in-the-loop", "--out-of-scope", "Deciding entitlement",
        )  # fmt: skip
    login("Ada Lovelace")
    for version in (1, 2):
        cli("models", "approve", "benefits", version, "--reason", "report read")

    # approved, with every other requirement met: the ATRS record's gaps still stop it
    gaps = _check(cli, 1, code=1)["gaps"]
    refused = " ".join(cli("models", "promote", "benefits", 1, code=2).output.split())
    assert f"it has an ATRS record with {len(gaps)} gaps ({gaps[0]['id']} (" in refused
    assert "civicml atrs exempt" in refused
    shown = " ".join(cli("models", "show", "benefits/1").stdout.split())
    assert f"Not yet ready for production: an ATRS record with {len(gaps)} gaps" in shown
    assert "staging" in cli("models", "promote", "benefits", 1, "--alias", "staging").stdout

    # filled in by a person: it may serve
    cli("atrs", "fill", "benefits", 1, "--from", _write(tmp_path, ANSWERS))
    assert "now points at v1" in cli("models", "promote", "benefits", 1).stdout

    # v2 keeps its own version-tied gaps; the registrant may not exempt it, another person may
    login("Rosa Parks")
    refused = cli("atrs", "exempt", "benefits", 2, "--reason", "National security", code=2).output
    assert "two-person rule" in " ".join(refused.split())
    login("Ada Lovelace")
    assert f"an ATRS record with {len(_check(cli, 2, code=1)['gaps'])} gaps" in " ".join(
        cli("models", "promote", "benefits", 2, code=2).output.split()
    )
    cli("atrs", "exempt", "benefits", 2, code=2)  # a reason is required
    out = cli("atrs", "exempt", "benefits", 2, "--reason", "National security").stdout
    assert "is exempt from the ATRS record: National security" in " ".join(out.split())
    assert "now points at v2" in cli("models", "promote", "benefits", 2).stdout
    out = cli("atrs", "exempt", "benefits", 2, "--withdraw").stdout
    assert "has no ATRS exemption" in out
    events = json.loads(cli("models", "audit", "--json").stdout)["events"]
    assert [e["reason"] for e in events if e["action"] == "atrs.exemption"] == [
        "National security",
        "exemption withdrawn",
    ]
