"""The report survives printing (A4, a cover with the summary, no stranded headings) and small
screens (no sideways scrolling at 320 CSS px, WCAG 2.2 1.4.10 Reflow), checked in Chromium.

Skips like test_browser.py when Chromium or Playwright is missing, unless
CIVICML_REQUIRE_BROWSER=1 (CI), where a missing tool fails the test.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from .test_browser import ARGS, CHROMIUM, _need

#: A4 in PostScript points (210 × 297 mm)
A4 = (595.3, 841.9)
#: the small fixture report prints to about ten pages; a broken layout (one table a page, or
#: sections squeezed onto one) leaves this range
PAGES = (4, 20)


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
def pdf_pages(report_dir, tmp_path_factory) -> list[tuple[tuple[float, float], str]]:
    """The report printed as civicml prints it (headless Chromium): each page's size and text."""
    _need(Path(CHROMIUM).exists(), "Chromium at /usr/bin/chromium")
    pypdf = pytest.importorskip("pypdf")
    from civicml.report import render_pdf

    target = tmp_path_factory.mktemp("pdf") / "report.pdf"
    ok, note = render_pdf(report_dir.html, target)
    assert ok, note
    reader = pypdf.PdfReader(str(target))
    return [
        ((float(p.mediabox.width), float(p.mediabox.height)), p.extract_text() or "")
        for p in reader.pages
    ]


