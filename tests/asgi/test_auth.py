"""One authentication: bearer tokens and dashboard sessions, scopes and roles."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from civicml.asgi import (
    Authenticator,
    Forbidden,
    HashedTokenVerifier,
    HTTPError,
    JSONApp,
    Principal,
    RateLimited,
    RequestContext,
    SessionCodec,
    StaticToken,
    Unauthorized,
    WebSession,
    hash_token,
)

SALT = "ab" * 16


def _verifier() -> HashedTokenVerifier:
    return HashedTokenVerifier(
        {
            hash_token("good", salt=SALT): StaticToken("good", ("predict",)),
            hash_token("viewer", salt=SALT): StaticToken("viewer", ("viewer",)),
            hash_token("admin", salt=SALT): StaticToken("boss", ("admin",)),
            hash_token("slow", salt=SALT): StaticToken("slow", ("predict",), rate_limit="1/h"),
        }
    )


class Expiring:
    """A verifier whose tokens expire, as a team server's would."""

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at

    def __call__(self, token: str) -> Principal | None:
        if token != "temp" or time.time() >= self.expires_at:
            return None
        return Principal("temp", ("predict",), id="t-1")


class Guarded(JSONApp):
    """A JSON app that asks the authenticator for the ``predict`` scope."""

    def __init__(self, auth: Authenticator) -> None:
        super().__init__()
        self.auth = auth

    async def handle(self, scope: dict[str, Any], headers: dict[str, str], receive: Any) -> Any:
        who = self.auth.principal(headers.get("authorization"), "predict")
        return 200, {"name": who.name, "scopes": list(who.scopes), "kind": who.kind}


def _call(app: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/x", json={}, headers=headers or {})

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # missing
        ({"Authorization": "Basic Z29vZA=="}, 401),  # not a bearer token
        ({"Authorization": "Bearer nope"}, 401),  # bad
        ({"Authorization": "Bearer viewer"}, 403),  # wrong scope
        ({"Authorization": "Bearer good"}, 200),
        ({"Authorization": "Bearer admin"}, 200),  # admin holds every scope
    ],
)
def test_bearer_answers_with_the_one_json_error_body(headers: dict[str, str], status: int) -> None:
    r = _call(RequestContext(Guarded(Authenticator(_verifier())), logger=_logger()), headers)
    assert r.status_code == status
    if status == 200:
        assert r.json()["kind"] == "token"
        return
    assert set(r.json()) == {"error"} and r.json()["error"]
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"]
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
        assert "bearer token" in r.json()["error"]
    else:
        assert "www-authenticate" not in r.headers
        assert "lacks the 'predict' scope" in r.json()["error"]


def test_an_expired_token_is_refused() -> None:
    auth = Authenticator(Expiring(time.time() + 60))
    assert auth.bearer("Bearer temp", "predict").name == "temp"
    auth.verify = Expiring(time.time() - 1)
    with pytest.raises(Unauthorized, match="not valid or has been revoked"):
        auth.bearer("Bearer temp", "predict")
    r = _call(Guarded(auth), {"Authorization": "Bearer temp"})
    assert r.status_code == 401 and set(r.json()) == {"error"}


def test_no_verifier_refuses_everyone() -> None:
    with pytest.raises(Unauthorized):
        Authenticator(None).bearer("Bearer good", "predict")


def test_rate_limit_is_429() -> None:
    auth = Authenticator(_verifier())
    assert auth.bearer("Bearer slow", "predict").name == "slow"
    with pytest.raises(RateLimited) as err:
        auth.bearer("Bearer slow", "predict")
    assert err.value.http_status == 429
    r = _call(Guarded(auth), {"Authorization": "Bearer slow"})
    assert r.status_code == 429 and set(r.json()) == {"error"}


def test_scope_or_also() -> None:
    auth = Authenticator(_verifier())
    assert auth.bearer("Bearer viewer", "admin", also="viewer").name == "viewer"
    with pytest.raises(Forbidden):
        auth.bearer("Bearer good", "admin", also="viewer")


def test_principal_roles() -> None:
    assert Principal("a", ("viewer",)).role == "viewer"
    assert not Principal("a", ("viewer",)).can_decide
    assert Principal("a", ("approver",)).can_decide
    boss = Principal("a", ("admin",))
    assert boss.role == "admin" and boss.can_decide and boss.allows("predict")
    assert Principal("a", ("predict",)).role == "none"
    assert StaticToken("dev", ("predict",)).id == "static:dev"


