"""The serving gate: only a version the registry approved is served, with its approved oversight.

:func:`gate` decides, once per load (start and every hot reload, never per request), whether a
bundle may be served: a registered version must be ``approved`` unless the operator started
``civicml serve`` with ``--allow-unapproved REASON`` (an audited override, bound to the one
version it was given for), and the oversight mode is the one recorded in the registry (a
different ``--oversight`` is refused). A bundle folder that is not in the registry keeps the
operator's ``--oversight``, and its metadata and decision log say it was not approved in a
registry. The result is a :class:`Governance`, whose fields are computed here so the hot path
only merges :attr:`Governance.log_fields` into each decision-log record.

:func:`open_serving_registry` is the one place serve opens the registry it gates against: the
embedded database, or a ``civicml server`` (an ``http(s)://`` URL) whose record of status and
oversight is gated the same way, and where ``--allow-unapproved`` is refused because an
audited override cannot be written through its API.

Examples
--------
>>> gate(None, oversight="advisory").log_fields
{'oversight_approved': False}
>>> from civicml.registry import ModelVersion
>>> v = ModelVersion(name="claims", version=1, digest="ab", status="registered",
...                  created_at="2024-01-01T00:00:00Z", created_by="Ada", oversight="advisory")
>>> gate(v).ref
Traceback (most recent call last):
...
civicml._errors.GovernanceError: claims/1 is not approved in the registry, so civicml serve refuses it. Expected status 'approved'; got 'registered'. Have it approved ('civicml models request-approval claims 1', then a second person runs 'civicml models approve claims 1'), or start serve with --allow-unapproved REASON (recorded in the audit log).
>>> g = gate(v, allow_unapproved="Pilot with caseworkers")
>>> g.log_fields
{'oversight_approved': False, 'unapproved_override': 'Pilot with caseworkers'}
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml._errors import CivicMLError, GovernanceError, SpecError

if TYPE_CHECKING:
    from civicml.registry import ModelVersion, Registry, RemoteRegistry

__all__ = [
    "DELETION_ACTION",
    "OVERRIDE_ACTION",
    "REMOTE_OVERRIDE_REFUSED",
    "Governance",
    "find_version",
    "gate",
    "is_server_url",
    "open_serving_registry",
    "record_deletion",
    "record_override",
]

#: the audit action recorded when a server starts on an unapproved version
OVERRIDE_ACTION = "serve.unapproved_override"
#: the audit action recorded for each decision-log part deleted under the retention period
DELETION_ACTION = "decision_log.delete"
#: the salted hashes of the tokens a serving process accepts when its registry is a server
TOKEN_HASH_ENV = "CIVICML_SERVE_TOKEN_HASH"
#: the one line ``--allow-unapproved`` against a ``civicml server`` is refused with
REMOTE_OVERRIDE_REFUSED = (
    "civicml serve --allow-unapproved is refused against a civicml server: an unapproved "
    "version can only be served with an override recorded on the registry host, because the "
    "CLI cannot write an audited override through the API. Have the version approved on the "
    "server (request-approval, then a second person approves), or run civicml serve on the "
    "registry host against the server's database with --allow-unapproved REASON"
)


@dataclass(frozen=True)
class Governance:
    """What the registry says about the served bundle, fixed when it is loaded.

    Attributes
    ----------
    ref, status : str or None
        ``name/version`` and its registry status when the bundle is a registered version.
    digest : str or None
        The registered version's digest.
    oversight : str or None
        The oversight mode in force (the registry's, for a registered version).
    approved : bool
        True when the bundle is a version the registry approved (its oversight mode with it).
    unapproved_override : str or None
        The reason given with ``--allow-unapproved`` when an unapproved version is served.
    """

    ref: str | None = None
    status: str | None = None
    digest: str | None = None
    oversight: str | None = None
    approved: bool = False
    unapproved_override: str | None = None

    @property
    def log_fields(self) -> dict[str, Any]:
        """The fields added to every decision-log record (computed once per load)."""
        fields: dict[str, Any] = {"oversight_approved": self.approved}
        if self.unapproved_override is not None:
            fields["unapproved_override"] = self.unapproved_override
        return fields

    def parameters(self) -> dict[str, Any]:
        """The governance part of ``/v2/models/{name}`` metadata parameters."""
        if self.ref is None:
            source = "the operator (--oversight); the bundle is not a version in the registry"
        else:
            source = "the registry"
        return {
            "registry_version": self.ref,
            "registry_status": self.status,
            "oversight": self.oversight,
            "oversight_source": source,
            "oversight_approved": self.approved,
            "unapproved_override": self.unapproved_override,
        }


def check_override_reason(reason: str | None) -> str | None:
    """``None`` (no override) or the stripped reason; an empty reason is refused."""
    if reason is None:
        return None
    if not str(reason).strip():
        raise SpecError.build(
            "--allow-unapproved needs a reason",
            got=reason,
            fix='Pass --allow-unapproved "WHY THIS UNAPPROVED VERSION MAY SERVE", which is '
            "recorded in the audit log",
        )
    return str(reason).strip()


def gate(
    version: ModelVersion | None,
    *,
    oversight: str | None = None,
    allow_unapproved: str | None = None,
    override_digest: str | None = None,
) -> Governance:
    """May this version be served, and under which oversight mode? Raises GovernanceError.

    ``version`` is the registry's record of the bundle (``None``: not in the registry);
    ``oversight`` the operator's ``--oversight``; ``allow_unapproved`` the override reason;
    ``override_digest`` the one version the override was already given (and audited) for.
    """
    reason = check_override_reason(allow_unapproved)
    if version is None:
        return Governance(oversight=oversight)
    if oversight is not None and oversight != version.oversight:
        raise GovernanceError.build(
            f"civicml serve --oversight {oversight} differs from the oversight mode recorded "
            f"for {version.ref} in the registry",
            expected=repr(version.oversight) if version.oversight else "no --oversight",
            got=oversight,
            fix="Drop --oversight: serve takes the mode from the registry. To serve with "
            "another mode, register a version with that mode and have it approved",
        )
    base = Governance(
        ref=version.ref, status=version.status, digest=version.digest, oversight=version.oversight
    )
    if version.status == "approved":
        return dataclasses.replace(base, approved=True)
    if reason is None or (override_digest is not None and override_digest != version.digest):
        bound = "" if reason is None else " (the --allow-unapproved override covers another one)"
        raise GovernanceError.build(
            f"{version.ref} is not approved in the registry{bound}, so civicml serve refuses it",
            expected="status 'approved'",
            got=version.status,
            fix=f"Have it approved ('civicml models request-approval {version.name} "
            f"{version.version}', then a second person runs 'civicml models approve "
            f"{version.name} {version.version}'), or start serve with --allow-unapproved "
            "REASON (recorded in the audit log)",
        )
    return dataclasses.replace(base, unapproved_override=reason)


def is_server_url(uri: str | None) -> bool:
    """True when a registry location names a ``civicml server`` (``http(s)://``).

    >>> is_server_url("https://models.example.gov.uk"), is_server_url("sqlite:///r.db")
    (True, False)
    """
    return (uri or "").strip().lower().startswith(("http://", "https://"))


def open_serving_registry(
    uri: str | None, project_dir: str | Path = ".", *, allow_unapproved: str | None = None
) -> Registry | RemoteRegistry:
    """The registry ``civicml serve`` reads versions, their status and oversight from (the one
    place it is opened, in the parent process and in every worker).

    ``uri`` (default ``$CIVICML_REGISTRY``) that is an ``http(s)://`` URL is a ``civicml
    server``: a :class:`~civicml.registry.RemoteRegistry` authenticated by ``$CIVICML_TOKEN``,
    whose bundles download into ``PROJECT/.civicml/cache`` and are verified. There
    ``allow_unapproved`` is refused (:data:`REMOTE_OVERRIDE_REFUSED`): the override must be
    audited, and the API has no way to write it; and the callers' tokens are checked against
    ``$CIVICML_SERVE_TOKEN_HASH`` (the server does not lend its token table), so serving
    without it is refused. Anything else opens the embedded registry.

    Examples
    --------
    >>> try:
    ...     open_serving_registry("http://127.0.0.1:9", allow_unapproved="pilot")
    ... except GovernanceError as exc:
    ...     print(str(exc).split(":")[0])
    civicml serve --allow-unapproved is refused against a civicml server
    """
    if uri is None:
        uri = os.environ.get("CIVICML_REGISTRY") or None
    if is_server_url(uri):
        assert uri is not None
        if allow_unapproved is not None:
            raise GovernanceError(REMOTE_OVERRIDE_REFUSED + ".")
        if not os.environ.get(TOKEN_HASH_ENV, "").strip():
            raise SpecError.build(
                "civicml serve against a civicml server checks the tokens its callers present "
                f"against ${TOKEN_HASH_ENV}, which is not set, so it would refuse every request",
                fix=f"Set {TOKEN_HASH_ENV} to the salted hashes (comma-separated) of the "
                "callers' tokens, made with civicml.serve.hash_token(TOKEN, salt=RANDOM_HEX)",
            )
        from civicml.registry import RemoteRegistry

        return RemoteRegistry(uri, cache_dir=Path(project_dir) / ".civicml" / "cache")
    from civicml.registry import open_registry

    return open_registry(uri, project_dir=project_dir)


def find_version(registry: Any, digest: str, hint: str | None = None) -> ModelVersion | None:
    """The registered version whose bundle has ``digest`` (``hint``: the model to look in
    first), or ``None``. Runs at load time only."""
    names: list[str] = []
    if hint:
        names.append(hint)
    offset = 0
    while True:
        page = registry.list_models(limit=1000, offset=offset)
        names += [m.name for m in page if m.name != hint]
        if len(page) < 1000:
            break
        offset += len(page)
    for name in names:
        before: int | None = None
        while True:
            try:
                versions = registry.list_versions(name, limit=1000, before=before)
            except CivicMLError:  # a name the registry refuses holds no version
                break
            for v in versions:
                if v.digest == digest:
                    return v
            if len(versions) < 1000:
                break
            before = versions[-1].version
    return None


def record_override(registry: Any, version: ModelVersion, reason: str) -> None:
    """Append the audit event saying a server started on an unapproved version, and why.

    Embedded mode only: the actor is the OS login (:func:`civicml.registry.os_login`, from the
    process's user id, so ``$USER`` or ``$LOGNAME`` cannot change it), and the event says the
    identity was not verified. A ``civicml server``'s registry has no audited override over its
    API, so it is refused (:func:`open_serving_registry` refuses it first).
    """
    from civicml.registry import Actor, EventDraft, os_login

    store = getattr(registry, "store", None)
    if store is None:
        raise GovernanceError(REMOTE_OVERRIDE_REFUSED + ".")
    actor = Actor(os_login(), verified=False, via="os-login")
    store.append_event(
        EventDraft(
            actor.name,
            OVERRIDE_ACTION,
            version.ref,
            reason,
            {
                "digest": version.digest,
                "status": version.status,
                "oversight": version.oversight,
                "identity": actor.identity(),
                "identity_verified": False,
            },
        )
    )


def record_deletion(registry: Any, log_name: str, record: dict[str, Any]) -> None:
    """Append the audit event for one decision-log part deleted under the retention period
    (``record`` as :func:`civicml.serve.apply_retention` writes it: file, rows, dates, reason).

    Embedded mode: the actor is the OS login running the server, not verified. A registry
    reached over HTTP has no such API, so the deletion stays recorded beside the log only.
    """
    from civicml.registry import Actor, EventDraft, os_login

    store = getattr(registry, "store", None)
    if store is None:
        return
    actor = Actor(os_login(), verified=False, via="os-login")
    details = {k: v for k, v in record.items() if isinstance(v, str | int | float | bool)}
    store.append_event(
        EventDraft(
            actor.name,
            DELETION_ACTION,
            f"decisions/{log_name}",
            str(record.get("reason") or "retention period"),
            {**details, "identity": actor.identity(), "identity_verified": False},
        )
    )
