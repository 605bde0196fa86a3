"""``/api/v1`` as a raw ASGI app on the foundation: find the route in the one table,
authenticate, check the role, check the parameters, run the handler in a worker thread, answer
JSON (or stream a tar), and turn every refusal into the one JSON error body.

Authentication is a bearer API token (``Authorization: Bearer``) or the dashboard's session
cookie; a write with the cookie must also send the session's CSRF token in ``X-CSRF-Token``.
A request that names its own actor (``by`` or ``actor`` in the body or query) is refused: the
actor of every write is the authenticated caller.
"""

from __future__ import annotations

import http.cookies
import logging
import shutil
import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from civicml._errors import CivicMLError
from civicml.asgi import (
    COOKIE,
    HTTPError,
    RateLimiter,
    RequestIds,
    error_response,
    headers_of,
    read_body,
    request_id_of,
    send_response,
)
from civicml.registry import Actor
from civicml.server._identity import bearer_actor, permits, session_actor
from civicml.server._openapi import API_PREFIX
from civicml.server._problems import as_http, forbidden, invalid
from civicml.server._routes import ROUTES
from civicml.server._scope import check_scope, for_request
from civicml.server._table import Call, Download, Param, Route
from civicml.server._tar import receive_to_file

__all__ = ["ApiApp", "route_label"]

_log = logging.getLogger("civicml.server")
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: the largest JSON body taken
JSON_LIMIT = 1024 * 1024
#: fields no request may carry: the actor comes from authentication only
ACTOR_FIELDS = ("by", "actor")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_CHUNK = 1024 * 1024
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


def route_label(path: str) -> str:
    """The route template of a path, for logs and metrics (``other`` when none fits)."""
    rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
    for route in ROUTES:
        if route.match(rel) is not None:
            return API_PREFIX + route.path
    return "other"


def _find(method: str, path: str) -> tuple[Route, dict[str, str]]:
    allowed: list[str] = []
    for route in ROUTES:
        params = route.match(path)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    if allowed:
        raise HTTPError(
            405,
            "method_not_allowed",
            f"Method {method} is not allowed here; use {' or '.join(allowed)}.",
        )
    raise HTTPError(
        404, "not_found", f"There is no endpoint {path[:100]!r}. See {API_PREFIX}/openapi.json."
    )


def _refuse_actor(names: Any) -> None:
    for name in ACTOR_FIELDS:
        if name in names:
            raise invalid(
                f"The field {name!r} is not accepted: the actor of every change is who you "
                "authenticated as (your token's owner or your signed-in account). Leave it out."
            )


def _typed(param: Param, value: Any, where: str) -> Any:
    kind, _, of = param.kind.partition(":")
    checks: dict[str, Callable[[Any], bool]] = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: (
            isinstance(v, dict)
            and (not of or all(isinstance(x, str) or x is None for x in v.values()))
        ),
        "array": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "version": lambda v: (
            v == "none" or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 10**12)
        ),
    }
    if not checks[kind](value):
        wanted = {
            "object": "an object",
            "array": "a list",
            "integer": "an integer",
            "version": "a version number or 'none'",
        }
        text = wanted.get(kind, f"a {kind}") + (f" of {of}s" if of else "")
        raise invalid(f"The {where} {param.name!r} must be {text}; got {str(value)[:60]!r}.")
    return value


def parse_query(raw: bytes, route: Route) -> dict[str, Any]:
    """The route's query parameters, typed; a missing required one or a bad integer is 422."""
    pairs = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    _refuse_actor(pairs)
    out: dict[str, Any] = {}
    for param in route.query:
        values = pairs.get(param.name)
        if not values:
            if param.required:
                raise invalid(f"The query parameter {param.name!r} is required.")
            continue
        value: Any = values[0]
        if param.kind == "integer":
            text = value.strip()
            digits = text[1:] if text.startswith("-") else text
            if not digits.isdigit() or len(digits) > 12:
                raise invalid(f"The query parameter {param.name!r} must be a whole number.")
            value = int(text)
        out[param.name] = value
    return out


