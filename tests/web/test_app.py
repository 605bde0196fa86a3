"""The dashboard over HTTP (no browser): access control, CSRF, cookies, headers and each page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .conftest import Site

PAGES = [
    "/",
    "/runs",
    "/runs?project=outreach&status=failed",
    "/runs?page=2",
    "/runs/{finished}",
    "/runs/{failed}",
    "/runs/{finished}?compare={failed}",
    "/runs/outreach/1",
    "/runs/outreach/2",
    "/models",
    "/models/outreach",
    "/models/outreach/1",
    "/models/outreach/2",
    "/models/outreach/1/report",
    "/models/outreach/1/atrs",
    "/models/outreach/1/model-card",
    "/approvals",
    "/audit",
    "/monitoring",
    "/monitoring/outreach",
    "/atrs",
]


@pytest.fixture(scope="module")
def client(site: Site):
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config()), base_url="http://testserver") as c:
        yield c


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _at(site: Site, path: str) -> str:
    return path.format(finished=site.finished_run, failed=site.failed_run)


def sign_in(client, token: str):
    page = client.get("/sign-in")
    return client.post(
        "/sign-in",
        data={"token": token, "csrf_token": _csrf(page.text), "next": "/"},
        follow_redirects=False,
    )


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitors_are_sent_to_sign_in_without_data(site: Site, path: str) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as anon:
        r = anon.get(_at(site, path), follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/sign-in?next=")
    assert "outreach" not in r.text and "alice" not in r.text
    assert "outcome_missing" not in r.text and "leaderboard" not in r.text.lower()


def test_signed_out_posts_are_refused(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as anon:
        page = anon.get("/sign-in")
        token = _csrf(page.text)
        r = anon.post(
            "/models/outreach/2/decision",
            data={"csrf_token": token, "decision": "approve", "reason": "x"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
        r = anon.post("/models/outreach/2/decision", data={"decision": "approve", "reason": "x"})
        assert r.status_code == 403


def test_public_pages_and_cookie_flags(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as anon:
        r = anon.get("/sign-in")
        assert anon.get("/accessibility").status_code == 200
    assert r.status_code == 200 and "outreach" not in r.text
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert "script-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    with TestClient(create_app(site.config()), base_url="https://testserver") as tls:
        assert "secure" in tls.get("/sign-in").headers["set-cookie"].lower()


def test_bad_and_predict_only_tokens_cannot_sign_in(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as c:
        for token in ("", "cml_nope_nope", site.tokens["svc"]):
            r = sign_in(c, token)
            assert r.status_code == 401
            assert "There is a problem" in r.text
        assert c.get("/", follow_redirects=False).status_code == 303


def test_forged_cookie_is_a_signed_out_session(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as c:
        c.cookies.set("civicml_session", "eyJ0aWQiOiJ4In0.forged.sig")
        assert c.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_viewer(site: Site, client, path: str) -> None:
    assert sign_in(client, site.tokens["vera"]).status_code == 303
    r = client.get(_at(site, path))
    assert r.status_code == 200, r.text[:2000]
    assert "<h1" in r.text


def test_pages_show_runs_aliases_and_atrs_gaps(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    run = client.get("/runs/outreach/1").text  # v1's recorded run
    assert f"Run {site.finished_run[:8]}" in run
    assert "±" in run and "95% interval" in run and "selected" in run
    legacy = client.get("/runs/outreach/2").text  # v2's bundle was registered without a run
    assert "±" in legacy and "the training run the bundle itself records" in legacy
    models = client.get("/models/outreach").text
    assert "production" in models
    gaps = client.get("/atrs").text
    assert "Appeals and review" in gaps and "tier2." not in gaps  # labels, not JSON paths
    mon = client.get("/monitoring/outreach").text
    assert "tenure" in mon
    assert "/sign-out" in client.get("/").text


def test_unknown_page_is_404(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    assert client.get("/models/outreach/99").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_viewer_cannot_decide(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    page = client.get("/models/outreach/2")
    assert "Record decision" not in page.text
    r = client.post(
        "/models/outreach/2/decision",
        data={"csrf_token": _csrf(page.text), "decision": "approve", "reason": "fine"},
    )
    assert r.status_code == 403


def test_post_without_csrf_token_is_refused(fresh_site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(fresh_site.config())) as c:
        sign_in(c, fresh_site.tokens["bob"])
        r = c.post("/models/outreach/2/decision", data={"decision": "approve", "reason": "ok"})
        assert r.status_code == 403
        r = c.post(
            "/models/outreach/2/decision",
            data={"decision": "approve", "reason": "ok", "csrf_token": "wrong"},
        )
        assert r.status_code == 403
        assert "pending approval" in c.get("/models/outreach/2").text


def test_approval_flow_and_two_person_rule(fresh_site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.web import create_app

    with TestClient(create_app(fresh_site.config())) as c:
        sign_in(c, fresh_site.tokens["alice"])
        page = c.get("/models/outreach/2")
        data = {"csrf_token": _csrf(page.text), "decision": "approve", "reason": "mine"}
        r = c.post("/models/outreach/2/decision", data=data)
        assert r.status_code == 403
        assert "two-person rule" in r.text
        r = c.post("/models/outreach/2/decision", data={**data, "reason": "  "})
        assert r.status_code == 400 and "Enter the reason" in r.text

        c.post("/sign-out", data={"csrf_token": _csrf(page.text)})
        sign_in(c, fresh_site.tokens["bob"])
        page = c.get("/approvals")
        r = c.post(
            "/models/outreach/2/decision",
            data={"csrf_token": _csrf(page.text), "decision": "approve", "reason": "Reviewed"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = c.get(r.headers["location"])
        assert "Version approved." in page.text
        r = c.post(
            "/models/outreach/2/promote",
            data={"csrf_token": _csrf(page.text), "alias": "production", "reason": "Go live"},
        )
        assert r.status_code == 200 and "Alias moved." in r.text
    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        assert reg.resolve("outreach@production").version == 2
        events = reg.audit_events(subject="outreach/2")
        assert any(e.action == "approve" and e.actor == "bob" for e in events)
        assert reg.verify_audit().ok


def test_request_changes_sends_a_version_back(fresh_site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.web import create_app

    with TestClient(create_app(fresh_site.config())) as c:
        sign_in(c, fresh_site.tokens["bob"])
        page = c.get("/models/outreach/2")
        r = c.post(
            "/models/outreach/2/decision",
            data={"csrf_token": _csrf(page.text), "decision": "request-changes", "reason": "Add X"},
        )
        assert "Changes requested" in r.text
        assert "Request approval" in r.text
    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        v = reg.get_version("outreach", 2)
        assert v.status == "rejected"
        assert reg.decisions("outreach", 2)[-1].reason == "Changes requested: Add X"


def test_sign_in_redirects_only_to_local_paths(site: Site) -> None:
    from starlette.testclient import TestClient

    from civicml.web import create_app

    with TestClient(create_app(site.config())) as c:
        page = c.get("/sign-in?next=/audit")
        for nxt, want in (("/audit", "/audit"), ("//evil.example", "/"), ("https://x", "/")):
            c.cookies.clear()
            page = c.get("/sign-in")
            r = c.post(
                "/sign-in",
                data={"token": site.tokens["vera"], "csrf_token": _csrf(page.text), "next": nxt},
                follow_redirects=False,
            )
            assert r.headers["location"] == want


def test_runs_page_lists_filters_and_pages(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    page = client.get("/runs").text
    assert page.index(site.failed_run[:8]) < page.index(site.finished_run[:8])  # newest first
    assert "govuk-tag--red" in page and "govuk-tag--green" in page
    assert "outcome_missing" in page  # the failed run's one-line error
    assert 'href="/models/outreach/1"' in page  # the version the finished run registered
    assert "roc auc 0." in page
    failed = client.get("/runs?status=failed").text
    assert site.failed_run[:8] in failed and site.finished_run[:8] not in failed
    other = client.get("/runs?project=nobody").text
    assert "No runs match these filters" in other
    assert client.get("/runs?status=bogus&page=x").status_code == 200  # ignored, not echoed


def test_runs_page_paginates(site: Site, client, monkeypatch: pytest.MonkeyPatch) -> None:
    from civicml.web import _runs

    monkeypatch.setattr(_runs, "PAGE_SIZE", 1)
    sign_in(client, site.tokens["vera"])
    first = client.get("/runs?status=").text
    assert site.failed_run[:8] in first and site.finished_run[:8] not in first
    assert 'href="/runs?page=2"' in first and 'rel="prev"' not in first
    second = client.get("/runs?page=2").text
    assert site.finished_run[:8] in second and site.failed_run[:8] not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_projects_group_runs_with_the_latest_status(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    page = client.get("/").text
    summary = page[page.index('id="project-summary"') :]
    summary = summary[: summary.index("</table>")]
    assert "outreach" in summary and "failed" in summary  # the newest run failed
    assert 'href="/runs?project=outreach"' in page


def test_failed_run_shows_its_error(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    page = client.get(f"/runs/{site.failed_run}").text
    assert "This run failed" in page and "outcome_missing" in page
    assert "before it produced a leaderboard" in page
    assert "not registered" in page


def test_run_and_version_link_both_ways(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    run = client.get(f"/runs/{site.finished_run}").text
    assert 'href="/models/outreach/1"' in run
    assert "data.csv" in run and "training table" in run  # data versions
    assert "Package versions" in run and "Timings" in run and "bundle" in run
    version = client.get("/models/outreach/1").text
    assert f'href="/runs/{site.finished_run}"' in version
    r = client.get("/runs/outreach/1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/runs/{site.finished_run}"


def test_compare_renders_both_runs_and_the_data_diff(site: Site, client) -> None:
    sign_in(client, site.tokens["vera"])
    page = client.get(f"/runs/{site.finished_run}?compare={site.failed_run[:10]}").text
    assert 'id="comparison"' in page and 'id="compare-data"' in page
    assert "Settings that differ" in page and "outcome_missing" in page
    assert f'<option value="{site.failed_run}" selected' in page
    missing = client.get(f"/runs/{site.finished_run}?compare=ffffffffffff")
    assert missing.status_code == 404
    assert client.get("/runs/0000000000000000").status_code == 404


def test_the_version_page_says_whether_the_approval_was_verified(site: Site, client) -> None:
    """Embedded mode: the page says plainly the approver's name was not verified by a server."""
    sign_in(client, site.tokens["vera"])
    page = client.get("/models/outreach/1").text
    found = re.search(r'id="version-approval">([^<]*)<', page)
    assert found, page
    sentence = found.group(1)
    assert "Approved by" in sentence and "not verified by a server" in sentence
    assert "Not approved yet." in client.get("/models/outreach/2").text


