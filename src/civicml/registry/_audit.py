"""The tamper-evident audit log: canonical JSON, the keyed hash chain, and its verification.

Each event stores the previous event's hash; its own hash covers its sequence number, time,
actor, action, subject, reason, details and that previous hash. Editing any field, deleting an
event or swapping two breaks the chain at the first event that no longer fits. The store also
keeps the head of the chain (last sequence number and hash) in its own row, so deleting the
newest event is caught too.

A hash chain alone can be rewritten: change an event and recompute every later hash. So each
event also carries a MAC, HMAC-SHA256 of its hash under an :class:`AuditKey` that the database
does not hold (a key file or ``$CIVICML_AUDIT_KEY``). Without the key a rewritten chain cannot
be given valid MACs. Events written before the registry had a key (``key.since``) are checked by
hash alone, and verification says how many there were.

An admin who has investigated a break records a repair (the ``audit.repair`` event): it lists
each event it accepts as it now stands (sequence number, stored hash and what was wrong), so
later verifications pass those events, and only those, and the repair itself is on the record.

Examples
--------
>>> key = AuditKey(b"k" * 32, since=1)
>>> e1 = chain_event(1, "2024-01-01T00:00:00.000000Z", "Ada", "register", "m/1", None, {},
...                  GENESIS_HASH, key)
>>> e2 = chain_event(2, "2024-01-01T00:00:01.000000Z", "Bo", "approve", "m/1", "ok", {},
...                  e1.hash, key)
>>> verify_chain([e1, e2], head=(2, e2.hash), key=key).ok
True
>>> from dataclasses import replace
>>> bad = verify_chain([replace(e1, actor="Mallory"), e2], head=(2, e2.hash), key=key)
>>> bad.ok, bad.first_bad_event_id
(False, 1)

A forger who rewrites event 1 and recomputes every hash cannot forge the MACs:

>>> f1 = chain_event(1, e1.time, "Mallory", "register", "m/1", None, {}, GENESIS_HASH)
>>> f2 = chain_event(2, e2.time, "Bo", "approve", "m/1", "ok", {}, f1.hash)
>>> forged = verify_chain([f1, f2], head=(2, f2.hash), key=key)
>>> forged.ok, forged.first_bad_event_id, forged.reason
(False, 1, 'event 1 has no MAC under the audit key (the chain was rewritten by someone without the key)')
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _s
from pathlib import Path
from typing import Any

from civicml._errors import AuditBrokenError, IntegrityError
from civicml._files import PRIVATE_FILE_MODE, create_private_dir
from civicml.registry._records import AuditEvent, AuditVerification

__all__ = [
    "GENESIS_HASH",
    "REPAIR",
    "AuditKey",
    "Problem",
    "broken_chain",
    "canonical_json",
    "chain_event",
    "chain_problems",
    "event_hash",
    "event_hash_text",
    "event_mac",
    "judge",
    "load_audit_key",
    "verify_chain",
]

#: prev_hash of the first event
GENESIS_HASH = "0" * 64
#: the action of the event that records an admin's repair of a broken chain
REPAIR = "audit.repair"
#: the environment variables that give the audit key (hex) or the file that holds it
KEY_ENV, KEY_FILE_ENV = "CIVICML_AUDIT_KEY", "CIVICML_AUDIT_KEY_FILE"


def canonical_json(obj: Any) -> str:
    """Deterministic compact JSON: sorted keys, no spaces, UTF-8 kept.

    >>> canonical_json({"b": 1, "a": [1, "é"]})
    '{"a":[1,"é"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class AuditKey:
    """The secret that MACs every audit event, held outside the database.

    Attributes
    ----------
    secret : bytes
        32 random bytes.
    since : int
        The first sequence number that must carry a MAC (events before it predate the key).
    path : Path or None
        The file it was read from (``None``: from ``$CIVICML_AUDIT_KEY`` or in memory).
    """

    secret: bytes = field(repr=False)
    since: int = 1
    path: Path | None = None

    @property
    def key_id(self) -> str:
        """A short public fingerprint of the key (never the key itself).

        >>> AuditKey(b"k" * 32).key_id
        'd7cb7f22b2d9'
        """
        return hashlib.sha256(b"civicml-audit-key:" + self.secret).hexdigest()[:12]

    def mac(self, event_hash: str) -> str:
        """HMAC-SHA256 (hex) of an event's hash."""
        return event_mac(self.secret, event_hash)


def event_mac(secret: bytes, event_hash: str) -> str:
    """HMAC-SHA256 (hex) of ``event_hash`` under ``secret``."""
    return hmac.digest(secret, event_hash.encode("ascii"), "sha256").hex()


