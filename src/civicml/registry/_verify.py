"""Verify a registry's audit log end to end, export its head, and record a repair.

:func:`verify_registry` walks the whole chain once: each event's link, hash and MAC
(:mod:`~civicml.registry._audit`), and in the same pass replays the state the events record
(:mod:`~civicml.registry._replay`), then compares that state with the tables. It names every
event and every row that does not fit. :func:`record_repair` is how an admin puts a break they
have investigated on the record; it never deletes or rewrites anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from civicml._errors import ConflictError, IntegrityError
from civicml.registry._audit import REPAIR, AuditKey, Problem, chain_problems, judge
from civicml.registry._records import AuditEvent, AuditVerification, EventDraft
from civicml.registry._replay import Replay
from civicml.registry._store import RegistryStore

__all__ = ["all_events", "chain_head", "record_repair", "verify_registry"]


def all_events(store: RegistryStore, batch: int = 10_000) -> Iterator[AuditEvent]:
    """Every audit event in order, a page at a time."""
    for ev, _ in _with_text(store, batch):
        yield ev


def _with_text(store: RegistryStore, batch: int = 10_000) -> Iterator[tuple[AuditEvent, str]]:
    after = 0
    while True:
        page = store.audit_events_text(after=after, limit=batch)
        yield from page
        if len(page) < batch:
            return
        after = page[-1][0].seq


def verify_registry(
    store: RegistryStore,
    key: AuditKey | None,
    *,
    key_problem: str | None = None,
    against: Mapping[str, Any] | None = None,
) -> AuditVerification:
    """Check the chain (links, hashes, MACs, head), replay it and compare with the tables.

    Parameters
    ----------
    store : RegistryStore
    key : AuditKey or None
        The audit key; ``None`` checks hashes only.
    key_problem : str, optional
        Why the key is unusable (e.g. the log is keyed but the key is missing): reported as a
        problem of the first event.
    against : mapping, optional
        A chain head exported earlier (``{"seq": N, "hash": H}``): the log must still hold that
        event with that hash, so a chain rewritten or cut back since then is caught even
        without the key.
    """
    replay = Replay()
    repairs: list[AuditEvent] = []
    exported: list[AuditEvent] = []
    want = int(against["seq"]) if against else None

    def note(ev: AuditEvent) -> None:
        replay.add(ev)
        if ev.action == REPAIR:
            repairs.append(ev)
        if ev.seq == want:
            exported.append(ev)

    count, problems = chain_problems(
        _with_text(store), head=store.audit_head(), key=key, on_event=note
    )
    if key_problem:
        problems.insert(0, Problem(1, "", key_problem))
    if against is not None:
        problems.extend(_against_problems(against, exported))
    verdict = judge(count, problems, repairs, key)
    differences = replay.compare(store.table_state())
    extra: dict[str, Any] = {
        "differences": tuple(differences),
        "not_replayed": len(replay.partial),
    }
    if differences and verdict.ok:
        extra.update(ok=False, reason=differences[0], first_bad_event_id=None)
    return replace(verdict, **extra)


def _against_problems(against: Mapping[str, Any], found: list[AuditEvent]) -> list[Problem]:
    seq, digest = int(against["seq"]), str(against.get("hash", ""))
    if not found:
        return [Problem(seq, digest, f"the exported head names event {seq}, which is missing")]
    if found[0].hash != digest:
        return [
            Problem(
                seq,
                found[0].hash,
                f"event {seq} is not the event the exported head recorded (the chain was "
                "rewritten after the export)",
            )
        ]
    return []


def chain_head(store: RegistryStore, key: AuditKey | None) -> dict[str, Any]:
    """The newest event's number, hash and MAC, to keep somewhere the database is not."""
    head = store.audit_head()
    if head is None:
        return {"seq": 0, "hash": None, "mac": None, "time": None, "key_id": _key_id(key)}
    events = store.audit_events(after=head[0] - 1, limit=1)
    ev = events[0] if events else None
    return {
        "seq": head[0],
        "hash": head[1],
        "mac": ev.mac if ev else None,
        "time": ev.time if ev else None,
        "key_id": _key_id(key),
    }


def _key_id(key: AuditKey | None) -> str | None:
    return None if key is None else key.key_id


def record_repair(
    store: RegistryStore,
    found: AuditVerification,
    *,
    actor: str,
    reason: str,
    identity: Mapping[str, Any],
) -> AuditEvent:
    """Append the ``audit.repair`` event accepting what ``found`` listed, as it stands now.

    The event carries each problem event (``seq``, stored ``hash``, why) and, for each table
    row that differed from the log, the row as the tables hold it now; later verifications pass
    exactly those.
    """
    if found.ok:
        raise ConflictError.build(
            "The audit log verifies, so there is nothing to repair",
            fix="Run 'civicml models audit --verify' to see its state",
        )
    if not found.problems and not found.differences:  # pragma: no cover - defensive
        raise IntegrityError.build("The verification lists nothing to accept")
    replay = Replay()
    for ev in all_events(store):
        replay.add(ev)
    rows = replay.rows_of(store.table_state())
    accepted = [dict(p) for p in found.problems]

    def make(last_seq: int) -> EventDraft:
        return EventDraft(
            actor,
            REPAIR,
            "audit",
            reason,
            {
                # an event deleted from the end has no row to accept: the repair takes its place
                "accepted": [p for p in accepted if p["seq"] <= last_seq],
                "findings": [p["why"] for p in accepted] + list(found.differences),
                "rows": rows,
                "identity": dict(identity),
            },
        )

    return store.append_repair(make)
