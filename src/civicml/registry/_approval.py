"""Who registered a version, who asked for its approval and who decided, and how far civicml
could check each of them, as one plain record for the report, model card and ATRS record.

The record is read from the version's audit events (each carries ``details["identity"]``, see
:class:`~civicml.registry.Actor`), so it says no more than the log does: a name is called verified
only when its event says a ``civicml server`` authenticated it (OpenID Connect sign-in or an API
token the server issued). In embedded mode the name is the computer login of whoever ran civicml,
and the record says plainly that no server verified it.

Examples
--------
>>> from civicml.registry import Actor, open_registry
>>> from civicml.bundle import save_bundle
>>> import tempfile
>>> tmp = tempfile.mkdtemp()
>>> b = save_bundle(tmp + "/b", documents={"model_info.json": {"task": "binary"}})
>>> reg = open_registry("sqlite://", artifacts="memory://doc", project_dir=tmp)
>>> v = reg.register(b.path, "demo", actor=Actor("rosa", via="os-login"))
>>> approval_record(reg, "demo", 1)["sentence"]
'Not approved yet.'
>>> reg.close()
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civicml.registry._records import AuditEvent
    from civicml.registry._registry import Registry
    from civicml.registry._remote import RemoteRegistry

__all__ = ["approval_record", "approval_sentence"]

#: the audit actions that make up a version's approval story, and the record's key for each
STEPS: dict[str, str] = {
    "register": "registered",
    "request_approval": "requested",
    "approve": "approved",
    "reject": "rejected",
    "override": "checks_overridden",
}
#: the ways a server verifies an identity (``token:NAME`` is matched by its prefix)
_SERVER_VIA = ("oidc", "token:")

#: how each unverified way of naming someone reads: "this name ..."
_ORIGIN = {
    "os-login": "is {whose} computer login",
    "api": "was given to civicml's Python API",
}
_UNCHECKED = "was not checked by civicml"


def _when(iso: str | None) -> str:
    """'6 December 2026' from an ISO 8601 time (the text unchanged when it is not one).

    >>> _when("2026-12-06T08:33:01.000001Z"), _when(None), _when("yesterday")
    ('6 December 2026', 'an unknown date', 'yesterday')
    """
    if not iso:
        return "an unknown date"
    try:
        t = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return f"{t.day} {t:%B %Y}"


def _step(event: AuditEvent) -> dict[str, Any]:
    """One step of the record: who, when, why, and whether a server verified who it was.

    An event claims verification only through a server's way of signing in (``oidc`` or a
    ``token:``); any other claim (or none, from before identities were recorded) reads as
    not verified.
    """
    identity = event.details.get("identity") if isinstance(event.details, dict) else None
    identity = identity if isinstance(identity, dict) else {}
    via = str(identity.get("via") or "not recorded")
    verified = identity.get("verified") is True and via.startswith(_SERVER_VIA)
    return {
        "by": event.actor,
        "at": event.time,
        "reason": event.reason,
        "verified": verified,
        "via": via,
        "event": event.seq,
    }


def _verified(step: dict[str, Any]) -> bool:
    """Whether a step says a server verified its name (sign-in or an API token), and only then."""
    return step.get("verified") is True and str(step.get("via")).startswith(_SERVER_VIA)


def _how(step: dict[str, Any], mode: str, role: str) -> str:
    """How far the name in ``step`` was checked: a clause when a server verified it, else a
    sentence (without its full stop)."""
    via = str(step.get("via"))
    if _verified(step):
        if via.startswith("token:"):
            return f"verified by civicml server through the API token {via[len('token:') :]!r}"
        return "signed in and verified by civicml server"
    whose = f"the {role}'s" if mode == "embedded" else "a"
    origin = _ORIGIN.get(via, _UNCHECKED).format(whose=whose)
    if mode == "embedded":
        return (
            f"civicml ran in embedded mode, so this name {origin} and was not verified by a server"
        )
    return f"This name {origin} and was not verified by a server"


def approval_sentence(record: dict[str, Any]) -> str:
    """One plain-English sentence for an approval record (see :func:`approval_record`).

    Examples
    --------
    >>> approval_sentence({"mode": "embedded", "status": "approved", "approved": {
    ...     "by": "alice", "at": "2026-12-06T09:00:00Z", "verified": False, "via": "os-login"}})
    "Approved by alice on 6 December 2026. civicml ran in embedded mode, so this name is the approver's computer login and was not verified by a server."
    >>> approval_sentence({"mode": "server", "status": "approved", "approved": {
    ...     "by": "bob@dept.gov.uk", "at": "2026-12-06T09:00:00Z", "verified": True,
    ...     "via": "oidc"}})
    'Approved by bob@dept.gov.uk on 6 December 2026, signed in and verified by civicml server.'
    >>> approval_sentence({"mode": "embedded", "status": "pending_approval"})
    'Not approved yet.'
    """
    status = record.get("status")
    key, verb = {"approved": ("approved", "Approved"), "rejected": ("rejected", "Rejected")}.get(
        str(status), (None, None)
    )
    step = record.get(key) if key else None
    if not step:
        return "Not approved yet."
    role = "approver" if key == "approved" else "reviewer"
    how = _how(step, str(record.get("mode")), role)
    head = f"{verb} by {step['by']} on {_when(step.get('at'))}"
    return f"{head}, {how}." if _verified(step) else f"{head}. {how}."


def approval_record(registry: Registry | RemoteRegistry, name: str, version: int) -> dict[str, Any]:
    """Who registered ``name`` v``version``, who asked for its approval and who approved or
    rejected it, from the version's audit events, as plain JSON-able data.

    Parameters
    ----------
    registry : Registry or RemoteRegistry
        An embedded registry, one run by ``civicml server`` (``server=True``), or a client of a
        server over HTTP (both of which are ``"server"`` mode).
    name, version : str, int
        The version.

    Returns
    -------
    dict
        ``model``, ``version``, ``ref``, ``status``, ``mode`` (``"embedded"`` or ``"server"``),
        one entry per step (``registered``, ``requested``, ``approved``, ``rejected``,
        ``checks_overridden``; None when it has not happened), each with ``by``, ``at``,
        ``reason``, ``verified``, ``via`` and the audit ``event`` number; ``verified`` (whether the
        decision in force was verified by a server) and ``sentence``, for people to read.
        The latest event of each step counts.

    Raises
    ------
    NotFoundError
        When the version does not exist.
    """
    v = registry.get_version(name, int(version))
    record: dict[str, Any] = {
        "model": v.name,
        "version": v.version,
        "ref": v.ref,
        "status": v.status,
        "mode": "server" if getattr(registry, "server", False) else "embedded",
    }
    record.update(dict.fromkeys(STEPS.values()))
    for event in registry.audit_events(subject=v.ref):
        key = STEPS.get(event.action)
        if key is not None:
            record[key] = _step(event)
    decided = {"approved": "approved", "rejected": "rejected"}.get(v.status)
    record["verified"] = bool(decided and (record.get(decided) or {}).get("verified"))
    record["sentence"] = approval_sentence(record)
    return record