def test_the_request_form_records_the_art22c_safeguards(fresh_site: Site) -> None:
    """A solely automated request from the dashboard needs the three safeguards, taken from the
    form; the lawful basis is chosen from the fixed list."""
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.web import create_app

    from .conftest import _copy_bundle

    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        bundle = reg.load_version("outreach/1")
        copy = _copy_bundle(bundle.path, fresh_site.root / "b3")
        reg.register(copy, "outreach", actor="alice")
    with TestClient(create_app(fresh_site.config())) as c:
        sign_in(c, fresh_site.tokens["bob"])
        page = c.get("/models/outreach/3").text
        assert 'name="safeguard_contest"' in page and '<option value="public-task"' in page
        form = {
            "csrf_token": _csrf(page),
            "reason": "Ready",
            "oversight": "solely-automated",
            "lawful_basis": "public-task",
        }
        refused = c.post("/models/outreach/3/request-approval", data=form)
        assert "Art. 22C safeguards" in refused.text
        form |= {
            "safeguard_information": "A letter explains the decision",
            "safeguard_contest": "Reply to the letter or call the helpline",
            "safeguard_human": "A caseworker reviews it within 10 days",
        }
        done = c.post("/models/outreach/3/request-approval", data=form)
        assert done.status_code == 200, done.text[:500]
    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        v = reg.get_version("outreach", 3)
    assert v.status == "pending_approval" and v.lawful_basis == "public-task"
    assert v.legal["safeguards"]["human_intervention"].startswith("A caseworker")