def parse_body(raw: bytes, route: Route) -> dict[str, Any]:
    """The route's JSON body fields, typed; unknown fields, ``by`` and ``actor`` are 422."""
    fields = {p.name: p for p in route.body or ()}
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise invalid("The request body is not JSON; send a JSON object.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    _refuse_actor(body)
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise invalid(f"Unknown field(s) {unknown[:10]}; this endpoint takes {sorted(fields)}.")
    for name, param in fields.items():
        if body.get(name) is None:
            if param.required:
                raise invalid(f"The field {name!r} is required.")
            body.pop(name, None)
            continue
        _typed(param, body[name], "field")
    return body


def _cookie(headers: dict[str, str]) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
    try:
        jar.load(raw)
    except http.cookies.CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


class ApiApp:
    """``/api/v1``: the route table over one registry and runs store.

    Parameters
    ----------
    registry : Registry
        Opened with ``server=True`` (every write needs a verified actor).
    runs : RunStore
    options : ServerOptions
    web : object, optional
        The dashboard's shared state (its ``codec`` and ``auth``), for session cookies.
    """

    def __init__(self, registry: Any, runs: Any, options: Any, *, web: Any = None) -> None:
        self.registry = registry
        self.runs = runs
        self.options = options
        self.web = web
        self.limiter = RateLimiter()
        self._ids = RequestIds()

    def authenticate(self, headers: dict[str, str], method: str) -> Any:
        """The verified actor of a request: its bearer token, else its dashboard session."""
        if headers.get("authorization"):
            return bearer_actor(self.registry, headers["authorization"], self.limiter)
        actor, session = session_actor(self.web, _cookie(headers), self.registry)
        if actor is None:
            return bearer_actor(self.registry, None, self.limiter)
        if method not in _SAFE_METHODS and not session.csrf_ok(headers.get("x-csrf-token")):
            raise forbidden(
                "A change made with the dashboard's session cookie must send the page's CSRF "
                "token in 'X-CSRF-Token'; scripts should use a bearer API token instead."
            )
        return actor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = headers_of(scope)
        work: list[Path] = []
        try:
            route, call = await self._prepare(scope, headers, receive, work)
            result = await _in_thread(route.handler, call)
        except Exception as exc:
            _cleanup(work)
            await self._fail(scope, headers, send, exc)
            return
        _cleanup(work)
        if isinstance(result, Download):
            await _stream(send, result)
            return
        await send_response(send, route.status, orjson.dumps(result), list(_HEADERS))

    async def _prepare(
        self, scope: Scope, headers: dict[str, str], receive: Receive, work: list[Path]
    ) -> tuple[Route, Call]:
        method = scope["method"]
        path = scope["path"][len(API_PREFIX) :] or "/"
        route, params = _find(method, path)
        actor: Actor | None = None
        query = parse_query(scope.get("query_string", b""), route)
        if route.roles is not None:
            caller = await _in_thread(self.authenticate, headers, method)
            # a person whose roles carry their own model scopes acts, on a route about one
            # model, with the roles whose grants reach it (404 when none does)
            actor = for_request(caller, route.method, route.path, params, query) or caller
            if not permits(actor, route.roles):
                raise forbidden(
                    f"{actor.name} holds the role(s) {list(actor.roles) or 'none'}, and this "
                    f"needs {' or '.join(route.roles)}. Ask an admin for that role."
                )
        call = Call(self.registry, self.runs, self.options, actor, params)
        call.query = query
        check_scope(actor, route.method, route.path, params, call.query)
        if route.upload:
            call.upload = await self._receive_upload(headers, receive, work)
        elif route.body is not None:
            call.body = parse_body(await read_body(receive, JSON_LIMIT), route)
        return route, call

    async def _receive_upload(
        self, headers: dict[str, str], receive: Receive, work: list[Path]
    ) -> Path:
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-tar":
            raise HTTPError(
                415,
                "unsupported_media_type",
                f"Send the bundle as Content-Type application/x-tar; got {kind[:60]!r}.",
            )
        folder = Path(tempfile.mkdtemp(prefix="civicml-upload-"))
        work.append(folder)
        target = folder / "upload.tar"
        with target.open("wb") as out:
            await receive_to_file(receive, out, int(self.options.max_upload_bytes))
        return target

    async def _fail(self, scope: Scope, headers: dict[str, str], send: Send, exc: Any) -> None:
        if isinstance(exc, CivicMLError):
            exc = as_http(exc)
        rid = request_id_of(scope) or self._ids(headers.get("x-request-id"))
        status, body, extra = error_response(exc, rid, path=str(scope.get("path", "")), logger=_log)
        await send_response(send, status, body, [*extra, *_HEADERS])


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, *args)


def _cleanup(work: list[Path]) -> None:
    for folder in work:
        shutil.rmtree(folder, ignore_errors=True)


async def _stream(send: Send, download: Download) -> None:
    try:
        size = download.path.stat().st_size
        headers = [
            (b"content-type", download.content_type.encode()),
            (b"content-length", str(size).encode()),
            (b"content-disposition", f'attachment; filename="{download.filename}"'.encode()),
            *_HEADERS,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        with download.path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        shutil.rmtree(download.cleanup, ignore_errors=True)
