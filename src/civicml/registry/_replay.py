"""Replay the audit log into the state it records, and compare it with the tables.

Every change of state writes an audit event carrying the full new state of what it changed
(``details["state"]``): a version's governance record, a token's public facts, a signing key.
Alias moves carry the version they point at, and approval steps their actor and reason. Folding
the events in order rebuilds what the tables should hold, so an edit made to a table directly
(``UPDATE registry_versions SET status='approved'``) is named row by row, even though the chain
itself is intact.

Examples
--------
>>> from civicml.registry._records import AuditEvent, ModelVersion, TokenInfo
>>> v = ModelVersion("m", 1, "a" * 64, "registered", "t", "rosa")
>>> ev = AuditEvent(1, "t", "rosa", "register", "m/1", None, {"state": version_state(v)},
...                 "0" * 64, "h")
>>> replay = Replay()
>>> replay.add(ev)
>>> tables = TableState(versions={"m/1": version_state(v)})
>>> replay.compare(tables)
[]
>>> tables.versions["m/1"]["status"] = "approved"
>>> replay.compare(tables)
["registry_versions m/1: status is 'approved' in the table but 'registered' in the audit log"]
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from civicml.registry._records import AuditEvent, ModelVersion, TokenInfo

__all__ = [
    "DECISION_ACTIONS",
    "answer_key",
    "VERSION_STATE_FIELDS",
    "Replay",
    "TableState",
    "token_state",
    "version_state",
]

#: audit actions that add a row to registry_decisions, and the kind they record
DECISION_ACTIONS: dict[str, str] = {
    "request_approval": "request",
    "approve": "approve",
    "reject": "reject",
    "override": "override",
    "review": "review",
    "retire": "retire",
}
#: the kinds of row the replay rebuilds (the attributes of :class:`TableState`)
#: the audit actions whose state is ATRS answer rows (an exemption is kept as one)
ANSWER_ACTIONS = ("atrs.answers", "atrs.exemption")
_KINDS = ("versions", "decisions", "aliases", "tokens", "keys", "atrs_answers")
#: every governed column of a version, as a full-state audit event records it
VERSION_STATE_FIELDS = (
    "digest",
    "artifact_key",
    "status",
    "created_at",
    "created_by",
    "reason",
    "task",
    "owner",
    "intended_use",
    "out_of_scope_uses",
    "oversight",
    "lawful_basis",
    "checks",
    "checks_passed",
    "override_by",
    "override_reason",
    "approved_by",
    "approved_at",
    "legal",
    "signer",
)


def version_state(version: ModelVersion) -> dict[str, Any]:
    """The governed state of a version as an audit event records it (aliases excluded)."""
    return {key: getattr(version, key) for key in VERSION_STATE_FIELDS}


def token_state(info: TokenInfo, salt: str, digest: str) -> dict[str, Any]:
    """A token's public facts as an audit event records them, with a fingerprint of its stored
    hash (so a swapped secret shows) but never the hash itself."""
    return {
        "id": info.id,
        "name": info.name,
        "scopes": list(info.scopes),
        "created_at": info.created_at,
        "created_by": info.created_by,
        "owner": info.owner,
        "models": list(info.models),
        "rate_limit": info.rate_limit,
        "revoked_at": info.revoked_at,
        "revoked_by": info.revoked_by,
        "secret": hashlib.sha256(f"{salt}:{digest}".encode()).hexdigest()[:16],
    }


def answer_key(state: Mapping[str, Any]) -> str:
    """``name/N:field``: how an ATRS answer row is keyed (``N`` 0: shared by every version).

    >>> answer_key({"model": "m", "version": 0, "field": "tier1.contact_email"})
    'm/0:tier1.contact_email'
    """
    return f"{state['model']}/{state['version']}:{state['field']}"


@dataclass
class TableState:
    """What the tables hold now, keyed as the replay keys it.

    ``versions`` by ``name/N``; ``decisions`` by ``name/N`` as ``[kind, actor, reason]``
    lists; ``aliases`` by ``name@alias``; ``tokens`` by id, ``keys`` by fingerprint and
    ``atrs_answers`` by ``name/N:field`` (``N`` 0 for answers every version shares).
    """

    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: dict[str, list[list[str]]] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    atrs_answers: dict[str, dict[str, Any]] = field(default_factory=dict)


class Replay:
    """Fold audit events into the state they record (see the module docstring)."""

    def __init__(self) -> None:
        self.state = TableState()
        #: versions whose events carry no full state (written before events did)
        self.partial: set[str] = set()
        #: subjects each kind of row was ever mentioned under
        self.seen: dict[str, set[str]] = {
            "versions": set(),
            "tokens": set(),
            "keys": set(),
            "atrs_answers": set(),
        }

    def add(self, ev: AuditEvent) -> None:
        """Apply one event."""
        details = ev.details if isinstance(ev.details, Mapping) else {}
        state = details.get("state")
        if ev.action == "audit.repair":
            self._accept(details.get("rows") or {})
            return
        if ev.action in ("alias", "rollback") and "@" in ev.subject:
            name = ev.subject.split("@", 1)[0]
            key = f"{name}@{details.get('alias', ev.subject.split('@', 1)[1])}"
            target = details.get("version")
            if target is None:
                self.state.aliases.pop(key, None)
            else:
                self.state.aliases[key] = int(target)
            return
        if ev.action.startswith("token."):
            self._row("tokens", str(details.get("id", ev.subject)), state)
            return
        if ev.action.startswith("key."):
            self._row("keys", str(details.get("fingerprint", ev.subject)), state)
            return
        if ev.action in ANSWER_ACTIONS and isinstance(state, Mapping):
            for key, row in state.items():  # every answer row the event changed, in full
                self._row("atrs_answers", str(key), row)
            return
        if "/" in ev.subject and ev.action in (*DECISION_ACTIONS, "register", "governance"):
            self._version(ev, state)

    def _version(self, ev: AuditEvent, state: Any) -> None:
        ref = ev.subject
        self.seen["versions"].add(ref)
        if isinstance(state, Mapping):
            self.state.versions[ref] = dict(state)
            self.partial.discard(ref)
        elif ref not in self.state.versions:
            self.partial.add(ref)
        kind = DECISION_ACTIONS.get(ev.action)
        if kind is not None:
            self.state.decisions.setdefault(ref, []).append([kind, ev.actor, ev.reason or ""])

    def _row(self, kind: str, key: str, state: Any) -> None:
        self.seen[kind].add(key)
        if isinstance(state, Mapping):
            getattr(self.state, kind)[key] = dict(state)

    def _accept(self, rows: Mapping[str, Any]) -> None:
        """A recorded repair: the rows it lists are accepted as the tables held them."""
        for kind in _KINDS:
            target = getattr(self.state, kind)
            for key, value in (rows.get(kind) or {}).items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = value
                if kind == "versions":
                    self.partial.discard(key)

    def compare(self, tables: TableState) -> list[str]:
        """Every row where the tables differ from the replayed state, in plain words."""
        out: list[str] = []
        out += _compare_rows(
            "registry_versions",
            self.state.versions,
            tables.versions,
            skip=self.partial,
            seen=self.seen["versions"],
        )
        for ref in sorted(set(self.state.decisions) | set(tables.decisions)):
            if ref in self.partial and ref not in tables.decisions:
                continue
            log, table = self.state.decisions.get(ref, []), tables.decisions.get(ref, [])
            if log != table:
                out.append(
                    f"registry_decisions {ref}: the table holds {_steps(table)} but the audit "
                    f"log records {_steps(log)}"
                )
        for key in sorted(set(self.state.aliases) | set(tables.aliases)):
            log_v, table_v = self.state.aliases.get(key), tables.aliases.get(key)
            if log_v != table_v:
                out.append(
                    f"registry_aliases {key}: the table points at {_version(table_v)} but the "
                    f"audit log at {_version(log_v)}"
                )
        out += _compare_rows(
            "registry_tokens", self.state.tokens, tables.tokens, seen=self.seen["tokens"]
        )
        out += _compare_rows("registry_keys", self.state.keys, tables.keys, seen=self.seen["keys"])
        out += _compare_rows(
            "registry_atrs_answers",
            self.state.atrs_answers,
            tables.atrs_answers,
            seen=self.seen["atrs_answers"],
        )
        return out

    def rows_of(self, tables: TableState, differences_only: bool = True) -> dict[str, Any]:
        """The table rows that differ from the replay (what a repair accepts), by kind."""
        rows: dict[str, dict[str, Any]] = {}
        for kind in _KINDS:
            log, table = getattr(self.state, kind), getattr(tables, kind)
            changed = {
                k: table.get(k)
                for k in set(log) | set(table)
                if log.get(k) != table.get(k) or not differences_only
            }
            if changed:
                rows[kind] = changed
        return rows


def _compare_rows(
    table_name: str,
    log: Mapping[str, Mapping[str, Any]],
    table: Mapping[str, Mapping[str, Any]],
    *,
    skip: set[str] | None = None,
    seen: set[str] | None = None,
) -> list[str]:
    out: list[str] = []
    for key in sorted(set(log) | set(table)):
        if skip and key in skip:
            continue
        if key not in table:
            out.append(f"{table_name} {key}: in the audit log but not in the table (deleted)")
            continue
        if key not in log:
            if seen is None or key not in seen:
                out.append(f"{table_name} {key}: in the table but no audit event created it")
            continue
        for col in sorted(log[key]):  # the columns the event recorded
            if log[key].get(col) != table[key].get(col):
                out.append(
                    f"{table_name} {key}: {col} is {table[key].get(col)!r} in the table but "
                    f"{log[key].get(col)!r} in the audit log"
                )
    return out


def _steps(items: list[list[str]]) -> str:
    return "[" + "; ".join(f"{k} by {a}" for k, a, _ in items) + "]" if items else "nothing"


def _version(v: int | None) -> str:
    return "nothing" if v is None else f"v{v}"
