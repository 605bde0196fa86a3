"""Building blocks for raw-ASGI surfaces: headers, bodies, methods, JSON apps and mounts.

A surface whose hot path must stay raw (prediction) calls these helpers inline; a small JSON
API (the bandit endpoints) subclasses :class:`JSONApp` and writes only ``handle``; a server
puts several surfaces behind one :class:`Mounts` table.

Examples
--------
>>> import asyncio
>>> class Hello(JSONApp):
...     async def handle(self, scope, headers, receive):
...         allow_method(scope["method"], "GET")
...         return 200, {"hello": "world"}
>>> sent = []
>>> async def send(msg): sent.append(msg)
>>> scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
>>> asyncio.run(Hello()(scope, None, send))
>>> sent[0]["status"], sent[1]["body"]
(405, b'{"error":"Method POST is not allowed here; use GET."}')
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from civicml.asgi._errors import HTTPError, error_response
from civicml.asgi._lifespan import run_lifespan
from civicml.asgi._middleware import REQUEST_ID_KEY, RequestIds, send_response

__all__ = [
    "JSONApp",
    "Mounts",
    "allow_method",
    "headers_of",
    "read_body",
    "relative_path",
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def headers_of(scope: Scope) -> dict[str, str]:
    """The request headers as a ``lower-case name -> value`` dict (last one wins)."""
    out: dict[str, str] = {}
    for k, v in scope.get("headers", ()):
        try:
            out[k.decode("latin-1").lower()] = v.decode("latin-1")
        except Exception:  # pragma: no cover - ASGI gives bytes
            continue
    return out


def allow_method(method: str, allowed: str) -> None:
    """Raise a 405 unless ``method`` is ``allowed``."""
    if method != allowed:
        raise HTTPError(
            405, "method_not_allowed", f"Method {method} is not allowed here; use {allowed}."
        )


async def read_body(receive: Receive, limit: int, *, fix: str = "") -> bytes:
    """The whole request body, refusing more than ``limit`` bytes (413, then ``fix``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise HTTPError(
                400, "disconnected", "The client disconnected before sending the whole body."
            )
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            message = f"The request body is over the limit of {limit} bytes."
            raise HTTPError(413, "too_large", f"{message} {fix}" if fix else message)
        chunks.append(chunk)
        if not msg.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def relative_path(scope: Scope) -> str:
    """The path below the app's ``root_path`` (an app mounted under a prefix routes on this)."""
    path: str = scope["path"]
    root = scope.get("root_path", "") or ""
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class JSONApp:
    """A small JSON API as a raw ASGI app: subclass it and write :meth:`handle`.

    Errors become the one JSON error body (:func:`~civicml.asgi.error_response`); a
    lifespan is answered with :meth:`startup` and :meth:`shutdown`.
    """

    #: the logger unexpected errors go to
    logger = logging.getLogger("civicml.asgi")

    def __init__(self) -> None:
        self._ids: RequestIds | None = None

    async def handle(
        self, scope: Scope, headers: dict[str, str], receive: Receive
    ) -> tuple[int, Any]:
        """Answer one request: ``(status, JSON-serialisable document)``."""
        raise NotImplementedError

    def startup(self) -> None:
        """Run when the server starts (nothing by default)."""

    def shutdown(self) -> None:
        """Run when the server stops (nothing by default)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await run_lifespan(receive, send, startup=self.startup, shutdown=self.shutdown)
            return
        if scope["type"] != "http":
            return
        headers = headers_of(scope)
        extra: list[tuple[bytes, bytes]] = []
        try:
            status, doc = await self.handle(scope, headers, receive)
            body = orjson.dumps(doc)
        except Exception as exc:
            rid = scope.get(REQUEST_ID_KEY)
            if rid is None:
                if self._ids is None:
                    self._ids = RequestIds()
                rid = self._ids(headers.get("x-request-id"))
            status, body, extra = error_response(
                exc, rid, path=str(scope.get("path", "")), logger=self.logger
            )
        await send_response(send, status, body, extra)


class Mounts:
    """Prefix -> app table: a server dispatches a path to the first app whose prefix it starts
    with (the app sees the full path; it routes on it, or on :func:`relative_path`)."""

    def __init__(self) -> None:
        self._table: list[tuple[str, ASGIApp]] = []

    def add(self, prefix: str, app: ASGIApp) -> None:
        """Serve every path under ``prefix`` (e.g. ``"/bandits/"``) with ``app``."""
        self._table.append((prefix, app))

    def find(self, path: str) -> ASGIApp | None:
        """The app mounted over ``path``, or ``None``."""
        for prefix, app in self._table:
            if path.startswith(prefix):
                return app
        return None

    def apps(self) -> list[ASGIApp]:
        """The mounted apps, in mount order."""
        return [app for _, app in self._table]

    def __bool__(self) -> bool:
        return bool(self._table)
