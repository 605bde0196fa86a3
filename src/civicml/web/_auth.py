"""Dashboard sign-in on the foundation's one authenticator: registry API tokens, signed session
cookies (:class:`~civicml.asgi.SessionCodec`) and CSRF tokens.

The cookie holds only the token's id and a CSRF token (the plaintext token is never stored).
Every request looks the token up again, so a revoked token signs its holder out at once.
Scopes: ``viewer`` reads, ``approver`` and ``admin`` decide (``predict`` alone may not sign in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicml.asgi import COOKIE, Authenticator, Principal, SessionCodec, WebSession

if TYPE_CHECKING:
    from civicml.registry import Registry

__all__ = [
    "COOKIE",
    "READ_SCOPES",
    "SessionCodec",
    "User",
    "WebSession",
    "registry_authenticator",
]

#: scopes that may open the dashboard (``predict`` alone may not)
READ_SCOPES = ("viewer", "approver", "admin")

#: The signed-in person: a session :class:`~civicml.asgi.Principal` (``name``, ``scopes``,
#: ``token_id``, ``role``, ``can_decide``); the token's name is the actor of every change.
User = Principal


def registry_authenticator(registry: Registry) -> Authenticator:
    """The authenticator over a registry's tokens: bearer tokens through ``verify_token``,
    sessions through the token id they hold."""

    def lookup(token_id: str) -> Any:
        stored = registry.store.get_token(token_id)
        return None if stored is None else stored.info

    return Authenticator(registry.verify_token, lookup=lookup)
