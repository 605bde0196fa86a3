"""The record cannot be changed quietly: a keyed chain, full-state events replayed against the
tables, writes refused while broken, an audited repair, and an exported head.

Each test is a walk-around someone with write access to the database (but not the audit key)
would try, on every backend.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import sqlalchemy as sa

from civicml._errors import ConflictError, IntegrityError
from civicml.registry import canonical_json, event_hash, open_registry
from civicml.registry._schema import aliases, audit, audit_head, decisions, tokens, versions

A, B, C = "Rosa Parks", "Ada Lovelace", "Grace Hopper"


def _sql(registry, *statements):
    with registry.store.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def _seed(registry, make_bundle):
    """v1 approved and on the challenger alias, v2 registered, one token."""
    for _ in range(2):
        registry.register(make_bundle().path, "benefits", actor=A, oversight="human-in-the-loop")
    registry.request_approval("benefits", 1, actor=A, reason="Ready")
    registry.approve("benefits", 1, by=B, reason="Read the report")
    registry.set_alias("benefits", "challenger", 1, actor=A, reason="try it")
    registry.create_token("ci", ["predict"], actor=C)
    found = registry.verify_audit()
    assert found.ok and found.keyed and not found.differences and not found.not_replayed, found


def _version_row(version):
    return versions.c.version == version


def test_every_change_of_state_carries_the_full_new_state(registry, make_bundle):
    _seed(registry, make_bundle)
    events = registry.audit_events()
    approve = next(e for e in events if e.action == "approve")
    assert approve.details["state"]["status"] == "approved"
    assert approve.details["state"]["approved_by"] == B
    assert approve.details["identity"] == {"verified": False, "via": "api"}
    token = next(e for e in events if e.action == "token.issue")
    assert token.details["state"]["scopes"] == ["predict"] and "hash" not in token.details["state"]
    assert all(e.mac for e in events)


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("status", "approved", "registry_versions benefits/2: status is 'approved'"),
        ("approved_by", "Ada Lovelace", "registry_versions benefits/2: approved_by"),
        ("lawful_basis", "public-task", "registry_versions benefits/2: lawful_basis"),
        ("oversight", "solely-automated", "registry_versions benefits/2: oversight"),
    ],
)
def test_an_edited_version_row_is_named_and_blocks_writes(
    registry, make_bundle, column, value, needle
):
    _seed(registry, make_bundle)
    _sql(registry, versions.update().where(_version_row(2)).values({column: value}))
    # the next write on that version is refused at once, before any verification
    with pytest.raises(IntegrityError, match="differs from its audit log"):
        registry.request_approval("benefits", 2, actor=A, reason="sneak it through")
    found = registry.verify_audit()
    assert not found.ok and any(needle in d for d in found.differences), found.differences
    # once a verification found the break, every write is refused until a repair
    with pytest.raises(IntegrityError, match="refuses writes"):
        registry.register(make_bundle().path, "housing", actor=A)
    with pytest.raises(IntegrityError, match="audit --repair"):
        registry.create_token("other", ["predict"], actor=C)


def test_a_version_edited_to_approved_cannot_then_be_promoted(registry, make_bundle):
    _seed(registry, make_bundle)
    _sql(
        registry,
        versions.update().where(_version_row(2)).values(status="approved", approved_by="Ada"),
    )
    with pytest.raises(IntegrityError, match=r"benefits/2 differs from its audit log"):
        registry.set_alias("benefits", "challenger", 2, actor=A)


def test_edited_decisions_aliases_and_tokens_are_named(registry, make_bundle):
    _seed(registry, make_bundle)
    _sql(
        registry,
        decisions.update().where(decisions.c.kind == "approve").values(actor="Someone Else"),
        aliases.update().values(version=2),
        tokens.update().values(scopes="admin"),
    )
    found = registry.verify_audit()
    text = "\n".join(found.differences)
    assert (
        "registry_decisions benefits/1: the table holds [request by Rosa Parks; approve by "
        "Someone Else] but the audit log records [request by Rosa Parks; approve by Ada Lovelace]"
    ) in text
    assert "registry_aliases benefits@challenger: the table points at v2" in text
    assert "registry_tokens" in text and "scopes" in text
    assert not found.ok


def test_rows_inserted_or_deleted_behind_the_log_are_named(registry, make_bundle):
    _seed(registry, make_bundle)
    with registry.store.engine.begin() as conn:
        row = dict(conn.execute(sa.select(versions).where(_version_row(2))).one()._mapping)
        del row["id"]
        conn.execute(versions.insert().values({**row, "version": 3, "digest": "f" * 64}))
        conn.execute(tokens.delete())
    found = registry.verify_audit()
    text = "\n".join(found.differences)
    assert "registry_versions benefits/3: in the table but no audit event created it" in text
    assert "registry_tokens" in text and "(deleted)" in text


def test_a_rewritten_chain_with_every_hash_recomputed_fails_the_key(registry, make_bundle):
    """The forger edits event 2 and recomputes every later hash and the head: the chain links,
    but without the key no MAC fits."""
    _seed(registry, make_bundle)
    events = registry.audit_events()
    prev = events[0].hash
    with registry.store.engine.begin() as conn:
        for ev in events[1:]:
            actor = "Mallory" if ev.seq == 2 else ev.actor
            h = event_hash(
                ev.seq, ev.time, actor, ev.action, ev.subject, ev.reason, ev.details, prev
            )
            conn.execute(
                audit.update()
                .where(audit.c.seq == ev.seq)
                .values(actor=actor, prev_hash=prev, hash=h, mac=None)
            )
            prev = h
        conn.execute(audit_head.update().values(hash=prev))
    found = registry.verify_audit()
    assert not found.ok and found.first_bad_event_id == 2 and "MAC" in found.reason
    assert {p["seq"] for p in found.problems} == {e.seq for e in events[1:]}


def test_the_newest_event_edited_refuses_the_next_write_at_once(registry, make_bundle):
    _seed(registry, make_bundle)
    last = registry.audit_head()["seq"]
    _sql(registry, audit.update().where(audit.c.seq == last).values(reason="nothing to see"))
    with pytest.raises(IntegrityError, match=f"event {last} was edited"):
        registry.register(make_bundle().path, "benefits", actor=A)


def test_repair_is_audited_and_lets_writes_resume(registry, make_bundle):
    _seed(registry, make_bundle)
    with pytest.raises(ConflictError, match="nothing to repair"):
        registry.repair_audit(C, "checking")
    _sql(registry, versions.update().where(_version_row(2)).values(oversight="advisory"))
    assert not registry.verify_audit().ok
    event = registry.repair_audit(C, "DBA changed the oversight by hand; confirmed with the SRO")
    assert event.action == "audit.repair" and event.actor == C
    assert "benefits/2" in event.details["rows"]["versions"]
    assert any("oversight" in f for f in event.details["findings"])
    found = registry.verify_audit()
    assert found.ok and found.repairs == 1, found
    # the accepted row is the baseline now: writes on it work, a new edit is caught again
    registry.request_approval("benefits", 2, actor=A, reason="Ready")
    _sql(registry, versions.update().where(_version_row(2)).values(oversight="human-in-the-loop"))
    assert not registry.verify_audit().ok


def test_repair_of_deleted_newest_events(registry, make_bundle):
    _seed(registry, make_bundle)
    last = registry.audit_head()["seq"]
    _sql(registry, audit.delete().where(audit.c.seq == last))  # the token's issue event
    found = registry.verify_audit()
    assert not found.ok and "deleted" in found.reason
    registry.repair_audit(C, "Restored from backup; the token event was lost")
    assert registry.verify_audit().ok
    registry.create_token("after", ["predict"], actor=C)
    assert registry.verify_audit().ok


def test_a_chain_cut_back_consistently_is_caught_by_an_exported_head(registry, make_bundle):
    """Events that change no table (a serve override, say) cut from the end, the head row
    rewritten to match: the chain and the tables agree, only an exported head shows it."""
    from civicml.registry import EventDraft

    _seed(registry, make_bundle)
    keep = registry.audit_head()
    for n in range(2):
        registry.store.append_event(
            EventDraft("ops", "serve.unapproved_override", "benefits/2", f"demo {n}")
        )
    exported = registry.audit_head()
    assert exported["seq"] == keep["seq"] + 2 and exported["mac"] and exported["key_id"]
    _sql(
        registry,
        audit.delete().where(audit.c.seq > keep["seq"]),
        audit_head.update().values(seq=keep["seq"], hash=keep["hash"]),
    )
    assert registry.verify_audit().ok
    found = registry.verify_audit(against=exported)
    assert not found.ok and f"event {exported['seq']}, which is missing" in found.reason


def test_the_key_lives_outside_the_database_and_a_missing_key_blocks_writes(
    tmp_path, make_bundle, monkeypatch
):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    reg = open_registry(url, artifacts=str(tmp_path / "a"), project_dir=tmp_path)
    reg.register(make_bundle().path, "benefits", actor=A)
    reg.close()
    key_file = tmp_path / "registry.audit.key"  # beside the SQLite file
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    secret = json.loads(key_file.read_text())["key"]
    assert secret not in (tmp_path / "registry.db").read_bytes().decode("latin-1")
    moved = key_file.rename(tmp_path / "elsewhere.key")
    reg = open_registry(url, artifacts=str(tmp_path / "a"), project_dir=tmp_path)
    try:
        found = reg.verify_audit()
        assert not found.ok and "no key was found" in found.reason
        with pytest.raises(IntegrityError, match="Restore the audit key"):
            reg.register(make_bundle().path, "benefits", actor=A)
    finally:
        reg.close()
    monkeypatch.setenv("CIVICML_AUDIT_KEY_FILE", str(moved))
    reg = open_registry(url, artifacts=str(tmp_path / "a"), project_dir=tmp_path)
    try:
        assert reg.verify_audit().ok
        reg.register(make_bundle().path, "benefits", actor=A)
    finally:
        reg.close()


def test_a_log_from_before_keys_verifies_and_says_so(tmp_path, make_bundle):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    reg = open_registry(url, artifacts=str(tmp_path / "a"), project_dir=tmp_path)
    reg.register(make_bundle().path, "benefits", actor=A)
    reg.close()
    # make it look like a log written before revision 0004: no MACs, no state, no key
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        ev = conn.execute(sa.select(audit)).one()
        details = {k: v for k, v in json.loads(ev.details).items() if k != "state"}
        h = event_hash(
            ev.seq, ev.time, ev.actor, ev.action, ev.subject, ev.reason, details, ev.prev_hash
        )
        conn.execute(audit.update().values(details=canonical_json(details), hash=h, mac=None))
        conn.execute(audit_head.update().values(hash=h))
    engine.dispose()
    (tmp_path / "registry.audit.key").unlink()
    reg = open_registry(url, artifacts=str(tmp_path / "a"), project_dir=tmp_path)
    try:
        reg.register(make_bundle().path, "benefits", actor=A)
        found = reg.verify_audit()
        assert found.ok and found.unkeyed_events == 1 and found.not_replayed == 1, found
    finally:
        reg.close()
