"""Signing out ends the session on the server: the old cookie, replayed, signs nobody in (the
dashboard sends it to the sign-in page, the API answers 401), and an idle session expires.

One team server (a SQLite registry, a break-glass admin token) per test: nothing is trained.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

COOKIE = "civicml_session"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    from starlette.testclient import TestClient

    from civicml.server import ServerOptions, create_server_app, issue_admin_token

    opts = ServerOptions(
        registry=f"sqlite:///{tmp_path / 'registry.db'}",
        artifacts=str(tmp_path / "artifacts"),
        project_dir=tmp_path,
        session_secret="test-secret",
    )
    token, _ = issue_admin_token(opts, "root-token", "root@example.gov.uk")
    with TestClient(create_server_app(opts)) as client:
        yield client, token


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _sign_in(client: Any, token: str) -> str:
    page = client.get("/sign-in")
    r = client.post(
        "/sign-in",
        data={"token": token, "csrf_token": _csrf(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cookie = client.cookies.get(COOKIE)
    assert cookie
    return str(cookie)


def _replay(client: Any, cookie: str, path: str) -> Any:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    try:
        return client.get(path, follow_redirects=False)
    finally:
        client.cookies.clear()


def test_a_cookie_replayed_after_sign_out_signs_nobody_in(server: tuple[Any, str]) -> None:
    client, token = server
    stolen = _sign_in(client, token)
    assert _replay(client, stolen, "/models").status_code == 200
    assert _replay(client, stolen, "/api/v1/models").status_code == 200

    client.cookies.set(COOKIE, stolen)
    page = client.get("/models")
    r = client.post("/sign-out", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"

    page = _replay(client, stolen, "/models")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
    api = _replay(client, stolen, "/api/v1/models")
    assert api.status_code == 401 and "sign in" in api.json()["error"]


def test_an_idle_session_expires_and_an_active_one_does_not(server: tuple[Any, str]) -> None:
    import time

    client, token = server
    store = client.app.dashboard.state.web.auth.sessions
    assert 0 < store.idle <= 3600  # an idle timeout is set, and short
    now = [time.monotonic()]
    store.clock = lambda: now[0]
    cookie = _sign_in(client, token)

    for _ in range(3):  # active: each request inside the idle limit keeps the session alive
        now[0] += store.idle - 5
        assert _replay(client, cookie, "/models").status_code == 200
    now[0] += store.idle + 1  # then idle for longer than the limit
    page = _replay(client, cookie, "/models")
    assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
    now[0] -= store.idle  # coming back does not revive it: the server forgot the session
    assert _replay(client, cookie, "/api/v1/models").status_code == 401
