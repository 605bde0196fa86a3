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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml._errors import CivicMLError
from civicml.asgi import HTTPError
from civicml.registry import Actor, parse_ref
from civicml.server._problems import forbidden

__all__ = ["check_scope", "out_of_scope"]

#: routes every authenticated caller may use whatever its scope
_OPEN = {
    ("GET", "/me"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("POST", "/keys"),
    ("DELETE", "/keys/{fingerprint}"),
}


def out_of_scope(actor: Actor, name: str) -> HTTPError:
    """The one 404 of a model outside ``actor``'s scope (the same whether it exists or not)."""
    return HTTPError(
        404,
        "not_found",
        f"There is no model named {name[:100]!r} that this token can reach "
        f"(it is limited to {list(actor.models)}).",
    )


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
    if "name" in params and path.startswith("/models/"):
        if not actor.reaches(params["name"]):
            raise out_of_scope(actor, params["name"])
        return
    if path == "/models":
        return  # the handler lists only the models in scope
    if path == "/resolve":
        ref = str(query.get("ref", ""))
        try:
            name = parse_ref(ref)[0]
        except CivicMLError:
            return  # not a reference at all: the handler answers 422
        if not actor.reaches(name):
            raise out_of_scope(actor, name)
        return
    raise forbidden(
        f"This token is limited to the models {list(actor.models)}, and {path} covers the whole "
        "registry. Use a token without --models/--team for registry-wide work."
    )
