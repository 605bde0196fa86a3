"""Request ids, the error body, logging, metrics, lifespan and mounts of the ASGI foundation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from civicml._errors import CivicMLError
from civicml.asgi import (
    REQUEST_ID_KEY,
    HTTPError,
    JSONApp,
    JsonFormatter,
    MetricsRegistry,
    Mounts,
    RequestContext,
    RequestIds,
    allow_method,
    error_body,
    error_response,
    lifespan_context,
    read_body,
    run_lifespan,
)

LOG = logging.getLogger("civicml.asgi.test")


class Invalid(CivicMLError):
    """Like serve's ValidationFailed: a 422 listing every field."""

    http_status = 422

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("The request does not match the data contract.")


class Echo(JSONApp):
    async def handle(self, scope: dict[str, Any], headers: dict[str, str], receive: Any) -> Any:
        path = scope["path"]
        if path == "/boom":
            raise RuntimeError("secret internals")
        if path == "/invalid":
            raise Invalid([{"field": "age", "problem": "is not a number"}])
        if path == "/missing":
            raise HTTPError(404, "not_found", "There is no such thing.")
        if path == "/big":
            return 200, {"size": len(await read_body(receive, 10, fix="Send less."))}
        allow_method(scope["method"], "GET")
        return 200, {"request_id": scope.get(REQUEST_ID_KEY)}


