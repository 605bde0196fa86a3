"""Reviews on a schedule and retirement (issue 21): a version past its review date says so, and
a retired version can never be approved, promoted, served or rolled back to again."""

from __future__ import annotations

from typing import Any

import pytest

from civicml._errors import ConflictError, GovernanceError, NotFoundError
from civicml.registry import review_state


def _approved(registry: Any, make_bundle: Any, spec: dict | None = None) -> Any:
    from registry.conftest import GOOD_SPEC

    bundle = make_bundle(spec={**GOOD_SPEC, **(spec or {})})
    v = registry.register(bundle.path, "benefits", actor="rosa", oversight="human-in-the-loop")
    registry.request_approval("benefits", v.version, actor="rosa", reason="ready")
    return registry.approve("benefits", v.version, by="ada", reason="read it")


def test_a_review_is_due_review_every_months_after_approval_or_the_last_review(
    registry: Any, make_bundle: Any
) -> None:
    v = _approved(registry, make_bundle, {"review_every": 6})
    assert v.legal["review_every_months"] == 6
    state = registry.review_state("benefits", v.version)
    approved = v.approved_at[:10]
    assert state["due"] > approved and state["overdue"] is False and state["last_review"] is None
    # seen from a day after the due date it is overdue
    later = review_state(v, registry.decisions("benefits", v.version), today="2999-01-01")
    assert later["overdue"] is True

    reviewed = registry.review("benefits", v.version, actor="grace", notes="Drift checked; fine")
    assert reviewed.status == "approved"
    decisions = registry.decisions("benefits", v.version)
    assert decisions[-1].kind == "review" and decisions[-1].actor == "grace"
    assert registry.review_state("benefits", v.version)["last_review"] is not None
    assert registry.verify_audit().ok
    from civicml.registry import check_legal

    with pytest.raises(Exception, match="read from the bundle"):
        check_legal({"review_every_months": 120})


def test_a_retired_version_never_comes_back(registry: Any, make_bundle: Any) -> None:
    v1 = _approved(registry, make_bundle)
    v2 = _approved(registry, make_bundle)
    registry.promote("benefits", v1.version, actor="ada")
    registry.promote("benefits", v2.version, actor="ada")
    registry.set_alias("benefits", "staging", v2.version, actor="ada")

    with pytest.raises(ConflictError, match="serving as production"):
        registry.retire("benefits", v2.version, actor="ada", reason="superseded")
    gone = registry.retire("benefits", v1.version, actor="ada", reason="superseded by v2")
    assert gone.status == "retired" and gone.aliases == ()
    with pytest.raises(ConflictError, match="retired"):
        registry.request_approval("benefits", v1.version, actor="rosa", reason="again")
    with pytest.raises(ConflictError, match="retired"):
        registry.reject("benefits", v1.version, by="ada", reason="so it can be asked again")
    for alias in ("production", "staging"):
        with pytest.raises(GovernanceError):
            registry.set_alias("benefits", alias, v1.version, actor="ada")
    # nothing approved below v2 to roll back to: v1 is retired
    with pytest.raises((ConflictError, GovernanceError, NotFoundError)):
        registry.rollback("benefits", actor="ada", reason="v2 misbehaves")

    out = registry.retire("benefits", v2.version, actor="ada", reason="service closed", force=True)
    assert out.status == "retired" and out.aliases == ()
    assert "production" not in registry.get_model("benefits").aliases
    kinds = [d.kind for d in registry.decisions("benefits", v2.version)]
    assert kinds[-1] == "retire"
    assert registry.verify_audit().ok
