"""``civicml server`` signs people in through a real OpenID Provider (``oidc-provider`` from npm,
started on 127.0.0.1 by the test): the session then acts on the API as the verified person with
the roles their groups map to, and a person with no mapped group cannot sign in. A role the map
limits to some models (``GROUP=ROLE@benefits-*``) reaches only those models through the API,
and opens no dashboard page; a malformed role map stops the command in one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from live_server import free_port, serve
from web.oidc_fixture import CLIENT_ID, CLIENT_SECRET, PASSWORD, run_provider

#: needs node and the provider from npm, like the browser tests
browser = pytest.mark.browser


def _sign_in(base: str, issuer: str, who: str) -> Any:
    import httpx

    c = httpx.Client(follow_redirects=True, timeout=20)
    r = c.get(f"{base}/auth/login", params={"next": "/"})
    assert str(r.url).startswith(issuer + "/interaction/"), r.url
    action = re.search(r'<form method="post" action="([^"]+)"', r.text)
    assert action, r.text
    return c, c.post(issuer + action.group(1), data={"login": who, "password": PASSWORD})


@browser
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


@browser
def test_a_role_limited_to_some_models_reaches_only_them(tmp_path: Path) -> None:
    """alice's group gives trainer for benefits-* only: through the API she reaches those
    models alone, registry-wide routes refuse her, and the dashboard opens no page for her."""
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
            role_map=("civicml-trainers=trainer@benefits-*", "civicml-approvers=approver"),
        )
        with serve(create_server_app(options), port, log_level="error"):
            alice, page = _sign_in(base, idp.issuer, "alice")
            assert page.status_code == 200, page.text
            me = alice.get(f"{base}/api/v1/me").json()
            assert me == {
                "name": "alice@example.gov.uk",
                "verified": True,
                "via": "oidc",
                "roles": ["trainer"],
                "models": ["benefits-*"],
            }, me
            assert alice.get(f"{base}/api/v1/models").json() == []
            r = alice.get(f"{base}/api/v1/models/housing-triage")
            assert r.status_code == 404 and "limited to ['benefits-*']" in r.text, r.text
            r = alice.get(f"{base}/api/v1/audit")
            assert r.status_code == 403 and "limited to the models" in r.text, r.text
            dashboard = alice.get(f"{base}/", follow_redirects=False)
            assert dashboard.status_code in (302, 303), dashboard.text
            assert "/sign-in" in dashboard.headers["location"]
            bob, _ = _sign_in(base, idp.issuer, "bob")  # an approver of every model, as before
            assert bob.get(f"{base}/api/v1/me").json()["models"] == []
            assert bob.get(f"{base}/api/v1/audit").status_code == 200


@pytest.mark.parametrize(
    "item, words",
    [
        ("benefits-approvers=approver@*", "model scope that is not allowed"),
        ("benefits-approvers=approver@", "model scope that is not allowed"),
        ("benefits-approvers=boss@benefits-*", "unknown role"),
        ("approver@benefits-*", "is not GROUP=ROLE or GROUP=ROLE@SCOPE"),
    ],
)
def test_a_malformed_role_map_item_stops_the_server_in_one_line(
    tmp_path: Path, item: str, words: str
) -> None:
    from civicml.cli import app

    args = ["server", "--registry", f"sqlite:///{tmp_path / 'r.db'}", "--role-map", item]
    result = CliRunner().invoke(app, [*args, "--project-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert "Traceback" not in result.output
