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
from dataclasses import replace
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
        models=tuple(getattr(info, "models", ()) or ()),
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
    models = tuple(getattr(principal, "models", ()) or ())
    if getattr(principal, "verified", False):
        via = str(getattr(principal, "via", "") or "oidc")
        return Actor(str(principal.name), True, via, roles, models=models)
    name = getattr(principal, "acts_as", "") or principal.name
    via = getattr(principal, "via", "") or f"token:{principal.name}"
    return Actor(str(name), True, str(via), roles, models=models)


def session_actor(web: Any, cookie: str | None, registry: Any = None) -> tuple[Actor | None, Any]:
    """The signed-in person of a dashboard session cookie and the session itself (``(None,
    None)`` when signed out, expired, revoked or without a role).

    A session opened with a registry token keeps that token's model scope (read from the
    ``registry``), so signing in to the dashboard never widens what a scoped token reaches; a
    token that is gone or revoked ends the session. A person signed in with OpenID Connect has
    the scope their sign-in carries (``models`` on the principal; none: every model).
    """
    if not cookie or web is None:
        return None, None
    session = web.codec.loads(cookie)
    principal = web.auth.session(session, SESSION_SCOPES)
    if principal is None:
        return None, session
    actor = principal_actor(principal)
    lookup = getattr(registry, "token_scope", None)
    if not getattr(principal, "verified", False) and callable(lookup):
        token_id = str(getattr(principal, "id", ""))
        if not token_id.startswith("static:"):
            scope = lookup(token_id)
            if scope is None:
                return None, session
            actor = replace(actor, models=tuple(scope))
    return actor, session


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
