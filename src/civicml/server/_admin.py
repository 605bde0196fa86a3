"""Handlers for the server itself, the caller, the audit log, tokens, signing keys and runs.

Tokens are issued and revoked by an authenticated admin only (the route table says so); a
token acts as its ``owner``, by default the admin who issued it. A signing key is registered
to its owner: your own, or, for an admin, anyone's.
"""

from __future__ import annotations

from typing import Any

from civicml.server._problems import invalid
from civicml.server._table import Call
from civicml.tracking import jsonable

__all__ = [
    "audit",
    "audit_head",
    "audit_repair",
    "audit_verify",
    "create_key",
    "create_token",
    "get_run",
    "health",
    "list_keys",
    "list_runs",
    "list_tokens",
    "me",
    "revoke_key",
    "revoke_token",
]


def health(call: Call) -> dict[str, Any]:
    from civicml import __version__

    return {"status": "ok", "version": __version__}


def me(call: Call) -> dict[str, Any]:
    who = call.who
    return {
        "name": who.name,
        "verified": who.verified,
        "via": who.via,
        "roles": list(who.roles),
        "models": list(who.models),
    }


def audit(call: Call) -> list[dict[str, Any]]:
    q = call.query
    events = call.registry.audit_events(
        after=q.get("after", 0),
        limit=max(1, min(int(q.get("limit", 100)), 10_000)),
        subject=q.get("subject") or None,
    )
    return [e.to_dict() for e in events]


def audit_verify(call: Call) -> dict[str, Any]:
    """Check the whole chain; with ``seq`` and ``hash``, also against a head exported earlier."""
    q = call.query
    if ("seq" in q) != ("hash" in q):
        raise invalid("Pass both 'seq' and 'hash' of an exported chain head, or neither.")
    against = {"seq": q["seq"], "hash": q["hash"]} if "seq" in q else None
    out: dict[str, Any] = call.registry.verify_audit(against=against).to_dict()
    return out


def audit_head(call: Call) -> dict[str, Any]:
    """The chain head (sequence number, hash, MAC), to keep a copy where the database is not."""
    return dict(call.registry.audit_head())


def audit_repair(call: Call) -> dict[str, Any]:
    """An admin records the repair of a broken audit log (itself an audit event)."""
    event = call.registry.repair_audit(call.who, call.body["reason"])
    return dict(event.to_dict())


def list_tokens(call: Call) -> list[dict[str, Any]]:
    return [t.to_dict() for t in call.registry.list_tokens()]


def create_token(call: Call) -> dict[str, Any]:
    """Issue a token (admin only); it acts as ``owner``, by default the admin."""
    b = call.body
    reg = call.registry
    plaintext = reg.create_token(
        b["name"],
        b["scopes"],
        call.who,
        rate_limit=b.get("rate_limit"),
        reason=b.get("reason"),
        owner=b.get("owner") or call.who.name,
        models=b.get("models"),
    )
    info = reg.verify_token(plaintext)
    assert info is not None
    return {"token": plaintext, **info.to_dict()}


def revoke_token(call: Call) -> dict[str, Any]:
    info = call.registry.revoke_token(call.path["name_or_id"], call.who, call.body["reason"])
    return dict(info.to_dict())


def list_keys(call: Call) -> list[dict[str, Any]]:
    return [k.to_dict() for k in call.registry.list_keys()]


def create_key(call: Call) -> dict[str, Any]:
    """Register a public key: your own, or (admin only) another person's or service's."""
    b = call.body
    key = call.registry.register_key(
        b["public_key"], call.who, owner=b.get("owner"), reason=b.get("reason")
    )
    return dict(key.to_dict())


def revoke_key(call: Call) -> dict[str, Any]:
    """Revoke a key: your own, or (admin only) anyone's."""
    key = call.registry.revoke_key(call.path["fingerprint"], call.who, call.body["reason"])
    return dict(key.to_dict())


def list_runs(call: Call) -> list[dict[str, Any]]:
    q = call.query
    runs = call.runs.list_runs(
        project=q.get("project") or None,
        status=q.get("status") or None,
        limit=max(1, min(int(q.get("limit", 50)), 1000)),
    )
    return [jsonable(r.to_dict()) for r in runs]


def get_run(call: Call) -> dict[str, Any]:
    """One run by id or unique id prefix."""
    out: dict[str, Any] = jsonable(call.runs.get_run(call.path["run_id"]).to_dict())
    return out
