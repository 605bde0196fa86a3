"""Look at the report as a person would: headless Chromium, a screenshot, axe-core (WCAG 2.2 AA).

Skips when Chromium, Playwright or axe-core are missing, unless CIVICML_REQUIRE_BROWSER=1 (CI),
where a missing tool fails the test. axe-core comes from ``npm install axe-core`` run in
tests/report (node_modules is git-ignored) or from $CIVICML_AXE_JS.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
AXE_CANDIDATES = [
    os.environ.get("CIVICML_AXE_JS", ""),
    str(Path(__file__).parent / "node_modules/axe-core/axe.min.js"),
    str(Path(__file__).parents[2] / "node_modules/axe-core/axe.min.js"),
]
SECTIONS = [
    "summary",
    "checks",
    "data",
    "personal-data",
    "leaderboard",
    "performance",
    "threshold",
    "importance",
    "fairness",
    "about",
]


def _need(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CIVICML_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"{what} is required (CIVICML_REQUIRE_BROWSER=1) but missing")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def browser():
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
def axe_js() -> str:
    path = next((p for p in AXE_CANDIDATES if p and Path(p).exists()), None)
    _need(path is not None, "axe-core (npm install axe-core)")
    return Path(path).read_text(encoding="utf-8")


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def _axe(page, axe_js: str) -> list[dict]:
    page.add_script_tag(content=axe_js)
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    return result["violations"]


def _describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes'][:3]]}"
        for v in violations
    )


def test_report_renders_offline_with_every_section(browser, report_dir, tmp_path_factory):
    page, errors, requests = _open(browser, report_dir.html)
    assert errors == []
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
    for s in SECTIONS:
        assert page.locator(f"section#{s}").is_visible(), s
    assert page.locator("h1").count() == 1
    assert page.locator("svg[role=img]").count() >= 5
    shots = Path(os.environ.get("CIVICML_SCREENSHOTS", tmp_path_factory.mktemp("shots")))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=str(shots / "report-top.png"))
    assert (shots / "report.png").stat().st_size > 10_000
    page.close()


def test_report_has_no_wcag22_aa_violations(browser, axe_js, report_dir):
    page, _, _ = _open(browser, report_dir.html)
    violations = _axe(page, axe_js)
    page.close()
    assert violations == [], _describe(violations)


def test_atrs_page_has_no_wcag22_aa_violations(browser, axe_js, report_dir):
    page, errors, _ = _open(browser, report_dir.atrs_html)
    assert errors == []
    violations = _axe(page, axe_js)
    page.close()
    assert violations == [], _describe(violations)
