"""Who is calling the server: a bearer API token or a dashboard session, as a verified Actor.

The actor of every write comes from here and only from here: a token acts as the person or
service it was issued to (``TokenInfo.acts_as``), a session as the signed-in person. Token
scopes map to roles; a signed-in person's roles come from the sign-in itself when the session
carries them (OpenID Connect), else from the token behind the session.

Examples
--------
>>> from civicml.registry import TokenInfo
>>> info = TokenInfo("0" * 16, "alice-laptop", ("trainer", "predict"), "t", "admin", owner="alice")
>>> token_actor(info)
Actor(name='alice', verified=True, via='token:alice-laptop', roles=('trainer',))
>>> permits(token_actor(info), ("trainer",)), permits(token_actor(info), ("approver",))
(True, False)
>>> permits(token_actor(info), ("viewer",))
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from civicml.asgi import RateLimited, RateLimiter, Unauthorized, bearer
from civicml.registry import ROLES, Actor

__all__ = [
    "SESSION_SCOPES",
    "bearer_actor",
    "permits",
    "principal_actor",
    "roles_from_scopes",
    "session_actor",
    "token_actor",
]

#: the scopes a dashboard session may hold to use the API with its cookie
SESSION_SCOPES = ("viewer", "trainer", "approver", "admin")


def roles_from_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The roles a token's scopes grant: ``viewer``, ``trainer``, ``approver`` and ``admin``
    are roles; ``predict`` (calling models) grants none.

    >>> roles_from_scopes(["predict", "approver", "viewer", "approver"])
    ('viewer', 'approver')
    """
    held = set(scopes)
    return tuple(role for role in ROLES if role in held)


def permits(actor: Actor, roles: tuple[str, ...]) -> bool:
    """True when ``actor`` holds any of ``roles``; every role (and admin) may read
    (``viewer``), and ``admin`` holds every role."""
    if not roles:
        return True
    if "viewer" in roles and any(r in ROLES for r in actor.roles):
        return True
    return any(actor.holds(role) for role in roles)


def token_actor(info: Any) -> Actor:
    """The verified actor behind a registry token (its owner, else whoever issued it)."""
    name = getattr(info, "acts_as", None) or str(info.name)
    return Actor(
        name=str(name),
        verified=True,
        via=f"token:{info.name}",
        roles=roles_from_scopes(getattr(info, "scopes", ()) or ()),
    )


def principal_actor(principal: Any) -> Actor:
    """The one conversion of a foundation :class:`~civicml.asgi.Principal` to an Actor.

    A person an OpenID Provider signed in (``verified``) acts as themselves with the roles
    their sign-in mapped to; a dashboard session opened with an API token acts as the token's
    owner (``acts_as``) with its scopes' roles (the server checked the token).
    """
    scopes = tuple(getattr(principal, "scopes", ()) or ())
    held = getattr(principal, "roles", None)
    roles = tuple(
        r for r in (held if held is not None else roles_from_scopes(scopes)) if r in ROLES
    )
    if getattr(principal, "verified", False):
        return Actor(str(principal.name), True, str(getattr(principal, "via", "") or "oidc"), roles)
    name = getattr(principal, "acts_as", "") or principal.name
    via = getattr(principal, "via", "") or f"token:{principal.name}"
    return Actor(str(name), True, str(via), roles)


def session_actor(web: Any, cookie: str | None) -> tuple[Actor | None, Any]:
    """The signed-in person of a dashboard session cookie and the session itself (``(None,
    None)`` when signed out, expired, revoked or without a role)."""
    if not cookie or web is None:
        return None, None
    session = web.codec.loads(cookie)
    principal = web.auth.session(session, SESSION_SCOPES)
    if principal is None:
        return None, session
    return principal_actor(principal), session


def bearer_actor(registry: Any, authorization: str | None, limiter: RateLimiter) -> Actor:
    """The verified actor of an ``Authorization: Bearer`` header: 401 without a valid token,
    429 over the token's rate limit."""
    token = bearer(authorization)
    info = registry.verify_token(token) if token else None
    if info is None:
        raise Unauthorized(
            "The bearer token is not valid or has been revoked."
            if token
            else "This endpoint needs authentication: send 'Authorization: Bearer <token>' "
            "(ask an admin for a token) or sign in to the dashboard."
        )
    rate = getattr(info, "rate_limit", None)
    if rate and not limiter.allow(str(info.id), rate):
        raise RateLimited(f"The token went over its rate limit of {rate}. Slow down.")
    return token_actor(info)