def load_audit_key(path: str | Path | None, *, create_since: int | None = None) -> AuditKey | None:
    """Read the audit key from ``$CIVICML_AUDIT_KEY`` (hex), else from ``path``.

    When the file is missing and ``create_since`` is given, a new key is written there
    (mode 0600, folder 0700) that applies from that sequence number on; otherwise ``None``.
    A file that exists but cannot be read as a key raises IntegrityError.
    """
    raw = os.environ.get(KEY_ENV)
    if raw:
        return AuditKey(_hex_key(raw, KEY_ENV), since=int(os.environ.get(KEY_ENV + "_SINCE", "1")))
    if path is None:
        return None if create_since is None else AuditKey(secrets.token_bytes(32), create_since)
    file = Path(path)
    if file.exists():
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            return AuditKey(_hex_key(doc["key"], str(file)), since=int(doc["since"]), path=file)
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError.build(
                f"The audit key file {file} cannot be read",
                expected='JSON {"key": "<64 hex characters>", "since": N}',
                got=type(exc).__name__,
                fix="Restore the key file from your backup; without it the audit log cannot be "
                "verified",
            ) from None
    if create_since is None:
        return None
    key = AuditKey(secrets.token_bytes(32), since=create_since, path=file)
    create_private_dir(file.parent)
    doc = {"key": key.secret.hex(), "since": create_since, "key_id": key.key_id}
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:  # another process created it first: use theirs
        return load_audit_key(file)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(doc) + "\n")
    return key


def _hex_key(raw: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(str(raw).strip())
    except ValueError:
        secret = b""
    if len(secret) < 16:
        raise IntegrityError.build(
            f"The audit key in {where} is not a key",
            expected="at least 32 hex characters (16 bytes; civicml writes 32 bytes)",
            got=f"{len(str(raw).strip())} characters",
            fix=f"Set {KEY_ENV} to the key's hex, or point {KEY_FILE_ENV} at the key file",
        )
    return secret


def broken_chain(problem: str) -> AuditBrokenError:
    """The error every write raises while the audit log is broken.

    >>> print(broken_chain("event 3 was edited after it was written"))  # doctest: +ELLIPSIS
    The audit log is broken (event 3 was edited after it was written), so this registry refuses writes. ...
    """
    return AuditBrokenError.build(
        f"The audit log is broken ({problem}), so this registry refuses writes",
        fix="Investigate with 'civicml models audit --verify' (it lists every event and row "
        "that differs; compare with an exported 'civicml models audit --head' and your backups), "
        "then an admin records the repair with 'civicml models audit --repair --reason TEXT', "
        "which is itself audited",
    )


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
    """sha256 hex of the canonical JSON of an event's fields.

    >>> d = {"b": "é\u2028\x01", "a": [1.5, None]}
    >>> event_hash(3, "t", "Ada", "x", "m/1", None, d, "0" * 64) == hashlib.sha256(
    ...     canonical_json({"seq": 3, "time": "t", "actor": "Ada", "action": "x",
    ...                     "subject": "m/1", "reason": None, "details": d,
    ...                     "prev_hash": "0" * 64}).encode()).hexdigest()
    True
    """
    return event_hash_text(
        seq, time, actor, action, subject, reason, canonical_json(details), prev_hash
    )


def event_hash_text(
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details_text: str,
    prev_hash: str,
) -> str:
    """:func:`event_hash` over details already in canonical JSON, as the store keeps them.

    The document is spliced in key order, which is what :func:`canonical_json` of the whole
    event gives, without decoding and re-encoding the details (the verifier's hot path).
    """
    doc = (
        f'{{"action":{_s(action)},"actor":{_s(actor)},"details":{details_text},'
        f'"prev_hash":{_s(prev_hash)},"reason":{"null" if reason is None else _s(reason)},'
        f'"seq":{int(seq)},"subject":{_s(subject)},"time":{_s(time)}}}'
    )
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def chain_event(
    seq: int,
    time: str,
    actor: str,
    action: str,
    subject: str,
    reason: str | None,
    details: dict[str, Any],
    prev_hash: str,
    key: AuditKey | None = None,
) -> AuditEvent:
    """Build an :class:`AuditEvent` with its hash (and its MAC when a key is given)."""
    h = event_hash(seq, time, actor, action, subject, reason, details, prev_hash)
    mac = key.mac(h) if key is not None and seq >= key.since else None
    return AuditEvent(seq, time, actor, action, subject, reason, details, prev_hash, h, mac)


@dataclass(frozen=True)
class Problem:
    """One event that does not fit: its sequence number, stored hash and what is wrong."""

    seq: int
    hash: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "why": self.why}


