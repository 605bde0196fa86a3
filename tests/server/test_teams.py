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


# -- people whose OpenID groups give roles limited to some models (GROUP=ROLE@SCOPE) ---------

TEAM_GROUPS = {
    "staff": "viewer",
    "benefits-approvers": "approver@benefits-*",
    "benefits-admins": "admin@benefits-*",
}


def _signed_in(site: Site, who: str, *groups: str) -> Any:
    """``who`` signs in through OpenID Connect with ``groups``; their session's cookie is set on
    the site's client (bearer calls still act as the token's owner)."""
    from civicml.asgi import COOKIE, OIDCClient, OIDCSettings, WebSession

    settings = OIDCSettings("https://id.example.gov.uk", "civicml", "s", role_map=TEAM_GROUPS)
    claims = {"sub": who, "email": f"{who}@example.gov.uk", "groups": list(groups)}
    person = OIDCClient(settings).identity(claims).principal()
    web = site.app.api.web
    session = WebSession(sid=web.auth.open_session(person))
    site.client.cookies.set(COOKIE, web.codec.dumps(session))
    return session


def _pending(teams: Site) -> None:
    """Each team asks for approval of its own v1."""
    for who, name in (("ben", "benefits-triage"), ("hal", "housing-triage")):
        path = f"/models/{name}/versions/1/request-approval"
        r = teams.call("POST", path, who, json={"reason": "ready", "lawful_basis": "public-task"})
        assert r.status_code == 200, r.text


def _unchanged(teams: Site, person: str) -> None:
    """housing-triage v1 is still waiting, no alias moved, and no event names ``person``."""
    v1 = teams.call("GET", "/models/housing-triage/versions/1", "root").json()
    assert v1["status"] == "pending_approval"
    assert teams.call("GET", "/models/housing-triage", "root").json()["aliases"] == {}
    events = teams.call("GET", "/audit", "root").json()
    assert not any(e["actor"] == person and "housing" in e["subject"] for e in events)


def test_a_scoped_openid_approver_reaches_only_their_teams_models(teams: Site) -> None:
    _pending(teams)
    session = _signed_in(teams, "ann", "benefits-approvers")
    csrf = {"X-CSRF-Token": session.csrf}
    try:
        me = teams.call("GET", "/me").json()
        assert me == {
            "name": "ann@example.gov.uk",
            "verified": True,
            "via": "oidc",
            "roles": ["approver"],
            "models": ["benefits-*"],
        }
        assert [m["name"] for m in teams.call("GET", "/models").json()] == ["benefits-triage"]
        approve = "/models/housing-triage/versions/1/approve"
        r = teams.call("POST", approve, json={"reason": "take it over"}, headers=csrf)
        assert r.status_code == 404, r.text
        assert _error(r) == (
            "There is no model named 'housing-triage' that your roles reach "
            "(they are limited to ['benefits-*'])."
        )
        promote = "/models/housing-triage/aliases/staging"
        r = teams.call("PUT", promote, json={"version": 1, "reason": "x"}, headers=csrf)
        assert r.status_code == 404, r.text
        for path in ("/audit", "/audit/verify", "/keys", "/runs"):
            r = teams.call("GET", path)
            assert r.status_code == 403 and "limited to the models ['benefits-*']" in _error(r)
        assert teams.call("GET", "/tokens").status_code == 403
        # their own team's model: approved, as the verified person
        r = teams.call(
            "POST",
            "/models/benefits-triage/versions/1/approve",
            json={"reason": "read it"},
            headers=csrf,
        )
        assert r.status_code == 200, r.text
        assert r.json()["approved_by"] == "ann@example.gov.uk"
    finally:
        teams.client.cookies.clear()
    _unchanged(teams, "ann@example.gov.uk")


def test_a_scoped_role_and_an_unscoped_group_never_make_an_unscoped_approver(
    teams: Site,
) -> None:
    """The attack: in ``staff`` (viewer, every model) and ``benefits-approvers`` (approver,
    benefits-* only), or ``benefits-admins``; never an approver or admin of housing-*, nor of
    the registry."""
    _pending(teams)
    session = _signed_in(teams, "mal", "staff", "benefits-approvers", "benefits-admins")
    csrf = {"X-CSRF-Token": session.csrf}
    try:
        me = teams.call("GET", "/me").json()
        assert me["roles"] == ["viewer"] and me["models"] == []  # registry-wide: a viewer
        names = sorted(m["name"] for m in teams.call("GET", "/models").json())
        assert names == ["benefits-triage", "housing-triage"]  # the viewer group reads all
        assert teams.call("GET", "/audit").status_code == 200
        for method, path, body in (
            ("POST", "/models/housing-triage/versions/1/approve", {"reason": "x"}),
            ("POST", "/models/housing-triage/versions/1/reject", {"reason": "x"}),
            ("PUT", "/models/housing-triage/aliases/staging", {"version": 1, "reason": "x"}),
            ("POST", "/tokens", {"name": "wider", "scopes": ["admin"]}),
        ):
            r = teams.call(method, path, json=body, headers=csrf)
            assert r.status_code in (403, 404), (path, r.text)
        wanted = {"public_key": _public_key(teams, "hal-new"), "owner": "hal@example.gov.uk"}
        r = teams.call("POST", "/keys", json={**wanted, "reason": "x"}, headers=csrf)
        assert r.status_code in (403, 404, 422), r.text  # not another person's key
    finally:
        teams.client.cookies.clear()
    _unchanged(teams, "mal@example.gov.uk")
    assert "wider" not in [t["name"] for t in teams.call("GET", "/tokens", "root").json()]