def test_an_approved_version_shows_when_its_review_is_due(
    client, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 21: reviews on a schedule are flagged on the version page when overdue."""
    import civicml.registry._lifecycle as lifecycle

    sign_in(client, site.tokens["vera"])
    page = client.get("/models/outreach/1").text
    due = re.search(r'id="review-due">([0-9-]{10})', page)
    assert due and "overdue" not in page.split('id="review-due">')[1][:200]
    monkeypatch.setattr(lifecycle, "_today", lambda: "2999-01-01")
    late = client.get("/models/outreach/1").text.split('id="review-due">')[1][:200]
    assert "overdue" in late


def test_a_team_scoped_token_cannot_sign_in_to_the_dashboard(fresh_site: Site) -> None:
    """The dashboard shows every model, so a token limited to some fails closed here."""
    from starlette.testclient import TestClient

    from civicml.registry import open_registry
    from civicml.web import create_app

    with open_registry(fresh_site.uri, project_dir=fresh_site.root) as reg:
        scoped = reg.create_token("team", "approver", "admin", owner="tess", models=["outreach*"])
        other = reg.create_token("other", "approver", "admin", owner="olly", models=["housing-*"])
    with TestClient(create_app(fresh_site.config())) as c:
        for token in (scoped, other):
            r = sign_in(c, token)
            assert r.status_code == 401 and "limited to some models" in r.text
            assert c.get("/models/outreach", follow_redirects=False).status_code == 303
        assert sign_in(c, fresh_site.tokens["vera"]).status_code in (200, 303)
