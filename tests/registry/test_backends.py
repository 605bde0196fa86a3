"""The shared backend suite: every test runs on in-memory SQLite, a SQLite file and Postgres."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civicml._errors import (
    ConflictError,
    GovernanceError,
    IntegrityError,
    NotFoundError,
    RegistryError,
)

A, B, C = "Rosa Parks", "Ada Lovelace", "Grace Hopper"


def _approved(reg, make_bundle, name="benefits", **kw):
    v = reg.register(make_bundle(**kw).path, name, actor=A, oversight="human-in-the-loop")
    reg.request_approval(name, v.version, actor=A, reason="Ready for review")
    return reg.approve(name, v.version, by=B, reason="Read the assessment report")


def test_register_numbers_versions_and_stores_bundle(registry, make_bundle):
    b1, b2 = make_bundle(), make_bundle()
    v1 = registry.register(b1.path, "benefits", actor=A, reason="first")
    v2 = registry.register(b2.path, "benefits", actor=A)
    other = registry.register(b1.path, "housing", actor=A)
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert v1.digest == b1.digest and v1.status == "registered" and v1.task == "binary"
    assert v1.owner["team"] == "Benefits Analytics" and v1.out_of_scope_uses
    assert v1.checks_passed is True and len(v1.checks) == 2
    assert registry.artifacts.has(b1.digest)
    loaded = registry.load_version("benefits/1")
    assert loaded.digest == b1.digest and loaded.info["tag"] == b1.info["tag"]
    assert registry.get_version("benefits", 2).created_by == A


def test_same_bundle_twice_is_a_conflict(registry, make_bundle):
    b = make_bundle()
    registry.register(b.path, "benefits", actor=A)
    with pytest.raises(ConflictError, match=r"benefits v1 already holds this bundle"):
        registry.register(b.path, "benefits", actor=A)
    assert registry.get_model("benefits").latest_version == 1


def test_not_found_messages(registry, make_bundle):
    with pytest.raises(NotFoundError, match="no model named 'nope'"):
        registry.get_version("nope", 1)
    registry.register(make_bundle().path, "benefits", actor=A)
    with pytest.raises(NotFoundError, match="has no version 9"):
        registry.get_version("benefits", 9)
    with pytest.raises(NotFoundError, match="has no alias 'production'"):
        registry.resolve("benefits@production")
    with pytest.raises(NotFoundError):
        registry.list_versions("nope")


def test_register_refuses_a_tampered_bundle(registry, make_bundle):
    b = make_bundle()
    (b.path / "model.bin").write_bytes(b"evil")
    with pytest.raises(IntegrityError):
        registry.register(b.path, "benefits", actor=A)
    assert registry.list_models() == []


def test_bad_names_are_refused(registry, make_bundle):
    b = make_bundle()
    for bad in ("../x", "a/b", "", "x;rm", "-lead", "a\\b", "%2e%2e"):
        with pytest.raises(RegistryError):
            registry.register(b.path, bad, actor=A)
    with pytest.raises(RegistryError):
        registry.resolve("benefits@../prod")


def test_self_approval_is_refused_with_a_clear_message(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    registry.request_approval("benefits", 1, actor=A, reason="please")
    with pytest.raises(GovernanceError) as err:
        registry.approve("benefits", 1, by=" rosa parks ", reason="I checked it myself")
    assert str(err.value) == (
        "Rosa Parks registered benefits v1, so rosa parks cannot approve it (two-person rule). "
        "Ask another person who holds the approver role to run 'civicml models approve "
        "benefits 1 --reason TEXT' as themselves."
    )
    assert registry.get_version("benefits", 1).status == "pending_approval"


def test_approval_needs_a_request_first(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    with pytest.raises(ConflictError) as err:
        registry.approve("benefits", 1, by=B, reason="looks fine")
    assert "has not been put forward for approval" in str(err.value)
    assert "civicml models request-approval benefits 1" in str(err.value)
    assert registry.get_version("benefits", 1).status == "registered"
    registry.request_approval(
        "benefits", 1, actor=A, reason="please", oversight="human-in-the-loop"
    )
    assert registry.approve("benefits", 1, by=B, reason="looks fine").status == "approved"


def test_reasons_are_required(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    with pytest.raises(RegistryError, match="reason is required"):
        registry.request_approval("benefits", 1, actor=A, reason="  ")
    with pytest.raises(RegistryError, match="reason is required"):
        registry.approve("benefits", 1, by=B, reason="")


def test_full_governance_flow_and_decisions(registry, make_bundle):
    v = _approved(registry, make_bundle)
    assert v.status == "approved" and v.approved_by == B
    promoted = registry.promote("benefits", 1, actor=C, reason="go live")
    assert promoted.aliases == ("production",)
    assert registry.resolve("benefits").version == 1
    kinds = [(d.kind, d.actor) for d in registry.decisions("benefits", 1)]
    assert kinds == [("request", A), ("approve", B)]
    with pytest.raises(ConflictError, match="already approved"):
        registry.approve("benefits", 1, by=C, reason="again")
    with pytest.raises(ConflictError, match="approved by Ada Lovelace"):
        registry.set_governance("benefits", 1, actor=A, oversight="advisory")


@pytest.mark.parametrize(
    ("spec", "oversight", "lawful", "checks", "needle"),
    [
        (None, "advisory", None, True, "no owner team"),
        (
            {"owner": {"team": "T", "senior_responsible_owner": "S", "contact": "c"}},
            "advisory",
            None,
            True,
            "no intended use",
        ),
        ("good", None, None, True, "no human oversight mode"),
        ("good", "solely-automated", None, True, "no recorded lawful basis"),
        ("good", "advisory", None, False, "failing checks ['fairness_gap']"),
        ("good", "advisory", None, None, "no assessment checks"),
    ],
)
def test_production_needs_every_governance_field(
    registry, make_bundle, good_spec, spec, oversight, lawful, checks, needle
):
    spec = good_spec if spec == "good" else spec
    registry.register(make_bundle(spec=spec, checks=checks).path, "benefits", actor=A)
    registry.request_approval(
        "benefits",
        1,
        actor=A,
        reason="ready",
        oversight=oversight,
        lawful_basis=lawful,
        legal={"safeguards": {"information": "I", "contest": "C", "human_intervention": "H"}},
    )
    registry.approve("benefits", 1, by=B, reason="ok")
    with pytest.raises(GovernanceError, match=r"cannot take the 'production' alias") as err:
        registry.promote("benefits", 1, actor=B)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(NotFoundError):
        registry.resolve("benefits@production")


def test_unapproved_version_cannot_take_production(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A, oversight="advisory")
    with pytest.raises(GovernanceError, match=r"status 'registered', not 'approved'"):
        registry.promote("benefits", 1, actor=B)
    registry.promote("benefits", 1, alias="challenger", actor=B)  # other aliases move freely
    assert registry.resolve("benefits@challenger").version == 1
    with pytest.raises(NotFoundError):
        registry.resolve("benefits@production")


def test_override_is_recorded_and_unblocks_failing_checks(registry, make_bundle):
    registry.register(make_bundle(checks=False).path, "benefits", actor=A, oversight="advisory")
    with pytest.raises(RegistryError, match="reason is required"):
        registry.override_checks("benefits", 1, by=C, reason="")
    registry.override_checks("benefits", 1, by=C, reason="Gap within tolerance agreed by DPO")
    registry.request_approval("benefits", 1, actor=A, reason="ready")
    registry.approve("benefits", 1, by=B, reason="ok with the override")
    v = registry.promote("benefits", 1, actor=B)
    assert v.override_by == C and "production" in v.aliases
    actions = [e.action for e in registry.audit_events(subject="benefits/1")]
    assert actions == ["register", "override", "request_approval", "approve"]


def test_solely_automated_with_lawful_basis_can_go_live(registry, make_bundle):
    v = registry.register(make_bundle().path, "benefits", actor=A)
    assert v.oversight is None
    registry.request_approval(
        "benefits",
        1,
        actor=A,
        reason="ready",
        oversight="solely-automated",
        lawful_basis="public-task",
        legal={"safeguards": {"information": "I", "contest": "C", "human_intervention": "H"}},
    )
    registry.approve("benefits", 1, by=B, reason="ok")
    assert registry.promote("benefits", 1, actor=B).oversight == "solely-automated"


def test_unknown_oversight_mode_is_refused(registry, make_bundle):
    with pytest.raises(RegistryError, match="oversight mode 'automatic' is not known"):
        registry.register(make_bundle().path, "benefits", actor=A, oversight="automatic")


def test_reject_then_request_again(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A, oversight="advisory")
    registry.request_approval("benefits", 1, actor=A, reason="ready")
    v = registry.reject("benefits", 1, by=B, reason="Calibration plot is off")
    assert v.status == "rejected"
    with pytest.raises(ConflictError, match="was rejected"):
        registry.approve("benefits", 1, by=B, reason="ok")
    with pytest.raises(GovernanceError, match="rejected"):
        registry.promote("benefits", 1, alias="challenger", actor=B)
    registry.request_approval("benefits", 1, actor=A, reason="recalibrated the threshold")
    assert registry.approve("benefits", 1, by=B, reason="fine now").status == "approved"


def test_aliases_move_atomically_and_rollback(registry, make_bundle):
    for _ in range(3):
        _approved(registry, make_bundle)
    registry.promote("benefits", 1, actor=B)
    registry.promote("benefits", 2, actor=B)
    registry.promote("benefits", 3, actor=B, reason="better recall")
    registry.promote("benefits", 3, alias="challenger", actor=B)
    assert registry.get_model("benefits").aliases == {"challenger": 3, "production": 3}
    back = registry.rollback("benefits", actor=C, reason="v3 over-flags in Wales")
    assert back.version == 2 and registry.resolve("benefits@production").version == 2
    assert registry.rollback("benefits", actor=C, reason="v2 too").version == 1
    with pytest.raises(NotFoundError, match="no earlier approved version"):
        registry.rollback("benefits", actor=C, reason="again")
    assert registry.resolve("benefits@challenger").version == 3
    events = registry.audit_events(subject="benefits@production")
    assert [e.action for e in events][-2:] == ["rollback", "rollback"]
    assert events[-2].details == {
        "alias": "production",
        "previous": 3,
        "version": 2,
        "identity": {"verified": False, "via": "api"},
    }


def test_rollback_skips_a_version_rejected_since(registry, make_bundle):
    for _ in range(3):
        _approved(registry, make_bundle)
    for n in (1, 2, 3):
        registry.promote("benefits", n, actor=B)
    registry.reject("benefits", 2, by=C, reason="data leak found")
    with pytest.raises(ConflictError, match="serving as production"):
        registry.reject("benefits", 3, by=C, reason="no")
    assert registry.rollback("benefits", actor=C, reason="v3 bad").version == 1


def test_rollback_falls_back_to_older_approved_version(registry, make_bundle):
    _approved(registry, make_bundle)
    _approved(registry, make_bundle)
    registry.promote("benefits", 2, actor=B)  # v1 never held production
    assert registry.rollback("benefits", actor=C, reason="v2 bad").version == 1


def test_remove_alias(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    registry.set_alias("benefits", "staging", 1, actor=B)
    registry.remove_alias("benefits", "staging", actor=B, reason="done")
    assert registry.get_model("benefits").aliases == {}


def test_listing_pagination_and_search(registry, make_bundle):
    b = make_bundle()
    for i in range(12):
        registry.register(b.path, f"model-{i:02d}", actor=A)
    names = [m.name for m in registry.list_models(limit=5, offset=5)]
    assert names == [f"model-{i:02d}" for i in range(5, 10)]
    assert [m.name for m in registry.list_models(search="L-1")] == ["model-10", "model-11"]
    assert registry.list_models(search="%") == []
    for _ in range(6):
        registry.register(make_bundle().path, "many", actor=A)
    page1 = registry.list_versions("many", limit=4)
    page2 = registry.list_versions("many", limit=4, before=page1[-1].version)
    assert [v.version for v in page1] == [6, 5, 4, 3] and [v.version for v in page2] == [2, 1]
    assert [v.version for v in registry.list_versions("many", limit=2, offset=1)] == [5, 4]
    registry.set_alias("many", "challenger", 5, actor=B)
    assert registry.list_versions("many", limit=2, offset=1)[0].aliases == ("challenger",)


def test_listing_is_not_n_plus_one(registry, make_bundle):
    engine = registry.store.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries(fn):
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            fn()
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    b = make_bundle()
    for i in range(3):
        registry.register(b.path, f"m{i}", actor=A)
        registry.set_alias(f"m{i}", "challenger", 1, actor=B)
    for _ in range(3):
        registry.register(make_bundle().path, "big", actor=A)
    small_models = queries(lambda: registry.list_models())
    small_versions = queries(lambda: registry.list_versions("big"))
    for i in range(3, 12):
        registry.register(b.path, f"m{i}", actor=A)
        registry.set_alias(f"m{i}", "challenger", 1, actor=B)
    for _ in range(9):
        registry.register(make_bundle().path, "big", actor=A)
    assert len(registry.list_models()) == 13
    assert queries(lambda: registry.list_models()) == small_models
    assert queries(lambda: registry.list_versions("big")) == small_versions
    assert small_models <= 4 and small_versions <= 5  # BEGIN + a few SELECTs


def test_audit_records_every_change_and_verifies(registry, make_bundle):
    _approved(registry, make_bundle)
    registry.promote("benefits", 1, actor=B)
    registry.create_token("ci", ["predict"], A)
    registry.revoke_token("ci", B, "rotated")
    events = registry.audit_events()
    assert [e.action for e in events] == [
        "register",
        "request_approval",
        "approve",
        "alias",
        "token.issue",
        "token.revoke",
    ]
    assert [e.seq for e in events] == list(range(1, 7))
    assert all(e.actor and e.time.endswith("Z") for e in events)
    assert events[2].reason == "Read the assessment report"
    assert events[1].prev_hash == events[0].hash
    result = registry.verify_audit()
    assert result.ok and result.events == 6


def test_tokens_issue_verify_revoke(registry):
    token = registry.create_token("serving", ["predict", "viewer"], A, rate_limit="50/s")
    assert token.startswith("cml_") and len(token) > 50
    info = registry.verify_token(token)
    assert info is not None and info.scopes == ("predict", "viewer") and info.rate_limit == "50/s"
    assert info.allows("predict") and not info.allows("admin")
    assert registry.verify_token(token) is info  # cached
    assert registry.verify_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert registry.verify_token("cml_0000000000000000_" + "x" * 43) is None
    assert registry.verify_token("garbage") is None
    listed = registry.list_tokens()
    assert [t.name for t in listed] == ["serving"] and "hash" not in listed[0].to_dict()
    with pytest.raises(ConflictError, match="already exists"):
        registry.create_token("serving", ["predict"], A)
    with pytest.raises(RegistryError, match="scope is not known"):
        registry.create_token("x", ["root"], A)
    with pytest.raises(RegistryError, match="rate limit"):
        registry.create_token("x", ["predict"], A, rate_limit="fast")
    revoked = registry.revoke_token("serving", B, "leaked in a log")
    assert revoked.revoked_by == B
    assert registry.verify_token(token) is None
    with pytest.raises(ConflictError, match="already revoked"):
        registry.revoke_token(revoked.id, B, "again")
    with pytest.raises(NotFoundError):
        registry.revoke_token("nope", B, "x")
    stored = registry.store.get_token(info.id)
    assert token not in (stored.hash, stored.salt) and len(stored.salt) == 32


def test_token_never_appears_in_audit(registry):
    token = registry.create_token("svc", "predict", A)
    secret = token.split("_", 2)[2]
    assert all(secret not in str(e.to_dict()) for e in registry.audit_events())
