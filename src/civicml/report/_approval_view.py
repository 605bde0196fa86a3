"""What a report, model card and ATRS record show of a registry's approval record: who did each
step, when, and how far their name was checked."""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["APPROVAL_STEPS", "NOT_IN_REGISTRY", "approval_lines", "approval_view"]

#: what every report, model card and ATRS record says when no approval record was given
NOT_IN_REGISTRY = "Not yet approved in a registry."
#: the steps of an approval record (civicml.registry.approval_record), in order, with labels
APPROVAL_STEPS = (
    ("registered", "Registered"),
    ("requested", "Approval requested"),
    ("checks_overridden", "Failing checks overridden"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
)
#: the ways a server verifies an identity (``token:NAME`` is matched by its prefix)
_SERVER_VIA = ("oidc", "token:")


def _when(iso: Any) -> str:
    """'6 December 2026' from an ISO 8601 time (the text unchanged when it is not one)."""
    if not iso:
        return "unknown date"
    try:
        t = _dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return f"{t.day} {t:%B %Y}"


def _checked(step: dict[str, Any], mode: Any) -> str:
    """How far the name in one approval step was checked, in a few words."""
    via = str(step.get("via") or "not recorded")
    if step.get("verified") is True and via.startswith(_SERVER_VIA):
        if via.startswith("token:"):
            return f"verified by civicml server (API token {via[len('token:') :]})"
        return "verified by civicml server (signed in)"
    origin = {
        "os-login": "computer login",
        "api": "name given to civicml's Python API",
    }.get(via, "name not checked")
    where = ", embedded mode" if mode == "embedded" else ""
    return f"not verified by a server ({origin}{where})"


def approval_view(approval: dict[str, Any] | None) -> dict[str, Any]:
    """What the report, model card and ATRS record show of an approval record.

    ``approval`` is :func:`civicml.registry.approval_record`'s dict (the caller builds it: the
    report package does not read the registry). A name is shown as verified only when its step
    says a server verified it through sign-in or an API token.

    Examples
    --------
    >>> approval_view(None)["sentence"]
    'Not yet approved in a registry.'
    >>> view = approval_view({"ref": "m/2", "mode": "embedded", "status": "approved",
    ...     "sentence": "Approved by alice on 6 December 2026.", "approved": {
    ...     "by": "alice", "at": "2026-12-06T10:00:00Z", "verified": True, "via": "os-login"}})
    >>> view["rows"][0]["checked"]
    'not verified by a server (computer login, embedded mode)'
    >>> view["approved"], view["verified"]
    (True, False)
    """
    if not approval:
        return {
            "given": False,
            "sentence": NOT_IN_REGISTRY,
            "rows": [],
            "approved": False,
            "verified": False,
            "ref": None,
            "mode": None,
        }
    mode = approval.get("mode")
    rows = [
        {
            "step": label,
            "by": str(step.get("by")),
            "date": _when(step.get("at")),
            "reason": step.get("reason") or "",
            "checked": _checked(step, mode),
            "verified": _checked(step, mode).startswith("verified"),
        }
        for key, label in APPROVAL_STEPS
        if isinstance(step := approval.get(key), dict)
    ]
    approved = approval.get("status") == "approved" and isinstance(approval.get("approved"), dict)
    return {
        "given": True,
        "sentence": str(approval.get("sentence") or "Not approved yet."),
        "rows": rows,
        "approved": approved,
        "verified": approved and any(r["verified"] for r in rows if r["step"] == "Approved"),
        "ref": approval.get("ref"),
        "mode": mode,
    }


def approval_lines(approval: dict[str, Any] | None) -> list[str]:
    """The model card's "Approval" section from an approval record (or None).

    >>> approval_lines(None)[:4]
    ['', '## Approval', '', 'Not yet approved in a registry.']
    """
    view = approval_view(approval)
    lines = ["", "## Approval", "", view["sentence"]]
    if not view["given"]:
        return lines
    mode = "civicml server" if view["mode"] == "server" else "embedded mode (one computer)"
    lines += ["", f"Registry version `{view['ref']}`, {mode}.", ""]
    lines += ["| step | by | date | identity |", "|---|---|---|---|"]
    lines += [f"| {r['step']} | {r['by']} | {r['date']} | {r['checked']} |" for r in view["rows"]]
    return lines
