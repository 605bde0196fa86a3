"""The hash chain: edits, deletions and reorderings are caught and the first bad event named."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from civicml.registry._schema import audit, audit_head


def _seed(registry, make_bundle):
    for _ in range(3):
        v = registry.register(make_bundle().path, "benefits", actor="Rosa")
        registry.set_alias("benefits", "challenger", v.version, actor="Ada", reason="try it")
    assert registry.verify_audit().ok  # 6 events


def _sql(registry, statement):
    with registry.store.engine.begin() as conn:
        conn.execute(statement)


@pytest.mark.parametrize(
    ("tamper", "first_bad", "needle"),
    [
        (audit.update().where(audit.c.seq == 3).values(actor="Mallory"), 3, "edited"),
        (audit.update().where(audit.c.seq == 2).values(reason="nothing to see"), 2, "edited"),
        (audit.update().where(audit.c.seq == 4).values(details='{"alias":"x"}'), 4, "edited"),
        (audit.delete().where(audit.c.seq == 2), 3, "missing"),
        (audit.delete().where(audit.c.seq == 6), 6, "deleted"),
        (audit.delete(), 1, "every event was deleted"),
        (audit_head.update().values(seq=5), 6, "head"),
    ],
)
def test_tampering_is_detected(registry, make_bundle, tamper, first_bad, needle):
    _seed(registry, make_bundle)
    _sql(registry, tamper)
    result = registry.verify_audit()
    assert not result.ok
    assert result.first_bad_event_id == first_bad
    assert needle in result.reason


def test_reordering_is_detected(registry, make_bundle):
    _seed(registry, make_bundle)
    rows = {}
    with registry.store.engine.begin() as conn:
        for seq in (2, 3):
            rows[seq] = dict(
                conn.execute(sa.select(audit).where(audit.c.seq == seq)).one()._mapping
            )
        conn.execute(audit.delete().where(audit.c.seq.in_([2, 3])))
        conn.execute(audit.insert().values({**rows[3], "seq": 2}))
        conn.execute(audit.insert().values({**rows[2], "seq": 3}))
    result = registry.verify_audit()
    assert not result.ok and result.first_bad_event_id == 2


def test_recomputed_chain_after_edit_is_still_caught_by_the_next_link(registry, make_bundle):
    """A forger who rehashes the edited event fails its MAC, and breaks the next link."""
    from civicml.registry import event_hash

    _seed(registry, make_bundle)
    ev = registry.audit_events()[1]
    new_hash = event_hash(
        ev.seq, ev.time, "Mallory", ev.action, ev.subject, ev.reason, ev.details, ev.prev_hash
    )
    _sql(registry, audit.update().where(audit.c.seq == 2).values(actor="Mallory", hash=new_hash))
    result = registry.verify_audit()
    assert (result.ok, result.first_bad_event_id) == (False, 2)
    assert "MAC" in result.reason
    assert [p["seq"] for p in result.problems] == [2, 3]
    assert "does not link" in result.problems[1]["why"]


def test_empty_log_verifies(registry):
    result = registry.verify_audit()
    assert result.ok and result.events == 0
