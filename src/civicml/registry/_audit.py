"""The tamper-evident audit log: canonical JSON, the hash chain, and its verification.

Each event stores the previous event's hash; its own hash covers its sequence number, time,
actor, action, subject, reason, details and that previous hash. Editing any field, deleting an
event or swapping two breaks the chain at the first event that no longer fits. The store also
keeps the head of the chain (last sequence number and hash) in its own row, so deleting the
newest event is caught too.

Examples
--------
>>> e1 = chain_event(1, "2024-01-01T00:00:00.000000Z", "Ada", "register", "m/1", None, {},
...                  GENESIS_HASH)
>>> e2 = chain_event(2, "2024-01-01T00:00:01.000000Z", "Bo", "approve", "m/1", "ok", {},
...                  e1.hash)
>>> verify_chain([e1, e2], head=(2, e2.hash)).ok
True
>>> from dataclasses import replace
>>> bad = verify_chain([replace(e1, actor="Mallory"), e2], head=(2, e2.hash))
>>> bad.ok, bad.first_bad_event_id
(False, 1)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from civicml.registry._records import AuditEvent, AuditVerification

__all__ = ["GENESIS_HASH", "canonical_json", "chain_event", "event_hash", "verify_chain"]

#: prev_hash of the first event
GENESIS_HASH = "0" * 64


def canonical_json(obj: Any) -> str:
    """Deterministic compact JSON: sorted keys, no spaces, UTF-8 kept.

    >>> canonical_json({"b": 1, "a": [1, "é"]})
    '{"a":[1,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """sha256 hex of the canonical JSON of an event's fields."""
    doc = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def chain_event(
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> AuditEvent:
    """Build an :class:`AuditEvent` with its hash computed."""
    h = event_hash(seq, time, actor, action, subject, reason, details, prev_hash)
    return AuditEvent(seq, time, actor, action, subject, reason, details, prev_hash, h)


def verify_chain(
    events: Iterable[AuditEvent], *, head: tuple[int, str] | None
) -> AuditVerification:
    """Walk ``events`` in stored order and report the first one that breaks the chain.

    Parameters
    ----------
    events : iterable of AuditEvent
        In ascending ``seq`` order, as the store returns them.
    head : (seq, hash) or None
        The chain head the store recorded; ``None`` when the store has no events.
    """
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    for ev in events:
        count += 1
        if ev.seq != expected_seq:
            what = "missing" if ev.seq > expected_seq else "out of order"
            return AuditVerification(
                False,
                count,
                ev.seq,
                f"event {ev.seq} follows event {expected_seq - 1}: an event is {what}",
            )
        if ev.prev_hash != prev:
            return AuditVerification(
                False,
                count,
                ev.seq,
                f"event {ev.seq} does not link to the event before it "
                "(an event before it was edited, deleted or reordered)",
            )
        recomputed = event_hash(
            ev.seq, ev.time, ev.actor, ev.action, ev.subject, ev.reason, ev.details, ev.prev_hash
        )
        if recomputed != ev.hash:
            return AuditVerification(
                False, count, ev.seq, f"event {ev.seq} was edited after it was written"
            )
        prev = ev.hash
        expected_seq += 1
    last = (expected_seq - 1, prev) if count else None
    if (head or None) != last and not (head is None and last is None):
        if head is not None and last is not None and head[0] > last[0]:
            bad = last[0] + 1
            why = f"the log ends at event {last[0]} but the chain head says {head[0]}: newer events were deleted"
        elif head is None:
            bad, why = 1, "the chain head is missing although events exist"
        elif last is None:
            bad, why = 1, f"every event was deleted (the chain head says {head[0]})"
        else:
            bad = last[0]
            why = f"the chain head does not match event {last[0]}"
        return AuditVerification(False, count, bad, why)
    return AuditVerification(True, count)