def _event_problem(
    ev: AuditEvent, text: str | None, expected_seq: int, prev: str, key: AuditKey | None
) -> str | None:
    if ev.seq != expected_seq:
        what = "missing" if ev.seq > expected_seq else "out of order"
        return f"event {ev.seq} follows event {expected_seq - 1}: an event is {what}"
    if ev.prev_hash != prev:
        return (
            f"event {ev.seq} does not link to the event before it "
            "(an event before it was edited, deleted or reordered)"
        )
    if text is None:
        text = canonical_json(ev.details)
    recomputed = event_hash_text(
        ev.seq, ev.time, ev.actor, ev.action, ev.subject, ev.reason, text, ev.prev_hash
    )
    if recomputed != ev.hash:
        return f"event {ev.seq} was edited after it was written"
    if key is not None and ev.seq >= key.since:
        if not ev.mac:
            return (
                f"event {ev.seq} has no MAC under the audit key (the chain was rewritten by "
                "someone without the key)"
            )
        if not hmac.compare_digest(ev.mac, key.mac(ev.hash)):
            return (
                f"event {ev.seq}'s MAC does not match the audit key (it was rewritten by someone "
                "without the key, or the key is not this registry's)"
            )
    return None


def chain_problems(
    events: Iterable[AuditEvent | tuple[AuditEvent, str]],
    *,
    head: tuple[int, str] | None,
    key: AuditKey | None = None,
    on_event: Any = None,
) -> tuple[int, list[Problem]]:
    """Walk the whole chain and list every event that does not fit (not only the first).

    ``events`` are AuditEvents, or ``(event, details_text)`` pairs with the details as stored
    (hashed as they are, without re-encoding). Returns the number of events and the problems
    in order. ``on_event`` (optional) is called with each event, so a caller can replay state
    in the same pass.
    """
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    problems: list[Problem] = []
    last: AuditEvent | None = None
    for item in events:
        ev, text = item if isinstance(item, tuple) else (item, None)
        count += 1
        why = _event_problem(ev, text, expected_seq, prev, key)
        if why is not None:
            problems.append(Problem(ev.seq, ev.hash, why))
        if on_event is not None:
            on_event(ev)
        prev, expected_seq, last = ev.hash, ev.seq + 1, ev
    problems.extend(_head_problems(last, head))
    return count, problems


def _head_problems(last: AuditEvent | None, head: tuple[int, str] | None) -> Iterator[Problem]:
    tail = (last.seq, last.hash) if last is not None else None
    if head == tail:
        return
    if head is not None and tail is not None and head[0] > tail[0]:
        yield Problem(
            tail[0] + 1,
            "",
            f"the log ends at event {tail[0]} but the chain head says {head[0]}: newer events "
            "were deleted",
        )
    elif head is None:
        yield Problem(1, "", "the chain head is missing although events exist")
    elif tail is None:
        yield Problem(1, "", f"every event was deleted (the chain head says {head[0]})")
    else:
        yield Problem(tail[0], tail[1], f"the chain head does not match event {tail[0]}")


def verify_chain(
    events: Iterable[AuditEvent],
    *,
    head: tuple[int, str] | None,
    key: AuditKey | None = None,
) -> AuditVerification:
    """Check ``events`` (ascending ``seq``, as the store returns them) and name the first
    event that breaks the chain, passing those a later valid repair accepted.

    Parameters
    ----------
    events : iterable of AuditEvent
    head : (seq, hash) or None
        The chain head the store recorded; ``None`` when the store has no events.
    key : AuditKey, optional
        The audit key; events from ``key.since`` on must carry a valid MAC.
    """
    repairs: list[AuditEvent] = []

    def note(ev: AuditEvent) -> None:
        if ev.action == REPAIR:
            repairs.append(ev)

    count, problems = chain_problems(events, head=head, key=key, on_event=note)
    return judge(count, problems, repairs, key)


def judge(
    count: int, problems: list[Problem], repairs: list[AuditEvent], key: AuditKey | None
) -> AuditVerification:
    """Turn the problems of a walk into a verdict, passing those that a repair that is itself
    sound (no problem of its own, later than the problem) accepted."""
    bad_seqs = {p.seq for p in problems}
    sound = [r for r in repairs if r.seq not in bad_seqs]
    accepted = {
        (int(i["seq"]), str(i["hash"])): r.seq for r in sound for i in r.details.get("accepted", [])
    }
    left = [p for p in problems if accepted.get((p.seq, p.hash), 0) <= p.seq]
    keyed = None if key is None else key.key_id
    unkeyed = 0 if key is None else min(count, max(0, key.since - 1))
    if not left:
        return AuditVerification(
            True, count, keyed=keyed, unkeyed_events=unkeyed, repairs=len(sound)
        )
    first = left[0]
    return AuditVerification(
        False,
        count,
        first.seq,
        first.why,
        problems=tuple(p.to_dict() for p in left),
        keyed=keyed,
        unkeyed_events=unkeyed,
        repairs=len(sound),
    )
