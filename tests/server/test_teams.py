"""Several teams on one server (issue 23): team-scoped tokens and compare-and-set alias moves.

Tried as a member of one team trying to reach another's models: listing, reading, searching,
resolving, fetching the bundle, promoting, registering a version under the other team's name,
the registry-wide routes (audit, tokens, keys, runs), issuing a wider token, and a dashboard
session cookie opened with the scoped token.
"""

from __future__ import annotations

from typing import Any

import pytest

from server._support import Site, bundle_tar


def _error(r: Any) -> str:
    return str(r.json()["error"])


def _team_token(site: Site, who: str, *scopes: str, models: list[str]) -> None:
    r = site.call(
        "POST",
        "/tokens",
        "root",
        json={
            "name": f"{who}-token",
            "scopes": list(scopes),
            "owner": f"{who}@example.gov.uk",
            "models": models,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["models"] == models
    site.tokens[who] = r.json()["token"]


@pytest.fixture
def teams(site: Site) -> Site:
    """``ben`` reaches ``benefits-*``, ``hal`` reaches ``housing-*``; each registered one model."""
    _team_token(site, "ben", "trainer", "approver", models=["benefits-*"])
    _team_token(site, "hal", "trainer", "approver", models=["housing-*"])
    for who, name in (("ben", "benefits-triage"), ("hal", "housing-triage")):
        site.register_key(who)  # a person's own key: allowed whatever the scope
        r = site.upload(who, bundle_tar(site.bundle(signer=who).path), name=name)
        assert r.status_code == 201, r.text
    return site


def test_a_team_token_lists_and_reads_only_its_models(teams: Site) -> None:
    r = teams.call("GET", "/models", "ben")
    assert [m["name"] for m in r.json()] == ["benefits-triage"]
    r = teams.call("GET", "/models", "ben", params={"search": "triage"})
    assert [m["name"] for m in r.json()] == ["benefits-triage"]
    assert teams.call("GET", "/models/benefits-triage", "ben").status_code == 200
    root = teams.call("GET", "/models", "root")
    assert sorted(m["name"] for m in root.json()) == ["benefits-triage", "housing-triage"]
    me = teams.call("GET", "/me", "ben").json()
    assert (
        me["models"] == ["benefits-*"] and teams.call("GET", "/me", "root").json()["models"] == []
    )


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/models/housing-triage"),
        ("GET", "/models/housing-triage/versions"),
        ("GET", "/models/housing-triage/versions/1"),
        ("GET", "/models/housing-triage/versions/1/bundle"),
        ("GET", "/models/housing-triage/versions/1/decisions"),
        ("GET", "/models/housing-triage/aliases/staging"),
        ("GET", "/resolve?ref=housing-triage@staging"),
        ("GET", "/resolve?ref=housing-triage/1"),
        ("POST", "/models/housing-triage/versions/1/request-approval"),
        ("POST", "/models/housing-triage/versions/1/approve"),
        ("PUT", "/models/housing-triage/aliases/staging"),
        ("DELETE", "/models/housing-triage/aliases/staging"),
    ],
)
def test_another_teams_model_is_not_found(teams: Site, method: str, path: str) -> None:
    body = {"version": 1, "reason": "x"} if method == "PUT" else {"reason": "take it over"}
    r = teams.call(method, path, "ben", json=None if method == "GET" else body)
    assert r.status_code == 404, r.text
    assert _error(r) == (
        "There is no model named 'housing-triage' that this token can reach "
        "(it is limited to ['benefits-*'])."
    )
    # the same answer for a model that does not exist at all: nothing to learn from it
    missing = teams.call(method, path.replace("housing-triage", "housing-nope"), "ben", json=None)
    assert missing.status_code == 404 and "housing-nope" in _error(missing)


def test_nothing_of_another_team_changed(teams: Site) -> None:
    teams.call("PUT", "/models/housing-triage/aliases/staging", "ben", json={"version": 1})
    teams.call("POST", "/models/housing-triage/versions/1/request-approval", "ben", json={})
    r = teams.call("GET", "/models/housing-triage", "root").json()
    assert r["aliases"] == {}
    assert teams.call("GET", "/models/housing-triage/versions/1", "root").json()["status"] == (
        "registered"
    )
    events = teams.call("GET", "/audit", "root").json()
    assert not any(e["actor"] == "ben@example.gov.uk" and "housing" in e["subject"] for e in events)


