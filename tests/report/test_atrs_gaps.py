"""Every gap of an ATRS record, named for people: the marker anywhere in a field's text, empty
mandatory fields, and emails, dates, web addresses and Companies House numbers checked; a record
with any gap is never complete; the page rounds numbers and lists gaps by label."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from civicml._errors import GovernanceError
from civicml.report import (
    NEEDS_HUMAN,
    ATRSRecord,
    answer_ids,
    apply_answers,
    bundle_atrs,
    find_gaps,
    mark_complete,
    missing_fields,
    publish_atrs,
    record_fields,
)
from civicml.report._render import write_atrs

COMMON = {"css": "", "version": "t", "generated": "now", "digest": "ab" * 32}


def _leaves_with_marker(doc: object, path: str = "") -> set[str]:
    """JSON paths of every text holding the marker, found independently of civicml."""
    if isinstance(doc, dict):
        return set().union(
            *(_leaves_with_marker(v, f"{path}.{k}" if path else k) for k, v in doc.items())
        )
    if isinstance(doc, list) and doc and all(isinstance(x, dict) for x in doc):
        return set().union(*(_leaves_with_marker(v, f"{path}[{i}]") for i, v in enumerate(doc)))
    return {path} if isinstance(doc, str) and NEEDS_HUMAN in doc else set()


@pytest.fixture(scope="module")
def record(bundle_dir: Path) -> ATRSRecord:
    return bundle_atrs(bundle_dir)


def test_every_field_holding_the_marker_anywhere_is_a_gap(record: ATRSRecord) -> None:
    doc = record.model_dump(mode="json", exclude={"civicml", "complete"})
    marked = _leaves_with_marker(doc)
    mid_text = {p for p in marked if not str(_at(doc, p)).startswith(NEEDS_HUMAN)}
    assert mid_text, "the generated record has fields with the marker mid-text"
    gaps = find_gaps(record)
    paths = {g.path for g in gaps}
    assert marked <= paths and mid_text <= paths
    assert set(missing_fields(record)) == paths == set(record.civicml["needs_human"])
    assert [g["id"] for g in record.civicml["gaps"]] == [g.id for g in gaps]
    # nothing else: a supplier's details are asked only once someone says there is one
    assert {g.id for g in gaps if g.path not in marked} == set()
    assert "owner.external_supplier" in {g.id for g in gaps}
    assert all(": " in g.label and g.path not in g.label for g in gaps)


def _at(doc: object, path: str) -> object:
    node = doc
    for part in re.findall(r"[^.\[\]]+", path):
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    return node


def test_a_record_with_the_marker_mid_text_is_never_complete() -> None:
    filled = _filled()
    assert find_gaps(filled) == []
    mark_complete(filled)  # complete when nothing is left
    text = f"Letters to everyone. {NEEDS_HUMAN}: anything else"
    half = apply_answers(filled, {"rationale.previous_process": text})
    gaps = find_gaps(half)
    assert [(g.id, g.label, g.problem) for g in gaps] == [
        (
            "rationale.previous_process",
            "2.2 Description and rationale: Previous process",
            f"still says {NEEDS_HUMAN!r}",
        )
    ]
    with pytest.raises(GovernanceError, match=r"cannot be marked complete while 1 field"):
        mark_complete(half)
    with pytest.raises(ValueError, match="cannot be complete"):
        ATRSRecord.model_validate({**half.to_json_dict(), "complete": True})


@pytest.mark.parametrize(
    ("field", "good", "bad", "problem"),
    [
        ("tier1.contact_email", "team@dept.gov.uk", "team at dept", "is not an email address"),
        ("tier1.website", "https://www.gov.uk/x", "http://www.gov.uk/x", "is not a web address"),
        ("data.source_url", "https://data.gov.uk/d", "data.gov.uk/d", "is not a web address"),
        ("impact_assessment.1.link", "https://gov.uk/dpia", "ftp://gov.uk/dpia", "web address"),
        ("impact_assessment.1.date", "2026-11-01", "01/11/2026", "is not a date in ISO 8601"),
        ("metadata.date_update", ["2026-11-01", "2026-12-01"], ["2026-13-01"], "is not a date"),
        ("owner.companies_house_number", "01234567", "1234567", "Companies House number"),
        ("owner.companies_house_number", "SC123456", "SCO12345", "Companies House number"),
        ("owner.companies_house_number", "NI012345", "S1234567", "Companies House number"),
    ],
)
def test_values_are_checked(field: str, good: object, bad: object, problem: str) -> None:
    base = _filled(supplier=True)
    assert find_gaps(apply_answers(base, {field: good})) == []
    gaps = find_gaps(apply_answers(base, {field: bad}))
    assert [g.id for g in gaps] == [field] and problem in gaps[0].problem, gaps


def test_the_supplier_details_are_needed_only_with_a_supplier() -> None:
    details = (
        "supplier_name",
        "companies_house_number",
        "supplier_role",
        "procurement_procedure",
        "data_access_terms",
    )
    none = apply_answers(_filled(), {f"owner.{d}": None for d in details})
    assert find_gaps(none) == []
    with_one = apply_answers(none, {"owner.external_supplier": "yes"})
    assert {g.id for g in find_gaps(with_one)} == {
        "owner.supplier_name",
        "owner.companies_house_number",
        "owner.supplier_role",
        "owner.procurement_procedure",
        "owner.data_access_terms",
    }


def test_the_page_rounds_numbers_and_lists_gaps_by_label(
    record: ATRSRecord, tmp_path: Path
) -> None:
    energy = record.tier2.tool_specification.energy
    assert energy is not None
    energy.training_energy_kwh = 0.0002328898306529193
    energy.carbon_intensity_g_co2e_per_kwh = 237.63
    _, html_path = write_atrs(tmp_path, record, COMMON)
    html = html_path.read_text(encoding="utf-8")
    assert "0.0002328898306529193" not in html and ">0.00023<" in html
    assert ">238<" in html and "237.63" not in html
    todo = html.split('id="to-complete"', 1)[1]
    assert "2.3 Decision-making process: Appeals and review still says" in todo
    assert "<code>tier2." not in todo and "<code>decisions.appeals_and_review</code>" in todo


def test_publish_refuses_while_gaps_remain_and_writes_nothing(
    record: ATRSRecord, tmp_path: Path
) -> None:
    with pytest.raises(GovernanceError, match=r"cannot be published while \d+ gap"):
        publish_atrs(record, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    paths = publish_atrs(_filled(), tmp_path / "out", date="2026-12-06")
    doc = json.loads(paths.json.read_text(encoding="utf-8"))
    assert doc["complete"] is True and doc["metadata"]["date_completion"] == "2026-12-06"
    assert paths.html.is_file() and paths.xlsx.is_file()


def test_answer_ids_cover_every_field_but_the_fixed_ones(record: ATRSRecord) -> None:
    ids = answer_ids(record)
    assert len(ids) == len(set(ids)) == len(record_fields(record)) - 2
    assert "metadata.id" not in ids and "risk.1.mitigation" in ids


def _filled(*, supplier: bool = False) -> ATRSRecord:
    """A record with every mandatory field answered (no supplier unless asked)."""
    rec = ATRSRecord(
        metadata={"id": "letters-1"},
        tier2={
            "tool_specification": {"models": [{"datasets": [{}]}]},
            "risks_mitigations_and_impact_assessments": {
                "impact_assessments": [{}],
                "risks": [{}],
            },
        },
    )
    answers: dict[str, object] = {}
    for f in record_fields(rec):
        if f.id in answer_ids(rec) and f.value in (None, [], ""):
            answers[f.id] = "Answered."
    answers.update(
        {
            "tier1.contact_email": "team@dept.gov.uk",
            "impact_assessment.1.date": "2026-11-01",
            "impact_assessment.1.link": "https://www.gov.uk/dpia",
            "owner.external_supplier": "yes" if supplier else "no",
            "owner.companies_house_number": "SC123456",
        }
    )
    for optional in (
        "metadata.date_completion",
        "metadata.date_update",
        "metadata.date_archive",
        "tier1.website",
        "data.source_url",
    ):
        answers.pop(optional, None)
    return apply_answers(rec, answers)


def test_publish_docstring_examples_run() -> None:
    import doctest
    import importlib

    module = importlib.import_module("civicml.report._atrs_publish")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_a_trial_bundle_gets_its_own_record(tmp_path: Path) -> None:
    from civicml.bundle import save_bundle

    report = {
        "name": "letters",
        "spec": {"arms": ["a", "b"], "context": ["x"], "description": "Which letter works."},
        "policy": {"policy": "linucb", "min_propensity": 0.05},
        "policy_version": 1,
        "decisions": 10,
        "rewarded": 4,
        "arms": [],
        "ope": [],
    }
    docs = {
        "model_info.json": {"task": "bandit", "name": "letters"},
        "report.json": report,
        "checks.json": {"checks": []},
    }
    rec = bundle_atrs(save_bundle(tmp_path / "b", documents=docs).path)
    assert rec.tier2.tool_specification.models[0].task == "Contextual bandit (adaptive trial)"
    assert "decisions.human_decisions_and_review" in {g.id for g in find_gaps(rec)}
