"""A person's ATRS answers in the registry: versioned, audited, replayed, scoped to the version
only where the field is about the version, and written only by people the registry accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from civicml._errors import GovernanceError, NotFoundError
from civicml.registry import (
    VERSION_TIED,
    Actor,
    atrs_answers,
    open_registry,
    set_atrs_answers,
    version_tied,
)
from civicml.registry._schema import atrs_answers as answers_table

A, B = "Rosa Parks", "Ada Lovelace"


def _two_versions(registry: Any, make_bundle: Any) -> None:
    for _ in range(2):
        registry.register(make_bundle().path, "benefits", actor=A)


def test_answers_are_stored_with_who_when_and_a_revision(registry, make_bundle) -> None:
    _two_versions(registry, make_bundle)
    rows = set_atrs_answers(
        registry,
        "benefits",
        1,
        {"owner.senior_responsible_owner_role": "Director", "model.1.performance": "As measured"},
        actor=A,
        reason="first draft",
    )
    assert {(r["field"], r["version"], r["revision"]) for r in rows} == {
        ("owner.senior_responsible_owner_role", 0, 1),
        ("model.1.performance", 1, 1),
    }
    got = atrs_answers(registry, "benefits", 1)
    assert got["owner.senior_responsible_owner_role"]["answered_by"] == A
    assert got["owner.senior_responsible_owner_role"]["reason"] == "first draft"
    assert got["owner.senior_responsible_owner_role"]["answered_at"].endswith("Z")

    # an unchanged answer is left alone; a changed one gets the next revision, by its author
    again = set_atrs_answers(
        registry,
        "benefits",
        1,
        {
            "owner.senior_responsible_owner_role": "Director of Analytics",
            "model.1.performance": "As measured",
        },
        actor=B,
        reason="correction",
    )
    assert [(r["field"], r["revision"], r["answered_by"]) for r in again] == [
        ("owner.senior_responsible_owner_role", 2, B)
    ]
    assert (
        set_atrs_answers(registry, "benefits", 1, {"model.1.performance": "As measured"}, actor=B)
        == []
    )

    events = [e for e in registry.audit_events() if e.action == "atrs.answers"]
    assert len(events) == 2  # one per change, none for the call that changed nothing
    state = events[-1].details["state"]
    assert state == {
        "benefits/0:owner.senior_responsible_owner_role": {
            "model": "benefits",
            "version": 0,
            "field": "owner.senior_responsible_owner_role",
            "answer": "Director of Analytics",
            "revision": 2,
            "answered_by": B,
            "answered_at": state["benefits/0:owner.senior_responsible_owner_role"]["answered_at"],
            "reason": "correction",
        }
    }
    assert events[-1].subject == "benefits/1" and events[-1].reason == "correction"
    assert registry.verify_audit().ok


def test_only_answers_not_tied_to_the_version_carry_to_a_new_version(registry, make_bundle) -> None:
    _two_versions(registry, make_bundle)
    set_atrs_answers(
        registry,
        "benefits",
        1,
        {
            "tier1.contact_email": "team@example.gov.uk",
            "decisions.appeals_and_review": "Through the complaints process.",
            "impact_assessment.1.date": "2026-11-01",
            "model.1.performance": "AUC 0.7",
            "risk.1.mitigation": "Reviewed monthly",
            "data.data_quantities": "500 rows",
            "metadata.phase": "Production",
        },
        actor=A,
    )
    v2 = atrs_answers(registry, "benefits", 2)
    assert set(v2) == {
        "tier1.contact_email",
        "decisions.appeals_and_review",
        "impact_assessment.1.date",
    }
    assert len(atrs_answers(registry, "benefits", 1)) == 7
    # v2's own answer to a version field does not change v1's
    set_atrs_answers(registry, "benefits", 2, {"model.1.performance": "AUC 0.8"}, actor=A)
    assert atrs_answers(registry, "benefits", 1)["model.1.performance"]["answer"] == "AUC 0.7"
    assert atrs_answers(registry, "benefits", 2)["model.1.performance"]["answer"] == "AUC 0.8"


def test_which_fields_are_tied_to_the_version() -> None:
    for field in (
        "model.1.performance",
        "risk.3.mitigation",
        "energy.summary",
        "data.data_quantities",
        "metadata.date_completion",
        "tool.system_architecture",
    ):
        assert version_tied(field), field
    for field in (
        "owner.team",
        "owner.companies_house_number",
        "tier1.contact_email",
        "tier1.description",
        "rationale.scope",
        "decisions.appeals_and_review",
        "impact_assessment.1.link",
        "data.data_sharing_agreements",
        "metadata.region",
        "modelling",
    ):
        assert not version_tied(field), field
    assert all(isinstance(p, str) for p in VERSION_TIED)


def test_audit_verify_names_an_answer_edited_in_the_table(registry, make_bundle) -> None:
    _two_versions(registry, make_bundle)
    set_atrs_answers(
        registry,
        "benefits",
        1,
        {"owner.team": "Analytics", "risk.1.mitigation": "Monthly"},
        actor=A,
    )
    assert registry.verify_audit().ok
    with registry.store.engine.begin() as conn:
        conn.execute(
            answers_table.update()
            .where(answers_table.c.field == "owner.team")
            .values(answer='"Somebody else"')
        )
    found = registry.verify_audit()
    assert not found.ok
    assert any(
        "registry_atrs_answers benefits/0:owner.team: answer is 'Somebody else' in the table "
        "but 'Analytics' in the audit log" in d
        for d in found.differences
    ), found.differences
    # an admin's recorded repair accepts the row as it stands, and later checks pass
    registry.repair_audit(B, "The team corrected the answer by hand; confirmed with the SRO")
    assert registry.verify_audit().ok
    assert atrs_answers(registry, "benefits", 1)["owner.team"]["answer"] == "Somebody else"


def test_audit_verify_names_answers_deleted_or_added_behind_its_back(registry, make_bundle) -> None:
    _two_versions(registry, make_bundle)
    set_atrs_answers(registry, "benefits", 1, {"risk.1.mitigation": "Monthly"}, actor=A)
    with registry.store.engine.begin() as conn:
        conn.execute(answers_table.delete())
        conn.execute(
            answers_table.insert().values(
                model="benefits",
                version=0,
                field="owner.team",
                answer='"X"',
                revision=1,
                answered_by=A,
                answered_at="2026-12-06T00:00:00.000000Z",
            )
        )
    text = "\n".join(registry.verify_audit().differences)
    assert (
        "registry_atrs_answers benefits/1:risk.1.mitigation: in the audit log but not in the "
        "table (deleted)" in text
    )
    assert (
        "registry_atrs_answers benefits/0:owner.team: in the table but no audit event "
        "created it" in text
    )


def test_writes_follow_the_registry_rules(registry, make_bundle, tmp_path: Path) -> None:
    _two_versions(registry, make_bundle)
    with pytest.raises(NotFoundError):
        set_atrs_answers(registry, "benefits", 9, {"owner.team": "x"}, actor=A)
    with pytest.raises(GovernanceError, match="is not text"):
        set_atrs_answers(registry, "benefits", 1, {"owner.team": {"a": 1}}, actor=A)
    with pytest.raises(Exception, match="actor"):
        set_atrs_answers(registry, "benefits", 1, {"owner.team": "x"}, actor="  ")
    assert atrs_answers(registry, "benefits", 1) == {}

    url = f"sqlite:///{tmp_path / 'server.db'}"
    artifacts = str(tmp_path / "server-artifacts")
    with open_registry(url, artifacts=artifacts, project_dir=tmp_path) as embedded:
        embedded.register(make_bundle().path, "benefits", actor=A)  # registered before serving
    server = open_registry(url, artifacts=artifacts, project_dir=tmp_path, server=True)
    try:
        with pytest.raises(GovernanceError, match="was not signed in"):
            set_atrs_answers(server, "benefits", 1, {"owner.team": "x"}, actor=A)
        rows = set_atrs_answers(
            server, "benefits", 1, {"owner.team": "x"}, actor=Actor(B, verified=True, via="oidc")
        )
        assert rows[0]["answered_by"] == B
        event = [e for e in server.audit_events() if e.action == "atrs.answers"][0]
        assert event.details["identity"]["verified"] is True
    finally:
        server.close()


def test_the_answer_table_is_in_the_schema_from_migration_0005() -> None:
    from pathlib import Path

    import civicml.storage
    from civicml.storage import HEAD_REVISION, metadata

    assert HEAD_REVISION >= "0005"
    versions = Path(civicml.storage.__file__).parent / "migrations" / "versions"
    assert "registry_atrs_answers" in (versions / "0005_atrs_answers.py").read_text()
    assert "registry_atrs_answers" in metadata.tables
    cols = {c.name for c in metadata.tables["registry_atrs_answers"].columns}
    assert cols == {
        "model",
        "version",
        "field",
        "answer",
        "revision",
        "answered_by",
        "answered_at",
        "reason",
    }
    assert sa.inspect(metadata.tables["registry_atrs_answers"]).primary_key.columns.keys() == [
        "model",
        "version",
        "field",
    ]


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    for name in ("civicml.registry._atrs_answers", "civicml.registry._replay"):
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, name
