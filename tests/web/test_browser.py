"""The dashboard in a real browser: headless Chromium driven by Playwright, axe-core (WCAG 2.2
AA) on every page, keyboard use, and the approval story end to end, with screenshots.

Skips when Chromium, Playwright or axe-core are missing, unless CIVICML_REQUIRE_BROWSER=1 (CI),
where a missing tool fails. axe-core comes from ``npm install axe-core`` in tests/report (as
``.ci/run`` does) or $CIVICML_AXE_JS. Screenshots go to $CIVICML_SCREENSHOTS_DIR (docs/screenshots
when refreshing the docs) or the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conftest import Site

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
TESTS = Path(__file__).parents[1]
AXE_CANDIDATES = [
    os.environ.get("CIVICML_AXE_JS", ""),
    str(TESTS / "report/node_modules/axe-core/axe.min.js"),
    str(TESTS / "web/node_modules/axe-core/axe.min.js"),
    str(TESTS.parent / "node_modules/axe-core/axe.min.js"),
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CIVICML_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{what} is required (CIVICML_REQUIRE_BROWSER=1) but missing")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def axe_js() -> str:
    path = next((p for p in AXE_CANDIDATES if p and Path(p).exists()), None)
    _need(path is not None, "axe-core (npm install axe-core)")
    return Path(str(path)).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _need(Path(CHROMIUM).exists(), "Chromium at /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "the playwright Python package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Site]]:
    """The dashboard on a free port, over a copy of the site that these tests change."""
    import uvicorn

    from civicml.web import create_app

    from .conftest import Site as SiteType

    root = tmp_path_factory.mktemp("browser") / "site"
    shutil.copytree(site.root, root)
    copy = SiteType(
        root,
        f"sqlite:///{root / 'registry.db'}",
        site.tokens,
        root / "logs",
        site.finished_run,
        site.failed_run,
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(copy.config()), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", copy
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = os.environ.get("CIVICML_SCREENSHOTS_DIR")
    out = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


class Visit:
    """One browser context (one person) with axe and screenshots at hand."""

    def __init__(self, browser: Any, base: str, axe_js: str, shots: Path) -> None:
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=True, java_script_enabled=True
        )
        self.page = self.context.new_page()
        self.base, self.axe_js, self.shots = base, axe_js, shots
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        self.page.wait_for_load_state("load")
        return response

    def check(self, name: str, *, full: bool = True) -> None:
        """axe-core (WCAG 2.2 AA) on the current page, then a screenshot named ``name``."""
        self.page.add_script_tag(content=self.axe_js)
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            WCAG,
        )
        violations = result["violations"]
        detail = "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
            for v in violations
        )
        assert violations == [], f"{name} ({self.page.url}):\n{detail}"
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=full)

    def sign_in(self, token: str) -> None:
        """Sign in using only the keyboard."""
        self.go("/sign-in")
        self.page.keyboard.press("Tab")  # the skip link comes first
        assert self.page.evaluate("document.activeElement.className") == "govuk-skip-link"
        self.page.focus("#token")
        self.page.keyboard.type(token)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")
        assert "/sign-in" not in self.page.url

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser: Any, server: tuple[str, Site], axe_js: str, shots: Path) -> Iterator[Any]:
    made: list[Visit] = []

    def make() -> Visit:
        made.append(Visit(browser, server[0], axe_js, shots))
        return made[-1]

    yield make
    for v in made:
        assert v.errors == []
        v.close()


def test_signed_out_pages_are_accessible(visit: Any) -> None:
    v = visit()
    v.go("/models/outreach")
    assert "/sign-in?next=" in v.page.url
    html = v.page.content()
    assert "alice" not in html and "Analytics" not in html and "production" not in html
    v.check("sign-in")
    v.page.fill("#token", "cml_wrong_token")
    with v.page.expect_navigation():
        v.page.click("button[type=submit] >> text=Sign in")
    assert v.page.locator(".govuk-error-summary").is_visible()
    v.check("sign-in-error")
    v.go("/accessibility")
    v.check("accessibility")


def test_every_other_page_is_accessible(visit: Any, server: tuple[str, Site]) -> None:
    v = visit()
    v.sign_in(server[1].tokens["vera"])
    for path, name in [
        ("/models", "models"),
        ("/runs?status=failed", "runs-failed"),
        (f"/runs/{server[1].failed_run}", "run-failed"),
        ("/runs/outreach/2", "run-from-bundle"),
        ("/models/outreach/1/model-card", "model-card"),
        ("/monitoring", "monitoring"),
        ("/monitoring/outreach", "monitoring-model"),
        ("/atrs", "atrs-gaps"),
        ("/models/outreach/99", "not-found"),
    ]:
        v.go(path)
        v.check(name)
    v.go("/models/outreach/1/report")
    v.check("report", full=False)
    v.go("/models/outreach/1/atrs")
    v.check("atrs-record", full=False)


def test_self_approval_is_refused(visit: Any, server: tuple[str, Site]) -> None:
    v = visit()
    v.sign_in(server[1].tokens["alice"])
    v.go("/approvals")
    card = v.page.locator("section.civicml-card", has_text="outreach version 2")
    card.locator("label", has_text="Approve").click()
    card.locator("textarea").fill("I am sure it is fine")
    with v.page.expect_navigation():
        card.locator("button", has_text="Record decision").click()
    summary = v.page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert "two-person rule" in summary.inner_text()
    v.check("self-approval-refused")
    v.go("/models/outreach/2")
    assert "pending approval" in v.page.locator("h1").inner_text()


def test_second_person_approves_and_the_alias_moves(visit: Any, server: tuple[str, Site]) -> None:
    v = visit()
    v.sign_in(server[1].tokens["bob"])
    v.check("projects")
    site = server[1]
    v.go("/runs")
    v.check("runs")
    with v.page.expect_navigation():
        v.page.click(f"a[href='/runs/{site.finished_run}']")
    assert "Leaderboard" in v.page.content()
    assert v.page.locator("td", has_text="±").count() >= 1
    assert "outreach version 1" in v.page.locator("#run-version").inner_text()
    v.check("run")
    v.page.select_option("#compare-with", site.failed_run)
    with v.page.expect_navigation():
        v.page.click("button >> text=Compare")
    assert v.page.locator("#comparison").is_visible()
    assert "outcome_missing" in v.page.locator("#compare-runs").inner_text()
    v.check("run-compare")
    v.go("/models/outreach")
    assert "production → version 1" in v.page.locator("#aliases").inner_text()

    v.go("/approvals")
    v.check("approvals")
    card = v.page.locator("section.civicml-card", has_text="outreach version 2")
    card.locator("label", has_text="Approve").click()
    card.locator("textarea").fill("Report and model card reviewed")
    with v.page.expect_navigation():
        card.locator("button", has_text="Record decision").click()
    assert "Version approved." in v.page.locator(".govuk-notification-banner").inner_text()
    v.page.fill("#promote-reason", "Replaces version 1")
    with v.page.expect_navigation():
        v.page.click("button >> text=Move alias to version 2")
    assert "Alias moved." in v.page.content()
    assert "production" in v.page.locator("#version-aliases").inner_text()
    v.check("version")

    v.go("/models/outreach")
    assert "production → version 2" in v.page.locator("#aliases").inner_text()
    v.check("model")
    v.go("/audit")
    rows = v.page.locator("tbody tr")
    first = rows.nth(0).inner_text()
    assert "bob" in first and "production: 1 → 2" in first
    assert "approve" in rows.nth(1).inner_text() and "bob" in rows.nth(1).inner_text()
    assert "checks out" in v.page.locator("#chain-status").inner_text()
    v.check("audit")