def test_a_team_cannot_register_under_another_teams_name(teams: Site) -> None:
    r = teams.upload("ben", bundle_tar(teams.bundle(signer="ben").path), name="housing-new")
    assert r.status_code == 404, r.text
    assert teams.call("GET", "/models/housing-new", "root").status_code == 404
    r = teams.upload("ben", bundle_tar(teams.bundle(signer="ben").path), name="benefits-new")
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/audit"),
        ("GET", "/audit/verify"),
        ("GET", "/audit/head"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("GET", "/keys"),
        ("GET", "/runs"),
    ],
)
def test_registry_wide_routes_are_forbidden_to_a_team_token(
    teams: Site, method: str, path: str
) -> None:
    _team_token(teams, "boss", "admin", models=["benefits-*"])
    body = {"name": "wider", "scopes": ["admin"]} if method == "POST" else None
    r = teams.call(method, path, "boss", json=body)
    assert r.status_code == 403, r.text
    assert "limited to the models ['benefits-*']" in _error(r)
    names = [t["name"] for t in teams.call("GET", "/tokens", "root").json()]
    assert "wider" not in names


def test_a_dashboard_session_of_a_scoped_token_is_not_honoured(teams: Site) -> None:
    """The dashboard shows every model, so it takes no team-scoped token: a session holding
    one (even one opened behind the sign-in form's back) signs nobody in."""
    from civicml.asgi import COOKIE, Principal, WebSession

    web = teams.app.api.web
    info = teams.app.registry.verify_token(teams.tokens["ben"])
    assert web.auth.sign_in(teams.tokens["ben"], ("viewer",)) is None
    session = WebSession(sid=web.auth.open_session(Principal.of(info, kind="session")))
    teams.client.cookies.set(COOKIE, web.codec.dumps(session))
    try:
        assert teams.call("GET", "/me").status_code == 401
        assert teams.call("GET", "/models").status_code == 401
        assert teams.call("GET", "/models/housing-triage").status_code == 401
    finally:
        teams.client.cookies.clear()
    # with its bearer token the API still serves the team its own models only
    r = teams.call("GET", "/models", "ben")
    assert [m["name"] for m in r.json()] == ["benefits-triage"]


def test_a_bad_scope_is_refused(site: Site) -> None:
    r = site.call(
        "POST", "/tokens", "root", json={"name": "x", "scopes": ["viewer"], "models": ["*"]}
    )
    assert r.status_code == 422 and "model scope pattern is not allowed" in _error(r)


def _promotable(site: Site) -> None:
    site.person("alice", "trainer", "approver")
    site.register_key("alice")
    for _ in range(3):
        r = site.upload("alice", bundle_tar(site.bundle(signer="alice").path))
        assert r.status_code == 201, r.text


def test_alias_moves_are_compare_and_set_over_http(site: Site) -> None:
    _promotable(site)
    path = "/models/benefits/aliases/staging"
    r = site.call("PUT", path, "alice", json={"version": 1, "expected_version": "none"})
    assert r.status_code == 200, r.text
    r = site.call("PUT", path, "alice", json={"version": 2, "expected_version": 1})
    assert r.status_code == 200, r.text
    r = site.call("PUT", path, "alice", json={"version": 3, "expected_version": 1})
    assert r.status_code == 409, r.text
    assert "benefits@staging points at v2, not v1" in _error(r)
    for bad in ("latest", 0, True, "1"):
        r = site.call("PUT", path, "alice", json={"version": 3, "expected_version": bad})
        assert r.status_code == 422, (bad, r.text)
    r = site.call("PUT", path, "alice", json={"version": 3})  # no expectation: as before
    assert r.status_code == 200 and r.json()["version"] == 3
    assert site.call("GET", "/audit/verify", "root").json()["ok"]