def test_registry_tokens_bearer_and_session(tmp_path: Path) -> None:
    from civicml.registry import open_registry

    with open_registry(f"sqlite:///{tmp_path / 'r.db'}", project_dir=tmp_path) as reg:
        viewer = reg.create_token("ana", ["viewer"], actor="ops")
        caller = reg.create_token("svc", ["predict"], actor="ops")

        def lookup(token_id: str) -> Any:
            stored = reg.store.get_token(token_id)
            return None if stored is None else stored.info

        auth = Authenticator(reg.verify_token, lookup=lookup)
        assert auth.principal(f"Bearer {caller}", "predict").name == "svc"
        with pytest.raises(Forbidden):
            auth.bearer(f"Bearer {viewer}", "predict")

        scopes = ("viewer", "approver", "admin")
        assert auth.sign_in(caller, scopes) is None  # predict alone may not sign in
        ana = auth.sign_in(viewer, scopes)
        assert ana is not None and ana.kind == "session" and ana.role == "viewer"
        session = WebSession()
        session.start(auth.open_session(ana))
        again = auth.session(session, scopes)
        assert again is not None and again.name == "ana"
        assert auth.session(ana.token_id, scopes) is not None  # a bare token id, as before
        assert auth.session(None, scopes) is None
        assert auth.session("no-such-id", scopes) is None
        assert auth.session(WebSession(sid="made-up"), scopes) is None
        copied = WebSession(csrf=session.csrf, sid=session.sid)
        auth.close_session(session)  # signed out: the copied cookie signs nobody in
        assert session.sid is None and auth.session(copied, scopes) is None
        session.start(auth.open_session(ana))

        reg.revoke_token("ana", actor="ops", reason="left")  # signed out at once
        assert auth.session(session, scopes) is None
        reg.revoke_token("svc", actor="ops", reason="rotated")
        with pytest.raises(Unauthorized):
            auth.bearer(f"Bearer {caller}", "predict")


def test_session_cookie_is_signed_and_expires() -> None:
    codec = SessionCodec("k" * 32, max_age=60)
    session = WebSession()
    session.start("sid-1")
    raw = codec.dumps(session)
    assert "sid-1" not in raw or "." in raw  # signed, not a bare id
    back = codec.loads(raw)
    assert back.sid == "sid-1" and back.csrf == session.csrf and not back.changed
    assert back.csrf_ok(session.csrf) and not back.csrf_ok("forged") and not back.csrf_ok(None)
    assert codec.loads(raw[:-2] + "xx").sid is None  # forged
    assert SessionCodec("other-key").loads(raw).sid is None  # another key
    expired = SessionCodec("k" * 32, max_age=-1).loads(raw)
    assert expired.sid is None and expired.changed  # stale: a fresh session
    old_csrf = back.csrf
    back.end()
    assert back.sid is None and back.changed and back.csrf != old_csrf


def test_session_store_forgets_closed_and_expired_sessions() -> None:
    from civicml.asgi import Principal, SessionStore

    store = SessionStore(max_age=60, limit=10)
    person = Principal("ann@example.gov.uk", ("approver",), verified=True, via="oidc")
    sid = store.open(person)
    assert store.get(sid) is person and store.get(None) is None and store.get("x") is None
    store.close(sid)
    assert store.get(sid) is None
    stale = SessionStore(max_age=-1).open({"token_id": "t"})
    assert SessionStore(max_age=-1).get(stale) is None
    expired = SessionStore(max_age=-1)
    assert expired.get(expired.open({"token_id": "t"})) is None
    many = [store.open({"n": i}) for i in range(25)]  # over the limit: the oldest go first
    assert store.get(many[-1]) == {"n": 24} and store.get(many[0]) is None


def test_an_openid_session_needs_one_of_the_scopes() -> None:
    from civicml.asgi import Authenticator, Principal

    auth = Authenticator(None)
    person = Principal("ann@example.gov.uk", ("trainer",), verified=True, via="oidc")
    session = WebSession()
    session.start(auth.open_session(person))
    assert auth.session(session, ("viewer", "trainer")) is person
    assert auth.session(session, ("approver",)) is None


def test_http_error_carries_status_and_code() -> None:
    err = HTTPError(404, "not_found", "No such thing.")
    assert (err.http_status, err.code, str(err)) == (404, "not_found", "No such thing.")


def _logger() -> Any:
    import logging

    return logging.getLogger("civicml.asgi.test")


def test_a_missing_scope_names_every_scope_that_would_do() -> None:
    """``/metrics`` takes ``admin`` or ``viewer``: a predict token is told both, not only one."""
    auth = Authenticator(_verifier())
    assert auth.bearer("Bearer viewer", "admin", also="viewer").name == "viewer"
    with pytest.raises(Forbidden) as refused:
        auth.bearer("Bearer good", "admin", also="viewer")
    assert "lacks the 'viewer' or 'admin' scope" in str(refused.value)
    with pytest.raises(Forbidden, match="lacks the 'viewer' scope"):
        auth.bearer("Bearer good", "viewer")
