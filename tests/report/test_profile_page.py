"""The profile page: every chart an inline SVG with a text alternative, names from the data
escaped, nothing fetched, and (where Chromium and axe-core are installed) no WCAG 2.2 AA
violation."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from civicml.data import profile_data
from civicml.report import bars_svg, profile_page, write_profile_page

HOSTILE = '<script>alert("x")</script>'
CHROMIUM = "/usr/bin/chromium"
AXE = [
    os.environ.get("CIVICML_AXE_JS", ""),
    str(Path(__file__).parent / "node_modules/axe-core/axe.min.js"),
]


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> dict:
    rng = np.random.default_rng(1)
    n = 200
    df = pd.DataFrame(
        {
            "income": rng.gamma(2, 900, n),
            HOSTILE: rng.choice(["a & b", "<b>bold</b>", "c"], n),
            "notes": [
                f"The applicant wrote about housing need number {i} at length" for i in range(n)
            ],
            "when": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "ok": rng.integers(0, 2, n),
        }
    )
    df.loc[:20, "income"] = np.nan
    path = tmp_path_factory.mktemp("page") / "d.csv"
    df.to_csv(path, index=False)
    return profile_data(path, target="ok")


@pytest.fixture(scope="module")
def page_file(profile: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile_page(profile, tmp_path_factory.mktemp("html") / "profile.html")


def test_every_chart_has_a_text_alternative(profile: dict) -> None:
    html = profile_page(profile)
    svgs = re.findall(r"<svg[^>]*>.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 5  # missingness, histogram, categories ×2, target ×2
    ids = []
    for svg in svgs:
        m = re.match(r'<svg role="img" aria-labelledby="(t-[\w-]+) (d-[\w-]+)"', svg)
        assert m, svg[:120]
        assert f'<title id="{m.group(1)}">' in svg and f'<desc id="{m.group(2)}">' in svg
        ids += [m.group(1), m.group(2)]
    assert len(ids) == len(set(ids)), "chart ids must be unique on the page"
    desc = re.search(r'<desc id="d-missing">(.*?)</desc>', html).group(1)
    assert "income: 10.5%" in desc  # 21 of 200 rows missing, stated as text


def test_names_and_values_from_the_data_are_escaped(profile: dict) -> None:
    html = profile_page(profile)
    assert "<script" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "a &amp; b" in html
    assert "housing need number" not in html  # free text never shown


def test_page_is_offline_and_private(page_file: Path) -> None:
    html = page_file.read_text()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert (page_file.stat().st_mode & 0o077) == 0
    assert html.count("<h1") == 1 and 'lang="en-GB"' in html


def test_bars_svg_scale_and_empty() -> None:
    svg = bars_svg("k", "T", [("a", 50.0)], unit="%", scale=100.0)
    assert 'width="165.0"' in svg and "a: 50.0%" in svg
    assert "no data" in bars_svg("e", "Empty", [])


def test_profile_page_passes_axe(page_file: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    axe_path = next((p for p in AXE if p and Path(p).exists()), None)
    if axe_path is None:
        pytest.skip("axe-core is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.resolve().as_uri())
        page.add_script_tag(content=Path(axe_path).read_text(encoding="utf-8"))
        result = page.evaluate(
            """async () => await axe.run(document, {runOnly: {type: 'tag',
                values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
        )
        browser.close()
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
    violations = [(v["id"], [n["target"] for n in v["nodes"][:3]]) for v in result["violations"]]
    assert violations == []


def test_full_mode_sections_state_their_numbers_as_text(profile: dict) -> None:
    html = profile_page(profile)
    for heading in (
        "Missing values together",
        "Duplicates and outliers",
        "Correlations between numeric columns",
        "Associations",
    ):
        assert f">{heading}</h2>" in html
    pair = profile["correlations"]["pairs"][0]
    desc = re.search(r'<desc id="d-cor-spearman">(.*?)</desc>', html).group(1)
    assert desc == f"income and ok: {pair['spearman']:.2f}"
    patterns = re.search(r'<desc id="d-patterns">(.*?)</desc>', html).group(1)
    assert "nothing missing: 89.5%" in patterns and "income: 10.5%" in patterns
    eta = re.search(r'<desc id="d-eta">(.*?)</desc>', html).group(1)
    assert "income by &lt;script&gt;" in eta  # a hostile column name stays text


def test_minimal_profile_page_says_what_it_skipped(profile: dict) -> None:
    slim = {
        k: v
        for k, v in profile.items()
        if k not in ("missing_patterns", "correlations", "associations")
    }
    html = profile_page({**slim, "mode": "minimal"})
    assert "Correlations between numeric columns" not in html
    assert "minimal: per-column statistics only" in html
    assert ">Duplicates and outliers</h2>" in html  # counted in both modes


def test_group_representation_beside_reference_shares(tmp_path: Path) -> None:
    df = pd.DataFrame({"sex": ["F"] * 30 + ["M"] * 70, "x": range(100)})
    df.to_csv(tmp_path / "g.csv", index=False)
    p = profile_data(tmp_path / "g.csv", reference_shares={"sex": {"F": 0.51, "M": 0.49}})
    html = profile_page(p)
    desc = re.search(r'<desc id="d-rep-0">(.*?)</desc>', html).group(1)
    assert desc == (  # most rows first
        "M in the data: 70.0%; M reference: 49.0%; F in the data: 30.0%; F reference: 51.0%"
    )
    assert "-21.0 points" in html and "+21.0 points" in html


def test_matrix_svg_cells_print_their_values() -> None:
    from civicml.report._profile_page import matrix_svg

    svg = matrix_svg("m", "T", ["a", "b", "c"], {("a", "b"): -0.5, ("c", "b"): None})
    assert "a and b: -0.50" in svg and "b and c: not defined" in svg and "a and c: not" in svg
    assert svg.count("<rect") == 9 and ">-0.50<" in svg and ">–<" in svg