def _calls(app: Any, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return [await client.request(m, u, **kw) for m, u, kw in calls]

    return asyncio.run(go())


def test_request_id_is_echoed_or_generated() -> None:
    app = RequestContext(Echo(), logger=LOG)
    given, unsafe, none, other = _calls(
        app,
        [
            ("GET", "/", {"headers": {"X-Request-ID": "req-42.a:b"}}),
            ("GET", "/", {"headers": {"X-Request-ID": "bad id <script>"}}),
            ("GET", "/", {}),
            ("GET", "/", {}),
        ],
    )
    assert given.headers["x-request-id"] == "req-42.a:b" == given.json()["request_id"]
    made = unsafe.headers["x-request-id"]
    assert made != "bad id <script>" and len(made) == 32 and made == unsafe.json()["request_id"]
    assert none.headers["x-request-id"] != other.headers["x-request-id"]
    assert none.headers["x-request-id"][:20] == other.headers["x-request-id"][:20]  # one prefix


def test_request_ids_counter() -> None:
    ids = RequestIds()
    a, b = ids(None), ids("")
    assert a != b and int(b[20:], 16) == int(a[20:], 16) + 1
    assert ids("x" * 128) == "x" * 128 and ids("x" * 129) != "x" * 129


def test_error_body_shape(caplog: pytest.LogCaptureFixture) -> None:
    app = RequestContext(Echo(), logger=LOG)
    with caplog.at_level(logging.INFO, logger="civicml"):
        missing, wrong, invalid, boom, big = _calls(
            app,
            [
                ("GET", "/missing", {}),
                ("POST", "/", {}),
                ("GET", "/invalid", {}),
                ("GET", "/boom", {"headers": {"X-Request-ID": "r-9"}}),
                ("POST", "/big", {"content": b"x" * 11}),
            ],
        )
    assert (missing.status_code, missing.json()) == (404, {"error": "There is no such thing."})
    assert wrong.status_code == 405 and wrong.json() == {
        "error": "Method POST is not allowed here; use GET."
    }
    assert invalid.status_code == 422
    assert invalid.json() == {
        "error": "The request does not match the data contract.",
        "errors": [{"field": "age", "problem": "is not a number"}],
    }
    assert boom.status_code == 500
    assert boom.json() == {"error": "The server hit an unexpected error. Quote request id r-9."}
    assert "secret internals" not in boom.text and "Traceback" not in boom.text
    assert big.status_code == 413
    assert big.json() == {"error": "The request body is over the limit of 10 bytes. Send less."}
    for r in (missing, wrong, invalid, boom, big):
        assert r.headers["content-type"] == "application/json" and r.headers["x-request-id"]
    bug = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert bug and bug[0].exc_info is not None  # the traceback goes to the log


def test_error_response_maps_statuses() -> None:
    assert error_response(CivicMLError("bad"), "r")[:2] == (400, b'{"error":"bad"}')
    odd = CivicMLError("odd")
    odd.http_status = 302
    assert error_response(odd, "r")[0] == 400  # never a non-error status
    assert error_body("x", [{"field": "a"}]) == b'{"error":"x","errors":[{"field":"a"}]}'


def test_request_log_holds_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    app = RequestContext(Echo(), logger=LOG, access_log=True)
    headers = {"Authorization": "Bearer cml_topsecret", "Cookie": "civicml_session=abc"}
    with caplog.at_level(logging.INFO, logger="civicml"):
        _calls(app, [("GET", "/?nino=AB123456C", {"headers": headers})])
    (line,) = [r for r in caplog.records if r.getMessage() == "request"]
    assert line.request_id and line.method == "GET" and line.status == 200  # type: ignore[attr-defined]
    text = JsonFormatter().format(line)
    for secret in ("cml_topsecret", "civicml_session", "AB123456C"):
        assert secret not in text


def test_formatter_drops_credential_fields() -> None:
    rec = logging.LogRecord("civicml.serve", logging.INFO, "", 0, "x", None, None)
    rec.token = "cml_abc"
    rec.password = "hunter2"
    rec.route = "/predict"
    text = JsonFormatter().format(rec)
    assert "cml_abc" not in text and "hunter2" not in text and '"route":"/predict"' in text


def test_metrics_text() -> None:
    metrics = MetricsRegistry()
    app = RequestContext(
        Echo(), logger=LOG, metrics=metrics, route=lambda p: "/missing" if p == "/missing" else "/"
    )
    _calls(app, [("GET", "/", {}), ("GET", "/", {}), ("GET", "/missing", {})])
    text = metrics.text(["# HELP civicml_extra Something else.", "civicml_extra 1"])
    assert 'civicml_requests_total{route="/",code="200"} 2' in text
    assert 'civicml_requests_total{route="/missing",code="404"} 1' in text
    assert 'civicml_errors_total{route="/missing",code="404"} 1' in text
    assert 'civicml_errors_total{route="/",code="200"}' not in text
    assert 'civicml_request_seconds_bucket{route="/",le="+Inf"} 2' in text
    assert 'civicml_request_seconds_count{route="/missing"} 1' in text
    assert "civicml_extra 1" in text and "civicml_start_time_seconds " in text
    assert text.index("civicml_extra") < text.index("civicml_start_time_seconds")
    assert text.endswith("\n")


def test_run_lifespan_startup_failure() -> None:
    inbox = [{"type": "lifespan.startup"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    def broken() -> None:
        raise RuntimeError("model hash mismatch")

    asyncio.run(run_lifespan(receive, send, startup=broken))
    assert sent == [{"type": "lifespan.startup.failed", "message": "model hash mismatch"}]


def test_lifespan_context_for_starlette() -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    calls: list[str] = []

    async def stop() -> None:
        calls.append("down")

    app = Starlette(lifespan=lifespan_context(startup=lambda: calls.append("up"), shutdown=stop))
    with TestClient(app):
        assert calls == ["up"]
    assert calls == ["up", "down"]


def test_middleware_wraps_a_starlette_app() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def page(request: Any) -> PlainTextResponse:
        return PlainTextResponse(request.scope[REQUEST_ID_KEY])

    app = RequestContext(Starlette(routes=[Route("/", page)]), logger=LOG)
    with TestClient(app) as client:
        r = client.get("/", headers={"X-Request-ID": "abc"})
    assert r.text == "abc" == r.headers["x-request-id"]


def test_mounts() -> None:
    mounts = Mounts()
    assert not mounts and mounts.find("/bandits/x") is None
    app = Echo()
    mounts.add("/bandits/", app)
    assert mounts and mounts.find("/bandits/x") is app and mounts.find("/predict") is None
    assert mounts.apps() == [app]