def test_a_mixed_person_approves_their_teams_model_through_that_grant(teams: Site) -> None:
    """Per grant: the approver grant for benefits-* acts on benefits-triage, though the person's
    registry-wide roles are a viewer's (needs the server to narrow the actor per request)."""
    _pending(teams)
    session = _signed_in(teams, "mel", "staff", "benefits-approvers")
    try:
        r = teams.call(
            "POST",
            "/models/benefits-triage/versions/1/approve",
            json={"reason": "read it"},
            headers={"X-CSRF-Token": session.csrf},
        )
        assert r.status_code == 200, r.text
        assert r.json()["approved_by"] == "mel@example.gov.uk"
    finally:
        teams.client.cookies.clear()


def test_the_dashboard_honours_only_roles_over_every_model(teams: Site) -> None:
    """The dashboard shows every model: a person whose roles are all limited opens no page, and
    one with a viewer group too is a viewer there (no approving another team's model)."""
    _pending(teams)
    _signed_in(teams, "ann", "benefits-approvers")
    try:
        r = teams.client.get("/", follow_redirects=False)
        assert r.status_code in (302, 303) and "/sign-in" in r.headers["location"]
    finally:
        teams.client.cookies.clear()
    session = _signed_in(teams, "mal", "staff", "benefits-approvers", "benefits-admins")
    try:
        assert teams.client.get("/").status_code == 200
        form = {"csrf_token": session.csrf, "decision": "approve", "reason": "x"}
        for name in ("housing-triage", "benefits-triage"):
            r = teams.client.post(f"/models/{name}/1/decision", data=form, follow_redirects=False)
            assert r.status_code == 403 and "viewer role" in r.text, r.text
    finally:
        teams.client.cookies.clear()
    _unchanged(teams, "mal@example.gov.uk")


def _public_key(site: Site, who: str) -> str:
    from civicml.bundle import write_keypair

    return write_keypair(site.root / "keys" / who).public.read_text()


def _grant_gives(grants: list[tuple[str, tuple[str, ...]]], role: str, model: str) -> bool:
    """The rule itself: some grant holds ``model`` and gives ``role`` (admin gives every role;
    every role reads)."""
    from civicml.registry import in_scope

    return any(
        in_scope(model, models) and (r == role or r == "admin" or role == "viewer")
        for r, models in grants
    )


def test_an_actor_made_from_grants_never_holds_more_than_they_give() -> None:
    """Over many sets of grants and every model of a small universe: the summed-up actor
    (used where the route names no model) permits nothing that no grant gives, and the actor
    for one model permits exactly what the grants give on it."""
    import random

    from civicml.registry import ROLES
    from civicml.server._identity import actor_for_model, grants_actor, permits

    scopes = [(), ("benefits-*",), ("benefits-triage",), ("housing-*", "benefits-x"), ("b*",)]
    universe = ["benefits-triage", "benefits-x", "housing-triage", "b", "fraud"]
    rng = random.Random(23)
    for _ in range(400):
        grants = [(rng.choice(ROLES), rng.choice(scopes)) for _ in range(rng.randint(1, 4))]
        summed = grants_actor("p", "oidc", grants)
        for model in universe:
            narrowed = actor_for_model(summed, model)
            for role in ROLES:
                gives = _grant_gives(grants, role, model)
                if summed.reaches(model) and permits(summed, (role,)):
                    assert gives, (grants, model, role, summed)
                exact = narrowed is not None and permits(narrowed, (role,))
                assert exact == gives, (grants, model, role, narrowed)
                if narrowed is not None:
                    assert narrowed.reaches(model)


def test_registry_wide_roles_win_and_team_roles_sum_up() -> None:
    from civicml.server._identity import grants_actor

    mixed = grants_actor("p", "oidc", [("viewer", ()), ("admin", ("benefits-*",))])
    assert (mixed.roles, mixed.models) == (("viewer",), ())
    teams = grants_actor("p", "oidc", [("trainer", ("b-*", "h-*")), ("approver", ("b-x",))])
    assert (teams.roles, teams.models) == (("trainer",), ("b-*", "h-*", "b-x"))
    one = grants_actor("p", "oidc", [("admin", ("b-*",))])  # like a team admin token
    assert (one.roles, one.models, one.verified) == (("admin",), ("b-*",), True)
