"""An approved version whose checks fail is not a dead end (issue 20): an approver records an
override with a reason, or rejects it and the registrant asks again; each refusal says which."""

from __future__ import annotations

from typing import Any

import pytest

from civicml._errors import ConflictError, GovernanceError


def _approved_failing(registry: Any, make_bundle: Any) -> int:
    v = registry.register(
        make_bundle(checks=False).path, "benefits", actor="rosa", oversight="human-in-the-loop"
    )
    registry.request_approval("benefits", v.version, actor="rosa", reason="ready")
    registry.approve("benefits", v.version, by="ada", reason="read it")
    return int(v.version)


def test_an_approvers_override_after_approval_lets_it_serve(
    registry: Any, make_bundle: Any
) -> None:
    version = _approved_failing(registry, make_bundle)
    with pytest.raises(GovernanceError) as refused:
        registry.promote("benefits", version, actor="ada")
    assert "civicml models override benefits 1 --reason TEXT" in str(refused.value)
    with pytest.raises(GovernanceError, match="two-person rule"):
        registry.override_checks("benefits", version, by="rosa", reason="mine is fine")
    v = registry.override_checks("benefits", version, by="ada", reason="Gap reviewed by the board")
    assert v.status == "approved" and v.override_by == "ada"
    assert registry.promote("benefits", version, actor="ada").aliases == ("production",)
    assert registry.verify_audit().ok


def test_rejection_then_a_new_request_is_the_other_way_out(registry: Any, make_bundle: Any) -> None:
    version = _approved_failing(registry, make_bundle)
    with pytest.raises(ConflictError) as refused:
        registry.request_approval("benefits", version, actor="rosa", reason="again")
    assert "civicml models reject benefits 1" in str(refused.value)
    registry.reject("benefits", version, by="ada", reason="Checks fail; fix the data first")
    again = registry.request_approval("benefits", version, actor="rosa", reason="data fixed")
    assert again.status == "pending_approval"
    registry.override_checks("benefits", version, by="grace", reason="Accepted by the DPO")
    registry.approve("benefits", version, by="ada", reason="with the override")
    assert registry.promote("benefits", version, actor="ada").aliases == ("production",)
