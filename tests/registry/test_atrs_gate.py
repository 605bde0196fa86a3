"""A serving alias needs a complete ATRS record or a recorded exemption (issue 18).

The registry cannot build the record itself (that is the report's job), so it asks the check it
was given (:attr:`Registry.atrs_check`; the CLI, server and dashboard give it
:func:`civicml.web.atrs_gaps`) and fails closed without one. An exemption is recorded by another
person than the registrant, with a reason, audited, and belongs to one version.
"""

from __future__ import annotations

from typing import Any

import pytest

from civicml._errors import GovernanceError, RegistryError
from civicml.registry import EXEMPTION


def _approved(registry: Any, make_bundle: Any, name: str = "benefits") -> int:
    v = registry.register(make_bundle().path, name, actor="rosa", oversight="human-in-the-loop")
    registry.request_approval(name, v.version, actor="rosa", reason="ready")
    registry.approve(name, v.version, by="ada", reason="reviewed")
    return int(v.version)


def test_without_a_check_a_serving_alias_is_refused_and_staging_is_not(
    registry: Any, make_bundle: Any
) -> None:
    version = _approved(registry, make_bundle)
    registry.atrs_check = None
    with pytest.raises(GovernanceError, match="ATRS record this process cannot check"):
        registry.promote("benefits", version, actor="ada")
    for alias in ("Production", "live"):
        with pytest.raises(GovernanceError, match="ATRS record"):
            registry.set_alias("benefits", alias, version, actor="ada")
    assert registry.set_alias("benefits", "staging", version, actor="ada").aliases == ("staging",)
    assert any("cannot check" in p for p in registry.serving_problems("benefits", version))


def test_gaps_are_named_and_a_complete_record_serves(registry: Any, make_bundle: Any) -> None:
    version = _approved(registry, make_bundle)
    seen: list[str] = []

    def gaps(reg: Any, v: Any) -> list[str]:
        seen.append(v.ref)
        return [f"field.{i} (is empty)" for i in range(6)]

    registry.atrs_check = gaps
    with pytest.raises(GovernanceError) as err:
        registry.promote("benefits", version, actor="ada")
    assert "an ATRS record with 6 gaps (field.0 (is empty)" in str(err.value)
    assert "and 2 more" in str(err.value) and "civicml atrs exempt" in str(err.value)
    assert seen == ["benefits/1"]
    assert registry.get_version("benefits", version).aliases == ()

    registry.atrs_check = lambda reg, v: []
    assert registry.promote("benefits", version, actor="ada").aliases == ("production",)


def test_a_check_that_cannot_build_the_record_refuses(registry: Any, make_bundle: Any) -> None:
    from civicml._errors import BundleError

    version = _approved(registry, make_bundle)

    def broken(reg: Any, v: Any) -> list[str]:
        raise BundleError.build("Bundle has no assessment.json")

    registry.atrs_check = broken
    with pytest.raises(GovernanceError, match="could not be built .*no assessment.json"):
        registry.promote("benefits", version, actor="ada")


def test_an_exemption_by_another_person_with_a_reason_lets_it_serve(
    registry: Any, make_bundle: Any
) -> None:
    version = _approved(registry, make_bundle)
    registry.atrs_check = lambda reg, v: ["owner.team (is empty)"]

    with pytest.raises(GovernanceError, match="two-person rule"):
        registry.record_atrs_exemption(
            "benefits", version, reason="National security", actor="rosa"
        )
    with pytest.raises(RegistryError, match="reason is required"):
        registry.record_atrs_exemption("benefits", version, reason="  ", actor="ada")
    assert registry.atrs_exemption("benefits", version) is None

    row = registry.record_atrs_exemption(
        "benefits", version, reason="National security exemption", actor="ada"
    )
    assert row["answer"] == "National security exemption" and row["answered_by"] == "ada"
    assert registry.serving_problems("benefits", version) == []
    assert registry.promote("benefits", version, actor="ada").aliases == ("production",)

    events = [e for e in registry.audit_events() if e.action == "atrs.answers"]
    events = [e for e in registry.audit_events() if e.action == "atrs.exemption"]
    assert events and events[-1].details["fields"] == [EXEMPTION]
    assert events[-1].actor == "ada" and events[-1].reason == "National security exemption"
    assert registry.verify_audit().ok

    # the exemption belongs to that version only
    v2 = _approved(registry, make_bundle)
    assert registry.atrs_exemption("benefits", v2) is None
    with pytest.raises(GovernanceError, match="1 gap"):
        registry.promote("benefits", v2, actor="ada")


def test_a_withdrawn_exemption_no_longer_serves(registry: Any, make_bundle: Any) -> None:
    version = _approved(registry, make_bundle)
    registry.atrs_check = lambda reg, v: ["owner.team (is empty)"]
    registry.record_atrs_exemption("benefits", version, reason="Crime prevention", actor="ada")
    assert registry.record_atrs_exemption("benefits", version, reason=None, actor="ada") is None
    with pytest.raises(GovernanceError, match="1 gap"):
        registry.promote("benefits", version, actor="ada")
