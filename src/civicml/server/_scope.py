"""Model scopes on ``/api/v1``: what a token limited to named models or a team's prefix may reach.

One rule for every route, checked before the handler runs:

* a route about one model (``/models/{name}/…``, ``/resolve?ref=…``) answers **404** for a
  model outside the caller's scope, whether or not it exists, with the same words either way
  (so a scoped token cannot even learn another team's model names);
* ``GET /models`` lists only the models inside the scope (the handler filters in SQL);
* a route about the whole registry (``/audit…``, ``/tokens…``, ``/keys…``, ``/runs…``) answers
  **403**: a scoped token cannot read other teams' audit events or change registry-wide state;
* ``/me``, ``/health`` and ``/openapi.json`` are open to every caller, and so are registering
  and revoking one's own signing key (``POST /keys``, ``DELETE /keys/{fingerprint}``: a key
  belongs to a person, not to a model; the handler keeps the "yours, or an admin's" rule).

An unscoped actor (``models`` empty) reaches everything, as before scopes existed.

A person signed in with OpenID Connect whose role map gives roles limited to some models
(``GROUP=ROLE@benefits-*``) obeys the same rule, grant by grant: :func:`for_request` (called
before the role check) makes the actor of a route about one model from the roles of the grants
whose scope holds that model (404, as above, when none does), and any other route acts with
the safe sum of the grants (the roles that reach every model, if any; else the union of the
grants' models with the roles that reach all of them).

Examples
--------
>>> from civicml.registry import Actor
>>> team = Actor("ci", True, "token:ci", ("trainer",), models=("benefits-*",))
>>> check_scope(team, "GET", "/models/{name}", {"name": "benefits-triage"}, {})
>>> check_scope(team, "GET", "/models/{name}", {"name": "housing-triage"}, {})
Traceback (most recent call last):
...
civicml.asgi._errors.HTTPError: There is no model named 'housing-triage' that this token can reach (it is limited to ['benefits-*']).
>>> check_scope(team, "GET", "/audit", {}, {})
Traceback (most recent call last):
...
civicml.asgi._errors.HTTPError: This token is limited to the models ['benefits-*'], and /audit covers the whole registry. Use a token without --models/--team for registry-wide work.

A person in ``staff=viewer`` and ``benefits-approvers=approver@benefits-*``:

>>> from civicml.server._identity import grants_actor
>>> ann = grants_actor("ann", "oidc", [("viewer", ()), ("approver", ("benefits-*",))])
>>> path = "/models/{name}/versions/{version}/approve"
>>> for_request(ann, "POST", path, {"name": "benefits-triage", "version": "1"}, {}).roles
('viewer', 'approver')
>>> for_request(ann, "POST", path, {"name": "housing-triage", "version": "1"}, {}).roles
('viewer',)
>>> for_request(ann, "GET", "/tokens", {}, {}).roles
('viewer',)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml._errors import CivicMLError
from civicml.asgi import HTTPError
from civicml.registry import Actor, parse_ref
from civicml.server._identity import GrantedActor, actor_for_model
from civicml.server._problems import forbidden

__all__ = ["check_scope", "for_request", "out_of_scope", "target_model"]

#: routes every authenticated caller may use whatever its scope
_OPEN = {
    ("GET", "/me"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("POST", "/keys"),
    ("DELETE", "/keys/{fingerprint}"),
}


def _person(actor: Actor) -> bool:
    """True for a signed-in person (whose roles come from groups), False for a token."""
    return not actor.via.startswith("token:")


def out_of_scope(actor: Actor, name: str) -> HTTPError:
    """The one 404 of a model outside ``actor``'s scope (the same whether it exists or not)."""
    reach = (
        "that your roles reach (they are limited to"
        if _person(actor)
        else "that this token can reach (it is limited to"
    )
    return HTTPError(
        404, "not_found", f"There is no model named {name[:100]!r} {reach} {list(actor.models)})."
    )


def target_model(path: str, params: Mapping[str, str], query: Mapping[str, Any]) -> str | None:
    """The one model a route is about (``/models/{name}/…``, ``/resolve?ref=…``), else ``None``
    (a route about the whole registry, or a reference the handler will refuse).

    >>> target_model("/resolve", {}, {"ref": "benefits@production"})
    'benefits'
    >>> target_model("/audit", {}, {}) is None
    True
    """
    if "name" in params and path.startswith("/models/"):
        return params["name"]
    if path == "/resolve":
        try:
            return str(parse_ref(str(query.get("ref", "")))[0])
        except CivicMLError:
            return None  # not a reference at all: the handler answers 422
    return None


def for_request(
    actor: Actor | None,
    method: str,
    path: str,
    params: Mapping[str, str],
    query: Mapping[str, Any],
) -> Actor | None:
    """The actor a request acts as, for one whose roles carry their own model scopes
    (:class:`~civicml.server._identity.GrantedActor`): on a route about one model, the roles of
    the grants whose scope holds it (**404** when none does); on any other route, the safe sum
    of the grants. Any other actor is returned as it is. Call it before the role check."""
    if not isinstance(actor, GrantedActor):
        return actor
    plain = actor.plain()
    name = None if (method, path) in _OPEN else target_model(path, params, query)
    if name is None:
        return plain
    narrowed = actor_for_model(actor, name)
    if narrowed is None:
        raise out_of_scope(plain, name)
    return narrowed


def check_scope(
    actor: Actor | None,
    method: str,
    path: str,
    params: Mapping[str, str],
    query: Mapping[str, Any],
) -> None:
    """Refuse a request that reaches outside the actor's model scope (see the module rule).

    ``path`` is the route's template (``/models/{name}``), ``params`` its path parameters and
    ``query`` the parsed query parameters.
    """
    if actor is None or not actor.models or (method, path) in _OPEN:
        return
    if path == "/models":
        return  # the handler lists only the models in scope
    if ("name" in params and path.startswith("/models/")) or path == "/resolve":
        name = target_model(path, params, query)
        if name is not None and not actor.reaches(name):
            raise out_of_scope(actor, name)
        return
    if _person(actor):
        raise forbidden(
            f"Your roles are limited to the models {list(actor.models)}, and {path} covers the "
            "whole registry. Ask an admin for a group whose role reaches every model."
        )
    raise forbidden(
        f"This token is limited to the models {list(actor.models)}, and {path} covers the whole "
        "registry. Use a token without --models/--team for registry-wide work."
    )
