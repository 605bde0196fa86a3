"""Who is calling the server: a bearer API token or a dashboard session, as a verified Actor.

The actor of every write comes from here and only from here: a token acts as the person or
service it was issued to (``TokenInfo.acts_as``), a session as the signed-in person. Token
scopes map to roles; a signed-in person's roles come from the sign-in itself when the session
carries them (OpenID Connect), else from the token behind the session.

A person signed in with OpenID Connect holds *grants*: each role with the models it reaches
(``GROUP=ROLE@benefits-*`` in the role map; see :mod:`civicml.asgi`). One :class:`Actor`
carries one scope, so :func:`grants_actor` sums the grants up safely: the roles that reach every
model, unscoped, when there are any (a role limited to some models is left out, never widened);
otherwise the union of the grants' models with only the roles that reach all of them (and
``viewer``, since every role reads). Per request, :func:`actor_for_model` gives the exact
actor for one model: the roles of the grants whose scope holds that model.

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

A person in ``staff=viewer`` and ``benefits-approvers=approver@benefits-*``:

>>> ann = grants_actor("ann", "oidc", [("viewer", ()), ("approver", ("benefits-*",))])
>>> ann.roles, ann.models  # registry-wide: a viewer, never an unscoped approver
(('viewer',), ())
>>> actor_for_model(ann, "benefits-triage").roles, actor_for_model(ann, "housing-triage").roles
(('viewer', 'approver'), ('viewer',))
>>> two = grants_actor("bo", "oidc", [("trainer", ("housing-*",)), ("approver", ("benefits-*",))])
>>> two.roles, two.models  # neither role reaches both teams' models: only reading does
(('viewer',), ('housing-*', 'benefits-*'))
>>> actor_for_model(two, "fraud-triage") is None
True
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from civicml.asgi import RateLimited, RateLimiter, Unauthorized, WebSession, bearer
from civicml.registry import ROLES, Actor, in_scope

__all__ = [
    "SESSION_SCOPES",
    "GrantedActor",
    "actor_for_model",
    "bearer_actor",
    "grants_actor",
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


@dataclass(frozen=True)
class GrantedActor(Actor):
    """An :class:`Actor` whose roles carry their own model scopes (a person signed in with
    OpenID Connect): ``roles`` and ``models`` are the safe sum of ``grants``
    (:func:`grants_actor`); :func:`actor_for_model` gives the exact actor for one model."""

    grants: tuple[Any, ...] = field(default=(), repr=False)

    def plain(self) -> Actor:
        """The summed-up actor without its grants."""
        return Actor(self.name, self.verified, self.via, self.roles, models=self.models)


def _grants(raw: Iterable[Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(role, models)`` pairs of grants (such pairs, or objects with ``role`` and ``models``
    such as :class:`civicml.asgi.RoleGrant`); unknown roles are dropped."""
    out = []
    for g in raw:
        role, models = g if isinstance(g, tuple) else (g.role, g.models)
        if str(role) in ROLES:
            out.append((str(role), tuple(str(m) for m in models or ())))
    return tuple(out)


def _covered(pattern: str, scope: Iterable[str]) -> bool:
    """True when every model ``pattern`` matches is inside ``scope`` (here, unlike a token's
    scope, an empty ``scope`` holds nothing: no grant gives the role)."""
    scope = tuple(scope)
    if not scope:
        return False
    if not pattern.endswith("*"):
        return in_scope(pattern, scope)
    prefixes = tuple(p for p in scope if p.endswith("*"))
    return pattern in scope or (bool(prefixes) and in_scope(pattern[:-1], prefixes))


def _sum(
    grants: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(roles, models)`` of one actor that holds no more than ``grants`` give."""
    wide = {role for role, models in grants if not models}
    if wide:
        return tuple(r for r in ROLES if r in wide), ()
    patterns = tuple(dict.fromkeys(m for _, models in grants for m in models))

    def reaches_all(role: str) -> bool:
        scope = [m for r, models in grants if r in (role, "admin") for m in models]
        return all(_covered(p, scope) for p in patterns)

    roles = ("admin",) if reaches_all("admin") else tuple(r for r in ROLES if reaches_all(r))
    return (roles or (("viewer",) if patterns else ())), patterns


def grants_actor(name: str, via: str, grants: Iterable[Any]) -> GrantedActor:
    """The verified actor of a person holding ``grants`` (``(role, models)`` pairs or
    :class:`civicml.asgi.RoleGrant`; empty models: every model), summed up safely (see the
    module rule)."""
    pairs = _grants(grants)
    roles, models = _sum(pairs)
    return GrantedActor(name, True, via, roles, models=models, grants=pairs)


def actor_for_model(actor: Actor, model: str) -> Actor | None:
    """The actor ``actor`` is for the model ``model``: the roles of the grants whose scope
    holds it, reaching every model when one of them does (``None``: no grant reaches it). An
    actor without grants is returned as it is when it reaches ``model``."""
    pairs = getattr(actor, "grants", ())
    if not pairs:
        return actor if actor.reaches(model) else None
    reaching = [(role, models) for role, models in pairs if in_scope(model, models)]
    if not reaching:
        return None
    held = {role for role, _ in reaching}
    wide = any(not models for _, models in reaching)
    scope = () if wide else tuple(dict.fromkeys(m for _, models in reaching for m in models))
    roles = tuple(r for r in ROLES if r in held)
    return Actor(actor.name, actor.verified, actor.via, roles, models=scope)


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
    their sign-in mapped to (with ``grants``, each role with its own models: a
    :class:`GrantedActor`); a dashboard session opened with an API token acts as the token's
    owner (``acts_as``) with its scopes' roles (the server checked the token).
    """
    grants = tuple(getattr(principal, "grants", ()) or ())
    if getattr(principal, "verified", False) and grants:
        return grants_actor(
            str(principal.name), str(getattr(principal, "via", "") or "oidc"), grants
        )
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
    the grants their sign-in carries (each role with its models: :func:`grants_actor`), kept
    here even when none of their roles reaches every model (the dashboard, which shows every
    model, does not honour such a session; the API checks the scope route by route).
    """
    if not cookie or web is None:
        return None, None
    session = web.codec.loads(cookie)
    principal = web.auth.session(session, SESSION_SCOPES) or _scoped_person(web.auth, session)
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


def _scoped_person(auth: Any, session: Any) -> Any:
    """The person an OpenID sign-in holds when all their roles are limited to some models
    (the authenticator's session check, which reads registry-wide roles only, refuses them)."""
    if not isinstance(session, WebSession) or not session.sid:
        return None
    entry = auth.sessions.get(session.sid)
    grants = getattr(entry, "grants", ()) or ()
    if getattr(entry, "verified", False) and any(getattr(g, "models", ()) for g in grants):
        return entry
    return None


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
