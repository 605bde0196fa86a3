"""HSTS under TLS: every response over https carries ``Strict-Transport-Security``, none over
plain http; a real uvicorn started with a certificate sets the scheme that turns it on."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from civicml.asgi import HSTS, HTTPError, JSONApp, RequestContext

LOG = logging.getLogger("civicml.asgi.test")
VALUE = "max-age=31536000; includeSubDomains"


class Pages(JSONApp):
    async def handle(self, scope: dict[str, Any], headers: dict[str, str], receive: Any) -> Any:
        if scope["path"] == "/missing":
            raise HTTPError(404, "not_found", "There is no such thing.")
        return 200, {"ok": True}


async def _bug(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("a bug before the response started")


async def _own_hsts(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = [(b"strict-transport-security", b"max-age=60")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _get(app: Any, base: str, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base) as client:
            return await client.get(path)

    return asyncio.run(go())


@pytest.mark.parametrize("path", ["/", "/missing"])
def test_every_response_over_tls_carries_hsts_and_none_over_http(path: str) -> None:
    app = RequestContext(Pages(), logger=LOG)
    assert _get(app, "https://civicml.example", path).headers["strict-transport-security"] == VALUE
    assert "strict-transport-security" not in _get(app, "http://civicml.example", path).headers


def test_an_error_answered_by_the_middleware_carries_hsts_too() -> None:
    r = _get(RequestContext(_bug, logger=LOG), "https://civicml.example", "/")
    assert r.status_code == 500 and r.headers["strict-transport-security"] == VALUE


def test_an_app_that_sets_its_own_hsts_keeps_it_alone() -> None:
    r = _get(RequestContext(_own_hsts, logger=LOG), "https://civicml.example", "/")
    assert r.headers.get_list("strict-transport-security") == ["max-age=60"]


def test_the_team_server_dashboard_and_api_send_hsts_only_over_tls(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from civicml.server import ServerOptions, create_server_app

    opts = ServerOptions(
        registry=f"sqlite:///{tmp_path / 'registry.db'}",
        artifacts=str(tmp_path / "artifacts"),
        project_dir=tmp_path,
        session_secret="test-secret",
    )
    with TestClient(create_server_app(opts), base_url="https://civicml.example") as client:
        for path in ("/sign-in", "/models", "/no-such-page", "/api/v1/models", "/api/v1/nope"):
            r = client.get(path, follow_redirects=False)
            assert r.headers.get("strict-transport-security") == VALUE, (path, r.status_code)
        for path in ("/sign-in", "/api/v1/models"):
            r = client.get("http://civicml.example" + path, follow_redirects=False)
            assert "strict-transport-security" not in r.headers


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_a_server_started_with_tls_sends_hsts(tmp_path: Path) -> None:
    """uvicorn with ``ssl_certfile`` (as ``civicml server``, ``ui`` and ``serve`` start it) sets
    the scheme the middleware reads; plain uvicorn does not."""
    import uvicorn

    certfile, keyfile = _certificate(tmp_path)
    app = RequestContext(Pages(), logger=LOG)
    seen: dict[str, str | None] = {}
    for scheme, tls in (("https", True), ("http", False)):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        kwargs: dict[str, Any] = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", **(kwargs if tls else {})
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(200):
                if server.started:
                    break
                time.sleep(0.02)
            trust = ssl.create_default_context(cafile=str(certfile))
            r = httpx.get(f"{scheme}://127.0.0.1:{port}/", verify=trust)
            assert r.status_code == 200
            seen[scheme] = r.headers.get("strict-transport-security")
        finally:
            server.should_exit = True
            thread.join(10)
    assert seen == {"https": VALUE, "http": None}
    assert (b"strict-transport-security", VALUE.encode()) == HSTS
