"""Rows of the registry's tables to records and back: what :class:`~civicml.registry.SQLStore`
reads and writes, kept apart from its transactions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson

from civicml.registry._audit import canonical_json
from civicml.registry._records import AuditEvent, EventDraft, ModelVersion, TokenInfo
from civicml.registry._replay import VERSION_STATE_FIELDS

__all__ = [
    "answer_state",
    "encode_changes",
    "event_from_row",
    "loads",
    "token_from_row",
    "version_from_row",
    "with_state",
]

_JSON_COLUMNS = ("owner", "out_of_scope_uses", "checks", "legal")
#: the version columns a change may set (the rest are fixed when the version is registered)
_VERSION_FIELDS = tuple(
    f
    for f in VERSION_STATE_FIELDS
    if f not in ("digest", "artifact_key", "created_at", "created_by", "reason")
)


def loads(text: str | None, default: Any) -> Any:
    return orjson.loads(text) if text else default


def version_from_row(row: Any, name: str, aliases: tuple[str, ...] = ()) -> ModelVersion:
    m = row._mapping
    return ModelVersion(
        name=name,
        version=m["version"],
        digest=m["digest"],
        status=m["status"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        reason=m["reason"],
        artifact_key=m["artifact_key"],
        task=m["task"],
        owner=loads(m["owner"], {}),
        intended_use=m["intended_use"],
        out_of_scope_uses=loads(m["out_of_scope_uses"], []),
        oversight=m["oversight"],
        lawful_basis=m["lawful_basis"],
        checks=loads(m["checks"], []),
        checks_passed=None if m["checks_passed"] is None else bool(m["checks_passed"]),
        override_by=m["override_by"],
        override_reason=m["override_reason"],
        approved_by=m["approved_by"],
        approved_at=m["approved_at"],
        aliases=aliases,
        legal=loads(m["legal"], {}),
        signer=m["signer"],
    )


def encode_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in _VERSION_FIELDS:
            raise ValueError(f"{key!r} is not a version field that may change")
        out[key] = canonical_json(value) if key in _JSON_COLUMNS else value
    return out


def with_state(draft: EventDraft, state: Mapping[str, Any]) -> EventDraft:
    return dataclasses.replace(draft, details={**draft.details, "state": dict(state)})


def event_from_row(r: Any) -> AuditEvent:
    # positional: the verifier reads 100,000s of rows and attribute lookup by name dominates
    seq, time, actor, action, subject, reason, text, prev_hash, digest, mac = tuple(r)
    try:
        details = orjson.loads(text)
    except orjson.JSONDecodeError:
        details = {"_unreadable": text}  # verification will flag it
    return AuditEvent(seq, time, actor, action, subject, reason, details, prev_hash, digest, mac)


def answer_state(row: Any) -> dict[str, Any]:
    """An ATRS answer row as its audit event records it (the answer decoded from JSON)."""
    state = dict(row._mapping)
    state["answer"] = orjson.loads(state["answer"])
    return state


def token_from_row(row: Any) -> TokenInfo:
    m = row._mapping
    return TokenInfo(
        id=m["id"],
        name=m["name"],
        scopes=tuple(s for s in m["scopes"].split(",") if s),
        created_at=m["created_at"],
        created_by=m["created_by"],
        rate_limit=m["rate_limit"],
        revoked_at=m["revoked_at"],
        revoked_by=m["revoked_by"],
        owner=m["owner"],
        models=tuple(s for s in (m.get("models") or "").split(",") if s),
    )
