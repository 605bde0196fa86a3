"""One request-id and logging middleware, used inline by raw hot paths and as ASGI middleware
around any other app (a Starlette dashboard, the bandit endpoints).

The request id is the caller's ``X-Request-ID`` when it is safe (1-128 of ``A-Za-z0-9_.:-``),
else a random per-process prefix and a counter (``uuid4`` reads ``os.urandom`` on every request,
which showed up in the serving profile). Every response echoes it in ``X-Request-ID``. One log
line per request (errors always; every request with ``access_log``) holds the request id,
method, route, status and latency: never headers, bodies or query strings.

Over TLS (the request's scheme is ``https``, as uvicorn sets it when started with a certificate)
every response carries ``Strict-Transport-Security`` (:data:`HSTS`), so browsers refuse plain
http to the host for a year; never over plain http, where the header means nothing and would
pin a name that has no certificate yet. :func:`hsts_headers` gives it to raw hot paths.

Examples
--------
>>> ids = RequestIds()
>>> ids("abc-1")
'abc-1'
>>> made = ids("bad id with spaces")
>>> len(made), made == ids(None)
(32, False)
>>> hsts_headers({"scheme": "https"})
[(b'strict-transport-security', b'max-age=31536000; includeSubDomains')]
>>> hsts_headers({"scheme": "http"})
[]
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from civicml.asgi._errors import error_response
from civicml.asgi._metrics import MetricsRegistry

__all__ = [
    "HSTS",
    "REQUEST_ID_KEY",
    "RequestContext",
    "RequestIds",
    "hsts_headers",
    "log_request",
    "request_id_of",
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the scope key holding the request id (set by :class:`RequestContext`)
REQUEST_ID_KEY = "civicml.request_id"
SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
#: the HSTS header every response over TLS carries: one year, subdomains included
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
_NO_HEADERS: list[tuple[bytes, bytes]] = []
_HSTS_HEADERS = [HSTS]


def hsts_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """``[HSTS]`` for a request that came over TLS, else ``[]`` (add it to a raw response's
    headers; do not change the list returned)."""
    return _HSTS_HEADERS if scope.get("scheme") in ("https", "wss") else _NO_HEADERS


class RequestIds:
    """Make request ids: keep a safe incoming id, else prefix + counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count(1)

    def __call__(self, incoming: str | None) -> str:
        """The id for a request whose ``X-Request-ID`` header was ``incoming``."""
        if incoming and SAFE_ID.match(incoming):
            return incoming
        return f"{self._prefix}{next(self._counter):012x}"


def request_id_of(scope: Scope) -> str | None:
    """The request id :class:`RequestContext` gave this request (``None`` outside it)."""
    return scope.get(REQUEST_ID_KEY)


def log_request(
    logger: logging.Logger,
    *,
    request_id: str,
    method: str,
    route: str,
    status: int,
    seconds: float,
    access_log: bool = False,
) -> None:
    """Log one finished request (errors always, the rest with ``access_log``)."""
    if status >= 400 or access_log:
        level = logging.WARNING if status >= 500 else logging.INFO
        logger.log(
            level,
            "request",
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": round(seconds * 1000, 3),
            },
        )


def _default_route(path: str) -> str:
    return path if len(path) < 64 else "other"


class RequestContext:
    """ASGI middleware: a request id for every request, echoed in ``X-Request-ID``; over TLS the
    HSTS header on every response; one log line per request; the request counted in a
    :class:`MetricsRegistry` under its route template; a bug answered with the one JSON 500 body
    when the app had not started its response.

    Parameters
    ----------
    app : ASGI app
    logger : logging.Logger
    metrics : MetricsRegistry, optional
    ids : RequestIds, optional
        Share one with the surface the app is mounted in; one is made when not given.
    access_log : bool
        Log every request, not just errors.
    route : callable, optional
        ``path -> route label`` for logs and metrics (keep it low-cardinality, e.g.
        ``/bandits/{name}/choose``).
    templates : iterable of str
        The app's route templates, declared on ``metrics`` (see
        :meth:`MetricsRegistry.declare`): a path is counted under the template it matches,
        every other path under ``<unmatched>``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        logger: logging.Logger,
        metrics: MetricsRegistry | None = None,
        ids: RequestIds | None = None,
        access_log: bool = False,
        route: Callable[[str], str] | None = None,
        templates: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.logger = logger
        self.metrics = metrics
        self.ids = ids or RequestIds()
        self.access_log = access_log
        self.route = route or _default_route
        if metrics is not None:
            metrics.declare(templates)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = None
        for key, value in scope.get("headers", ()):
            if key.lower() == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = self.ids(incoming)
        scope[REQUEST_ID_KEY] = rid
        state = {"status": 500, "started": False}
        added = [(b"x-request-id", rid.encode()), *hsts_headers(scope)]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                headers = list(message.get("headers", ()))
                if len(added) > 1 and any(k.lower() == HSTS[0] for k, _ in headers):
                    headers.extend(added[:1])  # the app set its own HSTS: keep it
                else:
                    headers.extend(added)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if state["started"]:
                self.logger.exception("unexpected error", extra={"request_id": rid})
                raise
            status, body, extra = error_response(
                exc, rid, path=scope.get("path", ""), logger=self.logger
            )
            await send_response(send_with_id, status, body, extra)
        finally:
            self._finish(scope, rid, int(state["status"]), time.perf_counter() - started)

    def _finish(self, scope: Scope, rid: str, status: int, seconds: float) -> None:
        route = self.route(scope.get("path", ""))
        if self.metrics is not None:
            self.metrics.observe(route, status, seconds)
        log_request(
            self.logger,
            request_id=rid,
            method=scope.get("method", ""),
            route=route,
            status=status,
            seconds=seconds,
            access_log=self.access_log,
        )


JSON = [(b"content-type", b"application/json")]


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
    content_type: list[tuple[bytes, bytes]] = JSON,
) -> None:
    """Send a whole response: content type, length, any extra headers, then the body."""
    headers = [*content_type, (b"content-length", str(len(body)).encode()), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
