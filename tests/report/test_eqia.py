"""The Equality Impact Assessment export: nine characteristics, each in the right state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from civicml.spec import EQUALITY_ACT_CHARACTERISTICS

from .test_browser import _axe, _describe, _open, axe_js, browser  # noqa: F401  (fixtures)

MARKER = "TO BE COMPLETED BY A PERSON"
NAMES = [
    "Age",
    "Disability",
    "Gender reassignment",
    "Marriage and civil partnership",
    "Pregnancy and maternity",
    "Race",
    "Religion or belief",
    "Sex",
    "Sexual orientation",
]


def variant(bundle_dir: Path, dest: Path, **spec_changes: Any) -> Path:
    """A copy of the fixture bundle (same model, same assessment) with a changed spec."""
    from civicml.bundle import load_bundle, save_bundle

    b = load_bundle(bundle_dir)
    docs = {
        n: b.read_json(n)
        for n in (
            "model_info.json",
            "spec.json",
            "contract.json",
            "leaderboard.json",
            "metrics.json",
            "lineage.json",
            "personal_data.json",
            "assessment.json",
            "checks.json",
        )
    }
    docs["spec.json"] = {**docs["spec.json"], **spec_changes}
    ref = pd.read_parquet(bundle_dir / "reference.parquet")
    save_bundle(dest, model=b.model, documents=docs, tables={"reference.parquet": ref})
    return dest


def states_in_markdown(text: str) -> dict[str, str]:
    """Characteristic -> state, from the Markdown summary table."""
    rows = re.findall(r"^\| ([A-Z][a-z ]+) \| (Assessed|Not available|Not relevant) \|", text, re.M)
    return dict(rows)


@pytest.fixture(scope="module")
def decided(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Race named but absent from the data; pregnancy judged not relevant; age mitigated."""
    return variant(
        bundle_dir,
        tmp_path_factory.mktemp("eqia") / "bundle",
        protected={"sex": "sex", "age": "age", "race": "ethnicity"},
        equality={
            "not_relevant": {
                "pregnancy_and_maternity": "Only the 70-and-over pension top-up is scored."
            },
            "mitigations": {"age": "Caseworkers review every under-25 referral by hand."},
        },
    )


def test_writes_html_and_markdown_with_all_nine(bundle_dir: Path, tmp_path: Path) -> None:
    from civicml.report import write_eqia

    paths = write_eqia(bundle_dir, tmp_path)
    html = paths.html.read_text(encoding="utf-8")
    md = paths.markdown.read_text(encoding="utf-8")
    assert paths.html.name == "eqia.html" and paths.markdown.name == "eqia.md"
    states = states_in_markdown(md)
    assert list(states) == NAMES
    assert states["Sex"] == states["Age"] == "Assessed"
    assert {states[n] for n in NAMES if n not in ("Sex", "Age")} == {"Not available"}
    for name in NAMES:
        assert f'id="c-{name.lower().replace(" ", "_")}"' in html or name in html
    assert all(f'id="c-{c}"' in html for c in EQUALITY_ACT_CHARACTERISTICS)
    # group outcomes with intervals, from the fixture's real fairness results
    assert re.search(r"\| female \| \d+ \| \d+% \(\d+% to \d+%\) \|", md)
    assert "Selected (positive decision)" in html
    # the mitigations part holds markers a person must fill
    mitigations = md.split("## Mitigations", 1)[1]
    assert mitigations.count(MARKER) >= 4
    assert 'class="app-needs-human"' in html.split('id="mitigations"', 1)[1]


def test_html_is_offline_and_has_one_page_shape(bundle_dir: Path, tmp_path: Path) -> None:
    from civicml.report import write_eqia

    html = write_eqia(bundle_dir, tmp_path).html.read_text(encoding="utf-8")
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)
    assert '<html lang="en-GB">' in html and html.count("<h1") == 1
    assert "<style>" in html  # the GOV.UK stylesheet is inline


