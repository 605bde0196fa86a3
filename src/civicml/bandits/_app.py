"""The bandit HTTP endpoints as a small app on the ASGI foundation (:mod:`civicml.asgi`).

Routes (bearer token with the ``predict`` scope; ``admin`` holds every scope)
----------------------------------------------------------------------------
``POST /bandits/{name}/choose``  body ``{"context": {...}}`` →
``{"decision_id", "arm", "propensity", "policy_version"}``

``POST /bandits/{name}/reward``  body ``{"decision_id", "reward"}`` →
``{"decision_id", "arm", "reward", "recorded"}`` (a repeat answers 200 with ``recorded: false``;
an unknown decision is 404, a bad reward 422, a changed reward 409)

``GET /bandits/{name}``  → arms, pulls, mean reward, the serving policy

Every error is the foundation's ``{"error": "..."}``. The app routes on the path after its
``root_path``, so it can be mounted at ``/`` (paths start ``/bandits/``) or under a prefix.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson

from civicml.asgi import (
    Authenticator,
    HTTPError,
    JSONApp,
    TokenVerifier,
    allow_method,
    read_body,
    relative_path,
)
from civicml.bandits._service import BanditService, InvalidInput
from civicml.bandits._store import BanditStore, display_uri, open_bandit_store

__all__ = ["BanditApp", "bandit_app", "bandit_mount"]

_ROUTE = re.compile(r"^/bandits/([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})(/choose|/reward)?/?$")


def bandit_route(path: str) -> str:
    """The route label of a bandit path, for logs and metrics (the bandit's name left out).

    >>> bandit_route("/bandits/letters/choose"), bandit_route("/bandits/letters")
    ('/bandits/{name}/choose', '/bandits/{name}')
    """
    m = _ROUTE.match(path)
    if m is None:
        return "other"
    return "/bandits/{name}" + (m.group(2) or "")


class BanditApp(JSONApp):
    """The ASGI app; build it with :func:`bandit_app`.

    Parameters
    ----------
    service : BanditService
    verifier : TokenVerifier, Authenticator or None
        ``token -> info | None`` where ``info.scopes`` lists the token's scopes, or the
        :class:`~civicml.asgi.Authenticator` of the server it is mounted in; ``None`` refuses
        every request.
    max_body_bytes : int
        Larger bodies are refused with 413.
    """

    logger = logging.getLogger("civicml.bandits")
    #: route labels for the request log and metrics of the server it is mounted in
    route_of = staticmethod(bandit_route)

    def __init__(
        self,
        service: BanditService,
        verifier: TokenVerifier | Callable[[str], Any] | Authenticator | None,
        *,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        super().__init__()
        self.service = service
        self.auth = verifier if isinstance(verifier, Authenticator) else Authenticator(verifier)
        self.max_body_bytes = max_body_bytes
        #: where the bandits are kept, fit to print (no password)
        self.location = "the bandit store"

    @property
    def verifier(self) -> Any:
        """The token verifier behind :attr:`auth`."""
        return self.auth.verify

    async def handle(
        self, scope: dict[str, Any], headers: dict[str, str], receive: Any
    ) -> tuple[int, Any]:
        path = relative_path(scope)
        m = _ROUTE.match(path)
        if m is None:
            raise HTTPError(404, "not_found", f"There is no endpoint {path[:100]!r}.")
        name, action = m.group(1), m.group(2)
        method = scope["method"]
        self.auth.bearer(headers.get("authorization"), "predict")
        if action is None:
            allow_method(method, "GET")
            return 200, await asyncio.to_thread(self.service.summary, name)
        allow_method(method, "POST")
        doc = _json_object(await read_body(receive, self.max_body_bytes))
        if action == "/choose":
            context = doc.get("context")
            return 200, await asyncio.to_thread(self.service.choose, name, context)
        decision_id = doc.get("decision_id")
        if not isinstance(decision_id, str) or not decision_id:
            raise InvalidInput.build(
                "The body needs a 'decision_id'",
                expected="the decision_id string the choose endpoint returned",
                got=decision_id,
            )
        if "reward" not in doc:
            raise InvalidInput.build("The body needs a 'reward'", fix="Send a number")
        return 200, await asyncio.to_thread(self.service.reward, name, decision_id, doc["reward"])


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise HTTPError(400, "bad_json", "The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise InvalidInput.build("The request body must be a JSON object", got=type(doc).__name__)
    return doc


def bandit_app(
    store: BanditStore | BanditService,
    verifier: TokenVerifier | Callable[[str], Any] | Authenticator | None,
    *,
    seed: int | None = None,
    max_body_bytes: int = 1_000_000,
) -> BanditApp:
    """The bandit endpoints over ``store`` as an ASGI app.

    Parameters
    ----------
    store : BanditStore or BanditService
        A connected store (a service is built on it), or a ready service.
    verifier : callable, Authenticator or None
        ``token -> info | None``; ``info.scopes`` must hold ``predict`` (or ``admin``).
    seed : int, optional
        Seeds arm sampling (tests).
    max_body_bytes : int

    Examples
    --------
    >>> from civicml.bandits import open_bandit_store
    >>> app = bandit_app(open_bandit_store("sqlite://"), verifier=None)
    >>> type(app).__name__
    'BanditApp'
    """
    service = store if isinstance(store, BanditService) else BanditService(store, seed=seed)
    return BanditApp(service, verifier, max_body_bytes=max_body_bytes)


def bandit_mount(uri: str, auth: Authenticator) -> BanditApp:
    """The app a server mounts at ``/bandits/`` for ``civicml serve --bandits URI``.

    Opens the store now, so a bad URL fails before the server starts. The server imports this
    factory only when ``--bandits`` is given, and gives it its own
    :class:`~civicml.asgi.Authenticator`, so bandit calls take the same tokens as predictions.

    Examples
    --------
    >>> from civicml.asgi import Authenticator
    >>> bandit_mount("sqlite://", Authenticator(None)).location
    'sqlite://'
    """
    app = bandit_app(open_bandit_store(uri), auth)
    app.location = display_uri(uri)
    return app
