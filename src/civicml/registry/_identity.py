"""Who acts: an :class:`Actor` is a name plus how far civicml could check it.

In embedded mode (one person, local files) the CLI acts as the OS login (:func:`os_login`), which
no flag can change but nothing verifies either; the Python API takes whatever name its caller
passes. Only ``civicml server`` verifies identities (OpenID Connect sign-in or an API token that
an authenticated admin issued), and only its actors carry ``verified=True`` and roles. Every
audit event records which it was, so a record never claims more than was checked.

Examples
--------
>>> as_actor("Ada Lovelace")
Actor(name='Ada Lovelace', verified=False, via='api', roles=())
>>> a = Actor("ada@dept.gov.uk", verified=True, via="oidc", roles=("approver",))
>>> a.identity()
{'verified': True, 'via': 'oidc'}
>>> a.holds("approver"), a.holds("admin")
(True, False)
>>> as_actor(a) is a
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from civicml._scopes import in_scope
from civicml.registry._records import EventDraft

__all__ = ["ROLES", "Actor", "as_actor", "event_draft", "os_login"]

#: the roles a verified person or service may hold; ``admin`` holds all of them
ROLES: tuple[str, ...] = ("viewer", "trainer", "approver", "admin")


@dataclass(frozen=True)
class Actor:
    """A person or service acting on the registry.

    Attributes
    ----------
    name : str
        The identity recorded as the actor: an OS login, a signed-in person's e-mail or
        username, or the owner of an API token.
    verified : bool
        True only when ``civicml server`` authenticated them.
    via : str
        How the name was obtained: ``os-login``, ``oidc``, ``token:NAME`` or ``api`` (a name
        passed to the Python API).
    roles : tuple of str
        The roles a server granted (:data:`ROLES`); empty in embedded mode.
    models : tuple of str
        The models those roles reach: names or team prefixes such as ``benefits-*``
        (:func:`~civicml.registry.in_scope`); empty: every model.
    """

    name: str
    verified: bool = False
    via: str = "api"
    roles: tuple[str, ...] = ()
    models: tuple[str, ...] = field(default=(), repr=False)

    def reaches(self, model: str) -> bool:
        """True when the actor's roles reach the model ``model`` (its scope holds it).

        >>> Actor("ci", models=("benefits-*",)).reaches("housing-triage")
        False
        """
        return in_scope(model, self.models)

    def holds(self, role: str) -> bool:
        """True when the actor holds ``role`` (``admin`` holds every role)."""
        return role in self.roles or "admin" in self.roles

    def identity(self) -> dict[str, object]:
        """What the audit event records about how the actor was identified."""
        return {"verified": self.verified, "via": self.via}


def as_actor(actor: str | Actor) -> Actor:
    """An :class:`Actor` from a name (unverified, ``via='api'``) or an Actor unchanged."""
    return actor if isinstance(actor, Actor) else Actor(str(actor))


def os_login() -> str:
    """The operating-system account running this process (from the process's user id, so an
    environment variable cannot change it); ``uid-N`` when the account has no name.

    >>> isinstance(os_login(), str) and len(os_login()) > 0
    True
    """
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover - Windows, or a uid with no passwd entry
        import getpass

        try:
            return getpass.getuser()
        except Exception:
            return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def event_draft(
    actor: Actor, action: str, subject: str, reason: str | None = None, **details: Any
) -> EventDraft:
    """An audit event by ``actor``: ``None`` details are left out, and ``identity`` records how
    the actor was identified.

    >>> event_draft(Actor("ada"), "approve", "m/1", "ok", note=None).details
    {'identity': {'verified': False, 'via': 'api'}}
    """
    kept = {k: v for k, v in details.items() if v is not None}
    kept["identity"] = actor.identity()
    return EventDraft(actor.name, action, subject, reason, kept)
