"""``civicml server`` signs people in through a real OpenID Provider (``oidc-provider`` from npm,
started on 127.0.0.1 by the test): the session then acts on the API as the verified person with
the roles their groups map to, and a person with no mapped group cannot sign in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from live_server import free_port, serve
from web.oidc_fixture import CLIENT_ID, CLIENT_SECRET, PASSWORD, run_provider

pytestmark = pytest.mark.browser  # needs node and the provider from npm, like the browser tests


def _sign_in(base: str, issuer: str, who: str) -> Any:
    import httpx

    c = httpx.Client(follow_redirects=True, timeout=20)
    r = c.get(f"{base}/auth/login", params={"next": "/"})
    assert str(r.url).startswith(issuer + "/interaction/"), r.url
    action = re.search(r'<form method="post" action="([^"]+)"', r.text)
    assert action, r.text
    return c, c.post(issuer + action.group(1), data={"login": who, "password": PASSWORD})


def test_the_server_signs_people_in_and_acts_as_them(tmp_path: Path) -> None:
    from civicml.server import ServerOptions, create_server_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with run_provider([base + "/auth/callback"]) as idp:
        options = ServerOptions(
            registry=f"sqlite:///{tmp_path / 'registry.db'}",
            artifacts=str(tmp_path / "artifacts"),
            project_dir=tmp_path,
            session_secret="test-secret",
            oidc_issuer=idp.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            role_map=("civicml-approvers=approver", "civicml-admins=admin"),
        )
        app = create_server_app(options)
        with serve(app, port, log_level="error"):
            bob, page = _sign_in(base, idp.issuer, "bob")
            assert page.status_code == 200, page.text
            me = bob.get(f"{base}/api/v1/me").json()
            assert me == {
                "name": "bob@example.gov.uk",
                "verified": True,
                "via": "oidc",
                "roles": ["approver"],
                "models": [],
            }, me
            # a write with the cookie alone (no CSRF token) is refused
            refused = bob.post(f"{base}/api/v1/tokens", json={"name": "x", "scopes": ["viewer"]})
            assert refused.status_code == 403 and "CSRF" in refused.text, refused.text
            # a person whose groups map to no civicml role cannot sign in at all
            dave, page = _sign_in(base, idp.issuer, "dave")
            assert dave.get(f"{base}/api/v1/me").status_code == 401
            # carol (admin) issues a token; it acts as its owner, verified
            carol, _ = _sign_in(base, idp.issuer, "carol")
            csrf = carol.cookies.get("civicml_csrf") or _csrf(carol, base)
            made = carol.post(
                f"{base}/api/v1/tokens",
                headers={"X-CSRF-Token": csrf},
                json={"name": "ci-bot", "scopes": ["viewer"]},
            )
            assert made.status_code == 201, made.text
            assert made.json()["owner"] == "carol@example.gov.uk"


def _csrf(client: Any, base: str) -> str:
    page = client.get(f"{base}/tokens").text + client.get(f"{base}/").text
    found = re.search(r'name="csrf" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert found, "no CSRF token on the dashboard's pages"
    return found.group(1)
