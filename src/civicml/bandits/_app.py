"""The bandit HTTP endpoints as a small raw-ASGI sub-application.

Routes (bearer token with the ``predict`` scope; ``admin`` holds every scope)
----------------------------------------------------------------------------
``POST /bandits/{name}/choose``  body ``{"context": {...}}`` →
``{"decision_id", "arm", "propensity", "policy_version"}``

``POST /bandits/{name}/reward``  body ``{"decision_id", "reward"}`` →
``{"decision_id", "arm", "reward", "recorded"}`` (a repeat answers 200 with ``recorded: false``;
an unknown decision is 404, a bad reward 422, a changed reward 409)

``GET /bandits/{name}``  → arms, pulls, mean reward, the serving policy

Every error is ``{"error": "..."}``. The app routes on the path after its ``root_path``, so it
can be mounted at ``/`` (paths start ``/bandits/``) or under a prefix.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from civicml._errors import AuthError, CivicMLError
from civicml.bandits._service import BanditService, InvalidInput
from civicml.bandits._store import BanditStore
from civicml.serve._auth import Forbidden, TokenVerifier, bearer, has_scope

__all__ = ["BanditApp", "bandit_app"]

_log = logging.getLogger("civicml.bandits")
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_ROUTE = re.compile(r"^/bandits/([A-Za-z0-9][A-Za-z0-9_.\-]{0,63})(/choose|/reward)?/?$")
_JSON = [(b"content-type", b"application/json")]


class _HTTPError(CivicMLError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


class BanditApp:
    """The ASGI app; build it with :func:`bandit_app`.

    Parameters
    ----------
    service : BanditService
    verifier : TokenVerifier or None
        ``token -> info | None`` where ``info.scopes`` lists the token's scopes; ``None``
        refuses every request.
    max_body_bytes : int
        Larger bodies are refused with 413.
    """

    def __init__(
        self,
        service: BanditService,
        verifier: TokenVerifier | Callable[[str], Any] | None,
        *,
        max_body_bytes: int = 1_000_000,
    ) -> None:
        self.service = service
        self.verifier = verifier
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        extra: list[tuple[bytes, bytes]] = []
        try:
            status, doc = await self._dispatch(scope, headers, receive)
        except CivicMLError as exc:
            status = exc.http_status if 400 <= exc.http_status < 600 else 400
            doc = {"error": str(exc)}
            if status == 401:
                extra = [(b"www-authenticate", b"Bearer")]
        except Exception:
            _log.exception("unexpected error", extra={"path": str(scope.get("path"))[:200]})
            status, doc = 500, {"error": "The server hit an unexpected error. See its log."}
        body = orjson.dumps(doc)
        out = [*_JSON, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})

    async def _dispatch(
        self, scope: dict[str, Any], headers: dict[str, str], receive: Receive
    ) -> tuple[int, Any]:
        path: str = scope["path"]
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        m = _ROUTE.match(path)
        if m is None:
            raise _HTTPError(404, f"There is no endpoint {path[:100]!r}.")
        name, action = m.group(1), m.group(2)
        method = scope["method"]
        self._auth(headers)
        if action is None:
            _allow(method, "GET")
            return 200, await asyncio.to_thread(self.service.summary, name)
        _allow(method, "POST")
        doc = _json_object(await self._body(receive))
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

    def _auth(self, headers: dict[str, str]) -> Any:
        token = bearer(headers.get("authorization"))
        if token is None:
            raise AuthError(
                "This endpoint needs a bearer token: send 'Authorization: Bearer "
                "<token>'. Create one with 'civicml tokens create'."
            )
        info = self.verifier(token) if self.verifier is not None else None
        if info is None:
            raise AuthError("The bearer token is not valid or has been revoked.")
        if not has_scope(info, "predict"):
            raise Forbidden(f"The token {getattr(info, 'name', '?')!r} lacks the 'predict' scope.")
        return info

    async def _body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise _HTTPError(400, "The client disconnected before sending the whole body.")
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _HTTPError(
                    413, f"The request body is over the limit of {self.max_body_bytes} bytes."
                )
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks)


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise _HTTPError(405, f"Method {method} is not allowed here; use {allowed}.")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise _HTTPError(400, "The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise InvalidInput.build("The request body must be a JSON object", got=type(doc).__name__)
    return doc


def bandit_app(
    store: BanditStore | BanditService,
    verifier: TokenVerifier | Callable[[str], Any] | None,
    *,
    seed: int | None = None,
    max_body_bytes: int = 1_000_000,
) -> BanditApp:
    """The bandit endpoints over ``store`` as an ASGI app.

    Parameters
    ----------
    store : BanditStore or BanditService
        A connected store (a service is built on it), or a ready service.
    verifier : callable or None
        ``token -> info | None``; ``info.scopes`` must hold ``predict`` (or ``admin``).
    seed : int, optional
        Seeds arm sampling (tests).
    max_body_bytes : int

    Examples
    --------
    >>> from civicml.bandits._store import open_bandit_store
    >>> app = bandit_app(open_bandit_store("sqlite://"), verifier=None)
    >>> type(app).__name__
    'BanditApp'
    """
    service = store if isinstance(store, BanditService) else BanditService(store, seed=seed)
    return BanditApp(service, verifier, max_body_bytes=max_body_bytes)
