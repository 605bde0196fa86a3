"""Dashboard sign-in on the foundation's one authenticator: people through the organisation's
OpenID Provider, registry API tokens, signed session cookies (:class:`~civicml.asgi.SessionCodec`)
with server-side session ids, and CSRF tokens.

The cookie holds only a session id and a CSRF token (never a token, never a person's claims).
A token session looks the token up again on every request, so a revoked token signs its holder
out at once; signing out forgets the session id, so the cookie cannot be replayed. Scopes and
roles: ``viewer`` reads, ``trainer`` asks for approval, ``approver`` and ``admin`` decide
(``predict`` alone may not sign in).

Every change is made as a :class:`civicml.registry.Actor` built from the signed-in principal
(:func:`actor_of`): a person signed in through OpenID Connect is verified and carries their
roles; a token acts as its owner (``via="token:NAME"``), verified only when the registry is a
server's.

The dashboard's pages show every model, so it honours no role limited to some models: a token
limited with ``--models``/``--team`` is no credential here, and a person signed in through
OpenID Connect acts only with the roles that reach every model (``GROUP=ROLE`` in the role
map; a ``GROUP=ROLE@benefits-*`` role is left out). A person all of whose roles are limited
holds no such role, so their session opens no page (it still works on ``/api/v1``, which checks
the scope route by route).

Examples
--------
>>> from civicml.asgi import Principal
>>> actor_of(Principal("ann@x.gov.uk", ("approver",), verified=True, via="oidc"), server=True)
Actor(name='ann@x.gov.uk', verified=True, via='oidc', roles=('approver',))
>>> actor_of(Principal("ci", ("approver",), acts_as="bob"), server=False)
Actor(name='bob', verified=False, via='token:ci', roles=())
>>> from civicml.asgi import OIDCClient, OIDCSettings
>>> teams = {"staff": "viewer", "benefits-approvers": "approver@benefits-*"}
>>> client = OIDCClient(OIDCSettings("https://id.x.gov.uk", "c", "s", role_map=teams))
>>> claims = {"sub": "s1", "email": "ann@x.gov.uk", "groups": list(teams)}
>>> ann = client.identity(claims).principal()
>>> actor_of(ann, server=True)  # the dashboard: never an approver of every model
Actor(name='ann@x.gov.uk', verified=True, via='oidc', roles=('viewer',))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicml.asgi import COOKIE, Authenticator, Principal, SessionCodec, WebSession
from civicml.registry import Actor

if TYPE_CHECKING:
    from civicml.registry import Registry

__all__ = [
    "COOKIE",
    "READ_SCOPES",
    "SessionCodec",
    "User",
    "WebSession",
    "actor_of",
    "registry_authenticator",
    "wide_roles",
]

#: scopes that may open the dashboard (``predict`` alone may not)
READ_SCOPES = ("viewer", "trainer", "approver", "admin")

#: The signed-in person: a session :class:`~civicml.asgi.Principal` (``name``, ``scopes``,
#: ``token_id``, ``role``, ``can_decide``); the token's name is the actor of every change.
User = Principal


def registry_authenticator(registry: Registry) -> Authenticator:
    """The authenticator over a registry's tokens: bearer tokens through ``verify_token``,
    sessions through the token id they hold.

    A token limited to some models (``civicml tokens create --models/--team``) is no
    credential here: the dashboard's pages show every model, so it fails closed rather than
    showing one team another's (the API enforces the scope route by route)."""

    def verify(token: str) -> Any:
        info = registry.verify_token(token)
        return None if info is None or is_scoped(info) else info

    def lookup(token_id: str) -> Any:
        stored = registry.store.get_token(token_id)
        return None if stored is None or is_scoped(stored.info) else stored.info

    return Authenticator(verify, lookup=lookup)


def is_scoped(info: Any) -> bool:
    """Whether a token is limited to some models (its ``models`` scope is not empty)."""
    return bool(getattr(info, "models", ()) or ())


def wide_roles(user: Principal) -> tuple[str, ...]:
    """The roles of ``user`` that reach every model: a person's roles less any that a grant
    limits to some models (so a principal whose scopes were filled carelessly still cannot act
    on the dashboard with a limited role); a token's roles as they are."""
    grants = tuple(getattr(user, "grants", ()) or ())
    if not grants:
        return user.roles
    wide = {str(g.role) for g in grants if not g.models}
    return tuple(r for r in user.roles if r in wide)


def actor_of(user: Principal, *, server: bool) -> Actor:
    """The registry :class:`~civicml.registry.Actor` a signed-in principal acts as.

    A person an OpenID Provider signed in is verified, ``via="oidc"``, with their roles that
    reach every model (:func:`wide_roles`). A
    token acts as its owner (``acts_as``), ``via="token:NAME"``: verified, with its scopes as
    roles, only when ``server`` (the registry belongs to ``civicml server``, which checked the
    token); otherwise unverified (embedded mode).
    """
    if user.verified:
        return Actor(user.name, verified=True, via=user.via, roles=wide_roles(user))
    if server:
        return Actor(user.acts_as, verified=True, via=user.via, roles=user.roles)
    return Actor(user.acts_as, verified=False, via=user.via)