def _norm(text: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _headings(html: str) -> list[str]:
    return [_norm(h) for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", html, flags=re.S)]


def test_pdf_is_a4_and_a_sensible_length(pdf_pages) -> None:
    for size, _ in pdf_pages:
        assert size == pytest.approx(A4, abs=1.0), f"page size {size} is not A4 {A4}"
    assert PAGES[0] <= len(pdf_pages) <= PAGES[1], len(pdf_pages)


def test_cover_page_carries_the_title_and_the_summary(pdf_pages, report_dir) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    summary = html.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    first = _norm(re.search(r"<p[^>]*>(.*?)</p>", summary, flags=re.S).group(1))
    after = html.split('<section id="summary"', 1)[1].split("</section>", 1)[1]
    next_heading = _headings(after)[0]
    cover = " ".join(pdf_pages[0][1].split())
    assert "benefits-mini" in cover
    assert "Summary" in cover and first[:40] in cover, cover[:400]
    # the cover ends with the summary: the next section starts a new page
    assert next_heading not in " ".join(text for _, text in pdf_pages[:1])
    assert any(" ".join(t.split()).startswith(next_heading) for _, t in pdf_pages[1:])


def test_no_heading_is_the_last_thing_on_a_page(pdf_pages, report_dir) -> None:
    headings = set(_headings(report_dir.html.read_text(encoding="utf-8")))
    assert "Fairness by group" in headings and len(headings) > 10
    stranded = []
    for number, (_, text) in enumerate(pdf_pages[:-1], start=1):
        tail = " ".join(text.split())
        if any(h and tail.endswith(h) for h in headings):
            stranded.append((number, tail[-80:]))
    assert stranded == [], f"headings left at the foot of a page: {stranded}"


def _scroll_widths(browser, path: Path) -> dict[str, int]:
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    widths = page.evaluate(
        """() => ({scroll: document.documentElement.scrollWidth,
                   client: document.documentElement.clientWidth,
                   body: document.body.scrollWidth,
                   wide: [...document.querySelectorAll('body *')]
                     .filter(e => !e.closest('.app-table-wrap') &&
                                  e.getBoundingClientRect().right > 321)
                     .slice(0, 5).map(e => e.tagName + '.' + e.className + ': '
                                      + (e.textContent || '').slice(0, 40))})"""
    )
    page.close()
    return widths


@pytest.mark.parametrize("which", ["html", "atrs_html"])
def test_no_sideways_scrolling_at_320_px(browser, report_dir, which) -> None:
    w = _scroll_widths(browser, getattr(report_dir, which))
    assert w["client"] == 320
    assert w["scroll"] <= w["client"] and w["body"] <= w["client"], w


def test_wide_tables_scroll_in_a_labelled_focusable_region(browser, report_dir) -> None:
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(report_dir.html.resolve().as_uri())
    regions = page.evaluate(
        """() => [...document.querySelectorAll('table')].map(t => {
             const r = t.parentElement;
             return {role: r.getAttribute('role'), label: r.getAttribute('aria-label'),
                     tab: r.tabIndex, scrolls: r.scrollWidth > r.clientWidth};
           })"""
    )
    page.close()
    assert regions and all(r["role"] == "region" and r["label"] and r["tab"] == 0 for r in regions)
    # at 320 px some tables (fairness rates) are wider than the screen: they scroll on their own
    assert any(r["scrolls"] for r in regions), regions


def _ticks(svg: str, axis: str) -> list[tuple[str, str]]:
    """Each tick's label and position on ``axis`` ("x" or "y"), as drawn in the SVG."""
    found = re.findall(
        rf'{axis}tick_\d+">.*?<text[^>]*\s{axis}="([-\d.]+)"[^>]*>([^<]*)</text>', svg, flags=re.S
    )
    return [(label, pos) for pos, label in found]


def _width(svg: str) -> str:
    return re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1)


def test_charts_of_one_kind_share_one_scale() -> None:
    from civicml.report._plots import fairness_svg, line_svg, roc_svg, shared_range

    def table(name: str, labels: list[str]) -> dict:
        return {
            "name": name,
            "groups": [
                {"group": g, "n": 40, "small": False, "selection_rate": 0.3 + 0.1 * i}
                for i, g in enumerate(labels)
            ],
        }

    short = fairness_svg("f1", table("sex", ["f", "m"]))
    long = fairness_svg("f2", table("age", ["a very long group name indeed", "b", "c", "d"]))
    assert _width(short) == _width(long)  # same figure width, whatever the labels
    assert _ticks(short, "x") == _ticks(long, "x") != []  # 0 to 1 drawn at the same place
    assert 'class="app-plot app-plot--rows"' in short
    roc = roc_svg({"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]}, 0.7)
    assert 'class="app-plot app-plot--curve"' in roc and _ticks(roc, "x")[0][0] == "0.0"
    items = [
        {"feature": "x", "kind": "numeric", "grid": [1, 2, 3], "average": [0.1, 0.2, 0.3]},
        {"feature": "z", "kind": "numeric", "grid": [1, 2, 3], "average": [0.5, 0.6, 0.9]},
    ]
    ylim = shared_range([i["average"] for i in items])
    a, b = (line_svg(f"pd{i}", it, ylabel="P", ylim=ylim) for i, it in enumerate(items))
    assert _ticks(a, "y") == _ticks(b, "y") != []


def test_table_and_chart_give_the_same_95_percent_interval(report_dir) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    # the fixture's leader: roc_auc 0.700, sd 0.02 over the folds → 0.661 to 0.739 in both
    assert "0.661 to 0.739" in html.split('<section id="leaderboard"')[1].split("<svg")[0]
    assert "linear model 0.700 (95% interval 0.661 to 0.739)" in html  # plain candidate names
    assert "± 1 sd" not in html and "one standard deviation" not in html


def test_model_card_as_the_dashboard_shows_it_reflows_at_320_px(
    browser, report_dir, tmp_path
) -> None:
    """The dashboard renders model_card.md with markdown-it, wraps its tables (as
    civicml.web's model-card page does) and styles it with the dashboard's stylesheets."""
    from markdown_it import MarkdownIt

    import civicml.web
    from civicml.report import split_front_matter, wrap_tables

    static = Path(civicml.web.__file__).parent / "static"
    css = "".join((static / n).read_text("utf-8") for n in ("civicml-govuk.css", "civicml.css"))
    _, text = split_front_matter(report_dir.model_card.read_text(encoding="utf-8"))
    body = wrap_tables(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))
    page = tmp_path / "model_card.html"
    page.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>Card</title><style>{css}</style>'
        f'</head><body><main class="govuk-width-container"><div class="civicml-prose">{body}'
        "</div></main></body></html>",
        encoding="utf-8",
    )
    assert body.count('role="region"') == body.count("<table") > 3
    w = _scroll_widths(browser, page)
    assert w["scroll"] <= w["client"] == 320, w
