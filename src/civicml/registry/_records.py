"""The plain records the registry hands out: versions, models, decisions, events, tokens.

They are frozen dataclasses (cheap to build on the serving hot path, no pydantic) with a
``to_dict`` for JSON output.

Examples
--------
>>> v = ModelVersion(name="benefits", version=3, digest="ab" * 32, status="approved",
...                  created_at="2024-01-01T00:00:00.000000Z", created_by="Ada")
>>> v.ref
'benefits/3'
>>> v.to_dict()["status"]
'approved'
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OVERSIGHT_MODES",
    "SCOPES",
    "STATUSES",
    "AuditEvent",
    "AuditVerification",
    "Decision",
    "EventDraft",
    "KeyInfo",
    "ModelSummary",
    "ModelVersion",
    "TokenInfo",
]

#: human oversight modes a version may declare
OVERSIGHT_MODES: tuple[str, ...] = ("advisory", "human-in-the-loop", "solely-automated")
#: the lifecycle of a version; there are no "stages", only this and aliases
STATUSES: tuple[str, ...] = ("registered", "pending_approval", "approved", "rejected", "retired")
#: what an API token may do
SCOPES: tuple[str, ...] = ("predict", "admin", "approver", "viewer", "trainer", "review")


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class ModelVersion(_Record):
    """One immutable version of a model, with its governance state.

    Attributes
    ----------
    name, version : str, int
        ``name/version`` identifies it (see :attr:`ref`).
    digest : str
        sha256 of the bundle's manifest.json: its content address in the artifact store.
    status : str
        One of :data:`STATUSES`.
    owner : dict
        ``organisation``, ``team``, ``senior_responsible_owner``, ``contact``.
    oversight : str or None
        One of :data:`OVERSIGHT_MODES`.
    checks : list of dict
        The assessment's checks (``name``, ``passed``, ``evidence``); ``checks_passed`` is
        ``None`` when the bundle had no ``checks.json``.
    legal : dict
        The legal record beyond the lawful basis: Art. 22A-22D safeguards for solely-automated
        decisions and the Art. 9 condition for special-category inputs.
    signer : str or None
        Fingerprint of the Ed25519 key that signed the bundle's manifest (``None``: unsigned).
    """

    name: str
    version: int
    digest: str
    status: str
    created_at: str
    created_by: str
    reason: str | None = None
    artifact_key: str = ""
    task: str | None = None
    owner: dict[str, Any] = field(default_factory=dict)
    intended_use: str | None = None
    out_of_scope_uses: list[str] = field(default_factory=list)
    oversight: str | None = None
    lawful_basis: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    checks_passed: bool | None = None
    override_by: str | None = None
    override_reason: str | None = None
    approved_by: str | None = None
    approved_at: str | None = None
    aliases: tuple[str, ...] = ()
    legal: dict[str, Any] = field(default_factory=dict)
    signer: str | None = None

    @property
    def ref(self) -> str:
        """``name/version``, the form every command accepts."""
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class ModelSummary(_Record):
    """A model with its newest version number, version count and aliases."""

    name: str
    created_at: str
    created_by: str
    latest_version: int
    version_count: int
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision(_Record):
    """A governance step on a version: request, approve, reject or override, with its reason."""

    kind: str
    actor: str
    reason: str
    at: str


@dataclass(frozen=True)
class EventDraft:
    """An audit event before the store numbers, times and chains it."""

    actor: str
    action: str
    subject: str
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent(_Record):
    """One link of the hash chain: ``hash = sha256(canonical JSON of the rest)``; ``mac`` is
    HMAC-SHA256 of ``hash`` under the audit key (``None`` for events before the key)."""

    seq: int
    time: str
    actor: str
    action: str
    subject: str
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str | None = None


@dataclass(frozen=True)
class AuditVerification(_Record):
    """The result of checking the audit chain and replaying it against the tables.

    ``ok`` is False when an event was edited, deleted or reordered, lacks a valid MAC, or a
    table row differs from the state the events record; ``first_bad_event_id`` is the sequence
    number of the first event that does not fit, and ``reason`` says why. ``problems`` lists
    every unaccepted problem, ``differences`` every table row that differs from the replayed
    state. ``keyed`` is the audit key's id (``None``: verified without a key), ``unkeyed_events``
    how many events predate the key, ``repairs`` how many recorded repairs were applied, and
    ``not_replayed`` how many versions have no full-state event to compare with (written before
    events carried state).
    """

    ok: bool
    events: int
    first_bad_event_id: int | None = None
    reason: str | None = None
    problems: tuple[dict[str, Any], ...] = ()
    differences: tuple[str, ...] = ()
    keyed: str | None = None
    unkeyed_events: int = 0
    repairs: int = 0
    not_replayed: int = 0


@dataclass(frozen=True)
class TokenInfo(_Record):
    """An API token's public facts. The secret itself is never stored or shown again."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: str
    created_by: str
    rate_limit: str | None = None
    revoked_at: str | None = None
    revoked_by: str | None = None
    owner: str | None = None
    #: the models it may reach: names or ``prefix*`` patterns (empty: every model)
    models: tuple[str, ...] = ()

    @property
    def acts_as(self) -> str:
        """The person or service this token acts as: its owner, else whoever created it.

        >>> TokenInfo("i", "ci-bot", ("predict",), "t", "ada").acts_as
        'ada'
        """
        return self.owner or self.created_by

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        """True when the token holds ``scope`` (``admin`` holds every scope).

        >>> TokenInfo("i", "n", ("predict",), "t", "a").allows("admin")
        False
        """
        return self.active and (scope in self.scopes or "admin" in self.scopes)


@dataclass(frozen=True)
class KeyInfo(_Record):
    """An Ed25519 public key registered to sign bundles for a person or service.

    ``fingerprint`` is the sha256 hex of the raw 32-byte public key (what a bundle's
    ``signature.json`` and :attr:`ModelVersion.signer` name). The private key never reaches the
    registry.

    >>> k = KeyInfo("ab" * 32, "ada", "-----BEGIN PUBLIC KEY-----...", "t", "ada")
    >>> k.active, k.state()["revoked_at"] is None, "public_key" in k.state()
    (True, True, False)
    """

    fingerprint: str
    owner: str
    public_key: str
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def state(self) -> dict[str, Any]:
        """The full record as the audit events ``key.register``/``key.revoke`` carry it under
        ``details["state"]``: every column, the public key as its ``public_key_sha256`` (the
        ``key.register`` event carries the PEM itself as ``details["public_key"]``)."""
        out = dataclasses.asdict(self)
        out["public_key_sha256"] = hashlib.sha256(out.pop("public_key").encode()).hexdigest()
        return out