def test_flagged_gaps_are_listed_with_their_mitigation(bundle_dir: Path, tmp_path: Path) -> None:
    from civicml.bundle import verify_bundle
    from civicml.report import eqia_context

    ctx = eqia_context(verify_bundle(bundle_dir))
    warnings = [
        w
        for t in verify_bundle(bundle_dir).read_json("assessment.json")["fairness"][
            "characteristics"
        ]
        if t["kind"] == "single"
        for w in t["warnings"]
        if "fewer than" not in w
    ]
    assert warnings, "the fixture should flag at least one gap"
    assert [f["gap"] for f in ctx["flagged"]] == warnings
    assert {f["mitigation"] for f in ctx["flagged"]} == {MARKER}


def test_not_relevant_and_missing_column_and_recorded_mitigation(
    decided: Path, tmp_path: Path
) -> None:
    from civicml.report import write_eqia

    paths = write_eqia(decided, tmp_path)
    md = paths.markdown.read_text(encoding="utf-8")
    html = paths.html.read_text(encoding="utf-8")
    states = states_in_markdown(md)
    assert states["Pregnancy and maternity"] == "Not relevant"
    assert states["Race"] == "Not available"
    assert "Only the 70-and-over pension top-up is scored." in md
    assert "Only the 70-and-over pension top-up is scored." in html
    race = md.split("### Race", 1)[1].split("###", 1)[0]
    assert "'ethnicity'" in race  # says which column is missing, not "not named"
    age_rows = [line for line in md.splitlines() if line.startswith("| Age |")]
    assert age_rows and all("Caseworkers review" in r for r in age_rows[1:])


@pytest.mark.parametrize(
    ("equality", "words"),
    [
        ({"not_relevant": {"star_sign": "Not a thing."}}, "not a protected characteristic"),
        ({"not_relevant": {"disability": "  "}}, "gives no reason"),
        ({"not_relevant": ["disability"]}, "not a mapping"),
    ],
)
def test_bad_equality_section_is_refused(
    bundle_dir: Path, tmp_path: Path, equality: Any, words: str
) -> None:
    from civicml._errors import SpecError
    from civicml.report import write_eqia

    bad = variant(bundle_dir, tmp_path / "bundle", equality=equality)
    with pytest.raises(SpecError, match=words):
        write_eqia(bad, tmp_path / "out")
    assert not (tmp_path / "out" / "eqia.html").exists()


def test_cli_writes_eqia_and_refuses_bad_input(bundle_dir: Path, tmp_path: Path) -> None:
    from civicml.cli._report import report_app

    runner = CliRunner()
    ok = runner.invoke(report_app, ["eqia", str(bundle_dir), "-o", str(tmp_path / "o")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "o" / "eqia.html").is_file() and (tmp_path / "o" / "eqia.md").is_file()
    bad = runner.invoke(report_app, ["eqia", str(tmp_path / "nope"), "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert len(bad.output.strip().splitlines()) == 1, bad.output


def test_cli_report_bundle_still_means_the_full_report(bundle_dir: Path, tmp_path: Path) -> None:
    from civicml.cli._report import report_app

    out = tmp_path / "r"
    res = CliRunner().invoke(
        report_app, [str(bundle_dir), "-o", str(out), "--no-pdf", "--project-dir", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    # the full report writes the equality impact assessment beside itself, linked from it
    assert (out / "report.html").is_file() and (out / "eqia.html").is_file()
    assert 'href="eqia.html"' in (out / "report.html").read_text(encoding="utf-8")


def test_eqia_page_has_no_wcag22_aa_violations(browser, axe_js, decided, tmp_path):  # noqa: F811
    from civicml.report import write_eqia

    page, errors, requests = _open(browser, write_eqia(decided, tmp_path).html)
    assert errors == []
    assert all(u.startswith(("file:", "data:", "about:")) for u in requests), requests
    violations = _axe(page, axe_js)
    page.close()
    assert violations == [], _describe(violations)
