"""Two people sign in through a real OpenID Provider in a real browser (headless Chromium, driven
by Playwright) and take a model version through request, approval and promotion: alice (a
trainer) asks for approval of the version she registered and cannot approve it; bob (an
approver) approves and promotes it; the audit trail shows both as verified people.

Skips when Chromium, Playwright, node or oidc-provider are missing, unless
CIVICML_REQUIRE_BROWSER=1 (CI), where a missing tool fails. Chromium is the system's
(/usr/bin/chromium), never ``playwright install``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .oidc_fixture import EMAIL, PASSWORD, OIDCDashboard, need, person
from .test_browser import AXE_CANDIDATES, WCAG

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need(Path(CHROMIUM).exists(), "Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright Python package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def axe_js() -> str:
    path = next((p for p in AXE_CANDIDATES if p and Path(p).exists()), None)
    need(path is not None, "axe-core (npm install axe-core)")
    return Path(str(path)).read_text(encoding="utf-8")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    env = os.environ.get("CIVICML_SCREENSHOTS_DIR")
    out = Path(env) if env else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


class Person:
    """One person in their own browser context (their own cookies)."""

    def __init__(
        self, browser: Any, dash: OIDCDashboard, login: str, shots: Path, axe_js: str
    ) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        self.page = self.context.new_page()
        self.dash, self.login, self.shots, self.axe_js = dash, login, shots, axe_js
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        return self.page.goto(self.dash.base + path)

    def shot(self, name: str) -> None:
        """axe-core (WCAG 2.2 AA) on the current page, then a screenshot."""
        self.page.add_script_tag(content=self.axe_js)
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            WCAG,
        )
        found = [f"{v['id']}: {v['help']}" for v in result["violations"]]
        assert found == [], f"{name} ({self.page.url}): {found}"
        self.page.screenshot(path=str(self.shots / f"oidc-{name}.png"), full_page=True)

    def to_provider(self, path: str) -> None:
        """Open ``path``, be sent to sign in, use the provider's login form."""
        self.go(path)
        assert "/sign-in?next=" in self.page.url
        self.shot("sign-in")
        assert self.page.locator("#token").count() == 0  # token sign-in is for machines only
        button = self.page.locator("#oidc-sign-in")
        assert button.inner_text().strip().startswith("Sign in with 127.0.0.1:")
        with self.page.expect_navigation():
            button.click()
        assert self.page.url.startswith(self.dash.provider.issuer + "/interaction/")
        self.page.fill("#login", self.login)
        self.page.fill("#password", PASSWORD)
        self.page.click("button[type=submit]")

    def sign_in(self, path: str) -> None:
        """Sign in through the provider and come back to ``path``, signed in."""
        self.to_provider(path)
        self.page.wait_for_url(self.dash.base + path, timeout=15_000)
        who = self.page.locator(".civicml-account__name").inner_text()
        assert EMAIL[self.login] in who, who

    def close(self) -> None:
        assert self.errors == []
        self.context.close()


def test_two_people_sign_in_request_approve_and_promote(
    browser: Any, oidc_dashboard: OIDCDashboard, shots: Path, axe_js: str
) -> None:
    dash = oidc_dashboard
    v = dash.version
    version_path = f"/models/outreach/{v}"

    alice = Person(browser, dash, "alice", shots, axe_js)
    alice.sign_in(version_path)
    assert "(trainer)" in alice.page.locator(".civicml-account__name").inner_text()
    alice.shot("alice-version")
    alice.page.fill("#ra-reason", "Trained on the 2025 data; report reviewed by the team")
    alice.page.click("button >> text=Request approval")
    alice.page.wait_for_load_state("load")
    assert "pending approval" in alice.page.locator("h1").inner_text()
    assert alice.page.locator("input[name=decision]").count() == 0  # no decision form for her

    # her own approval, posted anyway with her valid form token, is refused on the page
    csrf = alice.page.locator("input[name=csrf_token]").first.get_attribute("value")
    alice.page.evaluate(
        """([action, csrf]) => {
            const f = document.createElement('form');
            f.method = 'post'; f.action = action;
            for (const [k, v] of [['csrf_token', csrf], ['decision', 'approve'],
                                  ['reason', 'It is mine and it is fine']]) {
                const i = document.createElement('input');
                i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
            }
            document.body.appendChild(f); f.submit();
        }""",
        [f"{version_path}/decision", csrf],
    )
    alice.page.wait_for_url(f"**{version_path}/decision")
    assert "You cannot do that" in alice.page.locator("h1").inner_text()
    assert "approver or admin role" in alice.page.content()
    alice.shot("alice-approval-refused")
    assert dash.registry.get_version("outreach", v).status == "pending_approval"

    bob = Person(browser, dash, "bob", shots, axe_js)
    bob.sign_in("/approvals")
    assert "(approver)" in bob.page.locator(".civicml-account__name").inner_text()
    card = bob.page.locator("section.civicml-card", has_text=f"outreach version {v}")
    card.locator("label", has_text="Approve").click()
    card.locator("textarea").fill("Report, model card and legal record reviewed")
    with bob.page.expect_navigation():
        card.locator("button", has_text="Record decision").click()
    assert "Version approved." in bob.page.locator(".govuk-notification-banner").inner_text()
    # about two people deciding, not the ATRS record: bob exempts it, then reloads the page
    dash.registry.record_atrs_exemption(
        "outreach", v, reason="Test: exempt", actor=person("bob", "approver")
    )
    bob.page.reload()
    bob.page.fill("#promote-reason", "Replaces version 1")
    with bob.page.expect_navigation():
        bob.page.click(f"button >> text=Move alias to version {v}")
    assert "Alias moved." in bob.page.content()
    assert "production" in bob.page.locator("#version-aliases").inner_text()
    assert dash.registry.resolve("outreach@production").version == v

    bob.go("/audit")
    rows = [r.inner_text() for r in bob.page.locator("tbody tr").all()]
    promoted = next(r for r in rows if f"production: 1 → {v}" in r)
    approved = next(r for r in rows if "approve" in r and f"outreach/{v}" in r)
    requested = next(r for r in rows if "request_approval" in r and f"outreach/{v}" in r)
    assert EMAIL["bob"] in promoted and "verified (oidc)" in promoted
    assert EMAIL["bob"] in approved and "verified (oidc)" in approved
    assert EMAIL["alice"] in requested and "verified (oidc)" in requested
    assert "checks out" in bob.page.locator("#chain-status").inner_text()
    bob.shot("bob-audit")

    # signing out ends alice's session; the next page asks her to sign in again
    alice.go("/models")
    with alice.page.expect_navigation():
        alice.page.click("button >> text=Sign out")
    alice.go(version_path)
    assert "/sign-in?next=" in alice.page.url
    alice.close()
    bob.close()


def test_a_person_without_a_civicml_role_is_told_why(
    browser: Any, oidc_dashboard: OIDCDashboard, shots: Path, axe_js: str
) -> None:
    dave = Person(browser, oidc_dashboard, "dave", shots, axe_js)
    dave.to_provider("/models")
    dave.page.wait_for_url(oidc_dashboard.callback + "**")
    refusal = dave.page.locator("#sign-in-refused").inner_text()
    assert "You could not be signed in" in refusal
    assert "dave@example.gov.uk, but none of your groups gives you a role" in refusal
    dave.shot("no-role")
    dave.go("/models")
    assert "/sign-in?next=" in dave.page.url
    dave.close()
