"""OpenID Connect sign-in through a real OpenID Provider (``oidc-provider`` on 127.0.0.1), with
httpx following the provider's redirects and posting its login form: PKCE, state and nonce,
ID token checks, roles from groups, refusals, sign-out that cannot be replayed, and changes
recorded as the verified person. No token endpoint is mocked."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .oidc_fixture import EMAIL, OIDCDashboard, oidc_dashboard_for, person

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import Site


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def browser_like() -> Any:
    import httpx

    return httpx.Client(follow_redirects=True, timeout=20)


def sign_in(dash: OIDCDashboard, who: str, *, nxt: str = "/", password: str | None = None) -> Any:
    """Go to the dashboard's sign-in, follow it to the provider, post its login form, follow
    the redirects back; the client (cookies held) and the last response."""
    c = browser_like()
    page = c.get(f"{dash.base}/sign-in?next={nxt}")
    assert "Sign in with 127.0.0.1" in page.text
    r = c.get(f"{dash.base}/auth/login", params={"next": nxt})
    assert str(r.url).startswith(dash.provider.issuer + "/interaction/"), r.url
    action = re.search(r'<form method="post" action="([^"]+)"', r.text)
    assert action, r.text
    r = c.post(
        dash.provider.issuer + action.group(1),
        data={"login": who, "password": password or dash.provider.password},
    )
    return c, r


def test_the_authorization_request_uses_pkce_state_and_nonce(oidc_dashboard: OIDCDashboard) -> None:
    import httpx

    with httpx.Client() as c:
        r = c.get(oidc_dashboard.base + "/auth/login?next=/models")
    assert r.status_code == 303
    url = urlsplit(r.headers["location"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}" == oidc_dashboard.provider.issuer
    assert q["response_type"] == "code" and q["client_id"] == "civicml-dashboard"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32 and len(q["nonce"]) >= 32
    assert q["redirect_uri"] == oidc_dashboard.callback
    assert set(q["scope"].split()) == {"openid", "email", "profile", "groups"}
    pending = r.headers["set-cookie"]
    assert "civicml_oidc=" in pending and "Path=/auth/callback" in pending
    assert "HttpOnly" in pending and "SameSite=lax" in pending
    assert q["state"] not in pending  # signed, and never the plain values in the URL's shape


def test_a_trainer_signs_in_and_asks_for_approval_as_herself(
    oidc_dashboard: OIDCDashboard,
) -> None:
    dash, v = oidc_dashboard, oidc_dashboard.version
    c, r = sign_in(dash, "alice", nxt=f"/models/outreach/{v}")
    assert r.status_code == 200 and urlsplit(str(r.url)).path == "/auth/callback"
    assert "Signed in as <strong>alice@example.gov.uk</strong>" in r.text
    assert f'content="0;url=/models/outreach/{v}"' in r.text
    assert "civicml_oidc" not in c.cookies  # the sign-in under way is over
    page = c.get(f"{dash.base}/models/outreach/{v}")
    assert "alice@example.gov.uk</strong> (trainer)" in page.text
    assert "Request approval" in page.text and 'name="decision"' not in page.text
    form = {
        "csrf_token": _csrf(page.text),
        "reason": "Ready for review",
        "oversight": "human-in-the-loop",
    }
    r = c.post(f"{dash.base}/models/outreach/{v}/request-approval", data=form)
    assert r.status_code == 200 and "/models/outreach/" in str(r.url), r.text[:2000]
    assert dash.registry.get_version("outreach", v).status == "pending_approval"
    event = dash.registry.audit_events()[-1]
    assert event.actor == EMAIL["alice"] and event.action == "request_approval"
    assert event.details["identity"] == {"verified": True, "via": "oidc"}

    # deciding needs the approver role, whoever asks
    data = {"csrf_token": _csrf(page.text), "decision": "approve", "reason": "mine"}
    r = c.post(f"{dash.base}/models/outreach/{v}/decision", data=data)
    assert r.status_code == 403
    assert "alice@example.gov.uk with the trainer role" in r.text
    assert "approver or admin role" in r.text
    assert dash.registry.get_version("outreach", v).status == "pending_approval"
    c.close()


def test_an_approver_decides_and_the_three_people_are_recorded(
    oidc_dashboard: OIDCDashboard,
) -> None:
    dash, v = oidc_dashboard, oidc_dashboard.version
    dash.registry.request_approval(
        "outreach",
        v,
        actor=person("alice", "trainer"),
        reason="Ready",
        oversight="human-in-the-loop",
    )
    c, _ = sign_in(dash, "bob")
    page = c.get(f"{dash.base}/models/outreach/{v}")
    assert "bob@example.gov.uk</strong> (approver)" in page.text
    data = {"csrf_token": _csrf(page.text), "decision": "approve", "reason": "Reviewed"}
    r = c.post(f"{dash.base}/models/outreach/{v}/decision", data=data)
    assert r.status_code == 200 and "done=approved" in str(r.url), r.text[:2000]
    # this test is about who decides, not the ATRS record: bob exempts it from the record
    dash.registry.record_atrs_exemption(
        "outreach", v, reason="Test: exempt", actor=person("bob", "approver")
    )
    data = {"csrf_token": _csrf(r.text), "alias": "production", "reason": "Release"}
    r = c.post(f"{dash.base}/models/outreach/{v}/promote", data=data)
    assert "done=promoted" in str(r.url), r.text[:2000]
    assert dash.registry.resolve("outreach@production").version == v
    events = {e.action: e for e in dash.registry.audit_events()}
    approve = events["approve"]
    assert approve.actor == EMAIL["bob"]
    assert approve.details["identity"] == {"verified": True, "via": "oidc"}
    assert events["alias"].actor == EMAIL["bob"] and events["alias"].subject.endswith("@production")
    assert events["request_approval"].actor == EMAIL["alice"]
    c.close()


def test_an_approver_cannot_approve_what_they_asked_for(oidc_dashboard: OIDCDashboard) -> None:
    dash, v = oidc_dashboard, oidc_dashboard.version
    c, _ = sign_in(dash, "carol")  # an admin may ask and decide, but not both on one version
    page = c.get(f"{dash.base}/models/outreach/{v}")
    form = {"csrf_token": _csrf(page.text), "reason": "Ready", "oversight": "human-in-the-loop"}
    c.post(f"{dash.base}/models/outreach/{v}/request-approval", data=form)
    data = {"csrf_token": _csrf(page.text), "decision": "approve", "reason": "fine"}
    r = c.post(f"{dash.base}/models/outreach/{v}/decision", data=data)
    assert r.status_code == 403
    assert "carol@example.gov.uk asked for the approval" in r.text, r.text[
        r.text.find("error-summary") :
    ][:1500]
    assert dash.registry.get_version("outreach", v).status == "pending_approval"
    c.close()


def test_a_person_whose_groups_give_no_role_cannot_sign_in(
    oidc_dashboard: OIDCDashboard,
) -> None:
    c, r = sign_in(oidc_dashboard, "dave")
    assert r.status_code == 403
    assert "You signed in as dave@example.gov.uk, but none of your groups" in r.text
    assert c.get(oidc_dashboard.base + "/models").url.path == "/sign-in"
    c.close()


def test_the_provider_refuses_a_wrong_password(oidc_dashboard: OIDCDashboard) -> None:
    c, r = sign_in(oidc_dashboard, "alice", password="wrong")
    assert r.status_code == 401 and "wrong password" in r.text
    assert urlsplit(str(r.url)).netloc != urlsplit(oidc_dashboard.base).netloc
    c.close()


def test_a_callback_that_is_not_this_browsers_sign_in_is_refused(
    oidc_dashboard: OIDCDashboard,
) -> None:
    import httpx

    dash = oidc_dashboard
    with httpx.Client() as c:  # no sign-in under way: nothing to check the answer against
        r = c.get(dash.callback, params={"code": "x", "state": "y"})
        assert r.status_code == 400 and "has expired or was started in another browser" in r.text
    with httpx.Client() as c:  # a sign-in under way, but the answer's state is another one
        c.get(dash.base + "/auth/login")
        r = c.get(dash.callback, params={"code": "x", "state": "forged"})
        assert r.status_code == 401 and "does not belong to this browser" in r.text
    with httpx.Client() as c:  # the provider said no
        login = c.get(dash.base + "/auth/login")
        state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
        r = c.get(dash.callback, params={"error": "access_denied", "state": state})
        assert r.status_code == 401 and "access_denied" in r.text
    with httpx.Client() as c:  # a made-up code: the real provider refuses the exchange
        login = c.get(dash.base + "/auth/login")
        state = parse_qs(urlsplit(login.headers["location"]).query)["state"][0]
        r = c.get(dash.callback, params={"code": "made-up", "state": state})
        assert r.status_code == 401 and "refused the code exchange" in r.text
        assert c.get(dash.base + "/models").status_code == 303


def test_an_authorization_code_cannot_be_used_twice(oidc_dashboard: OIDCDashboard) -> None:
    import httpx

    dash = oidc_dashboard
    c = browser_like()
    r = c.get(f"{dash.base}/auth/login")
    action = re.search(r'action="([^"]+)"', r.text)
    assert action
    pending = c.cookies.get("civicml_oidc")
    # stop at the redirect to the dashboard's callback to keep the code
    with httpx.Client(cookies=c.cookies, follow_redirects=False) as raw:
        r = raw.post(
            dash.provider.issuer + action.group(1),
            data={"login": "bob", "password": dash.provider.password},
        )
        while not r.headers["location"].startswith(dash.callback):
            r = raw.get(r.headers["location"])
        callback = r.headers["location"]
    first = c.get(callback)
    assert first.status_code == 200 and "bob@example.gov.uk" in first.text
    with httpx.Client(cookies={"civicml_oidc": pending or ""}) as thief:
        again = thief.get(callback)
    assert again.status_code == 401 and "refused the code exchange" in again.text
    c.close()


def test_sign_out_ends_the_session_and_the_old_cookie_cannot_be_replayed(
    oidc_dashboard: OIDCDashboard,
) -> None:
    import httpx

    dash = oidc_dashboard
    c, _ = sign_in(dash, "bob")
    page = c.get(dash.base + "/models")
    assert page.status_code == 200 and "bob@example.gov.uk" in page.text
    stolen = c.cookies.get("civicml_session", domain="127.0.0.1")
    r = c.post(dash.base + "/sign-out", data={"csrf_token": _csrf(page.text)})
    assert urlsplit(str(r.url)).path == "/sign-in"
    assert urlsplit(str(c.get(dash.base + "/models").url)).path == "/sign-in"
    with httpx.Client(cookies={"civicml_session": stolen or ""}) as replay:
        r = replay.get(dash.base + "/models")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
    c.close()


def test_token_sign_in_is_off_with_openid_unless_asked_for(
    site: Site, tmp_path: Path, oidc_dashboard: OIDCDashboard
) -> None:
    from civicml.asgi import SessionCodec

    c = browser_like()
    page = c.get(oidc_dashboard.base + "/sign-in")
    assert 'id="token"' not in page.text and "csrf_token" not in page.text
    csrf = SessionCodec("test-secret").loads(c.cookies.get("civicml_session")).csrf  # as a script
    data = {"csrf_token": csrf, "token": site.tokens["bob"], "next": "/"}
    r = c.post(oidc_dashboard.base + "/sign-in", data=data)
    assert r.status_code == 403 and "turned off" in r.text
    c.close()
    with oidc_dashboard_for(site, tmp_path / "both", token_sign_in=True) as dash:
        c = browser_like()
        page = c.get(dash.base + "/sign-in")
        assert 'id="token"' in page.text and "Sign in with 127.0.0.1" in page.text
        data = {"csrf_token": _csrf(page.text), "token": site.tokens["bob"], "next": "/models"}
        r = c.post(dash.base + "/sign-in", data=data)
        assert r.status_code == 200 and "Signed in as <strong>bob</strong>" in r.text
        c.close()


def test_claims_only_in_the_id_token_are_enough(site: Site, tmp_path: Path) -> None:
    with oidc_dashboard_for(site, tmp_path, claims_in_id_token=True) as dash:
        c, r = sign_in(dash, "carol")
        assert r.status_code == 200
        assert "carol@example.gov.uk</strong> (admin)" in c.get(dash.base + "/models").text
        c.close()


# -- the ID token checks, one at a time (tokens signed here, keys given to the client) ----------


@pytest.fixture
def checker() -> Any:
    from joserfc.jwk import ECKey

    from civicml.asgi import OIDCClient, OIDCSettings

    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    client = OIDCClient(
        OIDCSettings("https://id.example", "civicml", "secret", role_map={"g": "viewer"})
    )
    client._meta = {"issuer": "https://id.example", "jwks_uri": "https://id.example/jwks"}
    client._jwks = {"keys": [key.as_dict(private=False)]}
    client._jwks_at = time.monotonic()
    return client, key


def _token(key: Any, **claims: Any) -> str:
    from joserfc import jwt

    now = int(time.time())
    base = {
        "iss": "https://id.example",
        "aud": "civicml",
        "sub": "u1",
        "iat": now,
        "exp": now + 300,
        "nonce": "n1",
    }
    base.update(claims)
    return jwt.encode(
        {"alg": "ES256", "kid": key.kid}, {k: v for k, v in base.items() if v is not None}, key
    )


def test_a_valid_id_token_passes(checker: Any) -> None:
    client, key = checker
    claims = client.validate_id_token(_token(key, groups=["g"]), "n1")
    assert client.identity(claims).roles == ("viewer",)


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"iss": "https://evil.example"}, "iss"),
        ({"aud": "someone-else"}, "aud"),
        ({"nonce": "replayed"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "exp"),
        ({"sub": None}, "sub"),
    ],
)
def test_an_id_token_that_fails_a_check_is_refused(
    checker: Any, claims: dict[str, Any], problem: str
) -> None:
    from civicml.asgi import SignInRefused

    client, key = checker
    with pytest.raises(SignInRefused, match="failed its checks") as err:
        client.validate_id_token(_token(key, **claims), "n1")
    assert problem in str(err.value)


def test_an_id_token_signed_by_another_key_or_unsigned_is_refused(checker: Any) -> None:
    from joserfc.jwk import ECKey

    from civicml.asgi import SignInRefused

    client, _ = checker
    client._jwks_at = time.monotonic()  # no refetch of the (unreachable) JWKS
    other = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    with pytest.raises(SignInRefused, match="failed its checks"):
        client.validate_id_token(_token(other), "n1")
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    with pytest.raises(SignInRefused, match="failed its checks"):
        client.validate_id_token(f"{header}.e30.", "n1")


def test_a_token_for_several_audiences_needs_azp(checker: Any) -> None:
    from civicml.asgi import SignInRefused

    client, key = checker
    with pytest.raises(SignInRefused, match="another party"):
        client.validate_id_token(_token(key, aud=["civicml", "other"], azp="other"), "n1")
    assert client.validate_id_token(_token(key, aud=["civicml", "x"], azp="civicml"), "n1")


def test_settings_refuse_unknown_roles_and_map_groups() -> None:
    from civicml._errors import SpecError
    from civicml.asgi import OIDCSettings

    with pytest.raises(SpecError, match="unknown role"):
        OIDCSettings("https://id.example", "c", "s", role_map={"g": "superuser"})
    with pytest.raises(SpecError, match="client secret"):
        OIDCSettings("https://id.example", "c", "")
    with pytest.raises(SpecError, match="must use https"):
        OIDCSettings("http://id.example", "c", "s")
    assert OIDCSettings("http://127.0.0.1:8080", "c", "s").label == "127.0.0.1:8080"
    s = OIDCSettings("https://id.example/", "c", "s", role_claim="roles", role_map={"A": "admin"})
    assert s.issuer == "https://id.example" and s.roles_for({"roles": "A B"}) == ("admin",)
    assert "client_secret" not in repr(s)  # the secret is never shown


def test_an_unreachable_provider_is_a_clear_page_not_a_crash(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.asgi import OIDCSettings
    from civicml.web import create_app

    from .oidc_fixture import free_port

    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = OIDCSettings(issuer, "civicml", "secret", role_map={"g": "viewer"})
    with TestClient(create_app(site.config(), oidc=settings)) as c:
        page = c.get("/sign-in")
        assert f"Sign in with 127.0.0.1:{issuer.rsplit(':', 1)[1]}" in page.text
        r = c.get("/auth/login", follow_redirects=False)
        assert r.status_code == 502
        assert "could not be reached" in r.text
        assert c.cookies.get("civicml_oidc") is None  # no sign-in left under way


def test_an_embedded_token_session_acts_unverified_as_the_tokens_owner(fresh_site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.web import create_app

    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        token = reg.create_token("ci-bot", "approver", "admin", owner="dora")
    with TestClient(create_app(fresh_site.config())) as c:
        page = c.get("/sign-in")
        assert "Sign in with" not in page.text and 'id="token"' in page.text
        data = {"csrf_token": _csrf(page.text), "token": token, "next": "/models/outreach/2"}
        page = c.post("/sign-in", data=data)
        data = {"csrf_token": _csrf(page.text), "decision": "approve", "reason": "Reviewed"}
        r = c.post("/models/outreach/2/decision", data=data, follow_redirects=False)
        assert r.status_code == 303 and "done=approved" in r.headers["location"]
    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        event = reg.audit_events()[-1]
    assert (event.action, event.actor) == ("approve", "dora")
    assert event.details["identity"] == {"verified": False, "via": "token:ci-bot"}
