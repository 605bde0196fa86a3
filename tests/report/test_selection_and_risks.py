"""Selection rationale, ensemble members and protected/stand-in inputs in the report and ATRS."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from civicml.report._summary import input_risks, not_assessed_rows, risks, selection_lines

SELECTION = {
    "comparison": {
        "better": "ensemble",
        "other": "lightgbm",
        "p_value": 0.091,
        "reliable": False,
        "text": "ensemble is not reliably better than lightgbm (corrected t-test p = 0.091); "
        "prefer the simpler of the two if that matters.",
    },
    "ensemble": {"weights": {"lightgbm": 0.6, "random_forest_2": 0.4}},
    "selection": {"chosen": "ensemble", "given_up": None},
}
DESCRIBE = {"tenure": "Years in the lost job", "married": "Married", "region": "Region"}
WHY_MARRIED = "Household circumstances change eligibility; reviewed by the DPO on 1 May 2026."


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(scope="module")
def plain_bundle(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session bundle re-saved as an ensemble that uses `married`, with `describe` and one
    justification in its spec and the selection test in selection.json."""
    from civicml.bundle import load_bundle, save_bundle

    b = load_bundle(bundle_dir)
    docs = {n: b.read_json(n) for n in b.files if n.endswith(".json") and n != "manifest.json"}
    info = docs["model_info.json"]
    info.update(candidate="ensemble", features=[*info["features"], "married"])
    docs["spec.json"]["columns"] = {
        "describe": DESCRIBE,
        "justification": {"married": WHY_MARRIED},
    }
    board = docs["leaderboard.json"]
    board["entries"][0] = {**board["entries"][0], "name": "ensemble"}
    board["entries"].append(
        {"name": "random_forest_2", "rank": 3, "status": "ok", "cv_mean": {"roc_auc": 0.66}}
    )
    docs["selection.json"] = SELECTION
    dest = tmp_path_factory.mktemp("plain") / "bundle"
    save_bundle(
        dest,
        model=b.model,
        documents=docs,
        tables={"reference.parquet": b.read_table("reference.parquet")},
    )
    return dest


@pytest.fixture(scope="module")
def plain_report(plain_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from civicml.report import write_report

    paths = write_report(plain_bundle, tmp_path_factory.mktemp("plain-report"), pdf=False)
    return {
        "html": paths.html.read_text(encoding="utf-8"),
        "atrs": json.loads(paths.atrs_json.read_text(encoding="utf-8")),
        "atrs_html": paths.atrs_html.read_text(encoding="utf-8"),
    }


def test_selection_lines_state_the_test_and_prefer_the_simpler() -> None:
    lines = selection_lines({"candidate": "ensemble"}, {}, SELECTION)
    assert lines[0] == (
        "The chosen model, ensemble, is not reliably better than the runner-up, LightGBM "
        "(corrected t-test over the cross-validation folds, p = 0.091): prefer the simpler "
        "of the two if that matters."
    )
    assert lines[1] == (
        "The ensemble averages LightGBM (weight 0.60) and random forest (candidate 2) "
        "(weight 0.40)."
    )
    reliable = {"comparison": {**SELECTION["comparison"], "reliable": True, "p_value": 0.002}}
    assert "is reliably better than the runner-up" in selection_lines({}, {}, reliable)[0]
    assert selection_lines({"candidate": "linear"}, {}, {}) == []


def test_report_model_section_shows_rationale_and_members(plain_report: dict[str, Any]) -> None:
    html = plain_report["html"]
    section = _text(html[html.index('id="leaderboard"') : html.index('id="performance"')])
    assert "Why this model" in section
    assert "not reliably better than the runner-up, LightGBM" in section
    assert "p = 0.091" in section and "prefer the simpler of the two" in section
    assert "LightGBM (weight 0.60) and random forest (candidate 2) (weight 0.40)" in section
    # the leaderboard gives the plain name with the raw id beside it
    assert "random forest (candidate 2) random_forest_2" in section


def test_atrs_model_fields_hold_rationale_and_members(plain_report: dict[str, Any]) -> None:
    tier2 = plain_report["atrs"]["tier2"]
    model = tier2["tool_specification"]["models"][0]
    assert model["architecture"].startswith("ensemble. The chosen model")
    assert "LightGBM (weight 0.60)" in model["architecture"]
    alts = tier2["description_and_rationale"]["alternatives_considered"]
    assert "p = 0.091" in alts and "prefer the simpler" in alts
    assert "random forest (candidate 2)" in alts


def test_input_risks_name_protected_special_and_stand_in_columns() -> None:
    info = {
        "features": ["age", "sex", "religion_code", "home_post_code", "nwhite", "tenure", "wage"],
        "special_category": {"religion_code": {"category": "religious-or-philosophical-beliefs"}},
    }
    spec = {"protected": {"sex": "sex"}, "columns": {"justification": {"age": "Needed by law."}}}
    by_col = {r["column"]: r for r in input_risks(info, spec)}
    assert set(by_col) == {"age", "sex", "religion_code", "home_post_code", "nwhite"}
    assert "protected characteristic (Equality Act 2010)" in by_col["sex"]["risk"]
    assert "religious or philosophical beliefs, UK GDPR Art. 9" in by_col["religion_code"]["risk"]
    assert "likely stands for race" in by_col["nwhite"]["risk"]
    assert "likely stands for age" in by_col["age"]["risk"]  # age not declared protected here
    assert by_col["age"]["justification"] == "Needed by law."
    assert all("needs a recorded justification" in r["risk"] for r in by_col.values())
    assert input_risks({"features": ["tenure", "wage", "mortgage"]}, {}) == []


def test_risks_quote_the_justification_and_keep_the_risk() -> None:
    info = {"features": ["married", "tenure"]}
    spec = {"columns": {"justification": {"married": "Reviewed by the DPO."}}}
    out = risks(info, {}, [], [], spec)
    married = [r for r in out if "'married'" in r]
    assert len(married) == 1
    assert "likely stands for marriage and civil partnership" in married[0]
    assert married[0].endswith("Justification recorded: “Reviewed by the DPO.”")
    bare = risks(info, {}, [], [], {})
    assert [r for r in bare if "'married'" in r][0].endswith("None is recorded.")


def test_marriage_is_not_no_data_when_married_is_an_input() -> None:
    a = {
        "fairness": {
            "not_assessed": [
                {"characteristic": "marriage_and_civil_partnership", "reason": "not named"},
                {"characteristic": "disability", "reason": "not named"},
            ]
        }
    }
    info = {"features": ["married"]}
    out = risks(info, a, [], [], {})
    no_data = [r for r in out if r.startswith("Not assessed for fairness (no data)")]
    assert no_data == ["Not assessed for fairness (no data): disability."]
    rows = {r["characteristic"]: r for r in not_assessed_rows(info, a)}
    assert rows["marriage_and_civil_partnership"]["input"] == "married"
    assert "although the model uses 'married'" in rows["marriage_and_civil_partnership"]["reason"]


def test_report_and_atrs_list_input_risks(plain_report: dict[str, Any]) -> None:
    html = plain_report["html"]
    summary = _text(html[html.index('id="summary"') : html.index('id="checks"')])
    assert "'Married' (column married) is a direct input of the model and likely stands" in summary
    assert f"Justification recorded: “{WHY_MARRIED}”" in summary
    assert "'age' holds age, a protected characteristic (Equality Act 2010)" in summary
    assert "marriage and civil partnership" not in summary.split("no data")[-1].split(".")[0]
    risks_ = plain_report["atrs"]["tier2"]["risks_mitigations_and_impact_assessments"]["risks"]
    by_text = {r["risk"].split(" ")[0]: r for r in risks_}
    assert by_text["'Married'"]["mitigation"] == f"Justification recorded: {WHY_MARRIED}"
    assert "TO BE COMPLETED" in by_text["'age'"]["mitigation"].upper()


def test_atrs_model_input_gives_plain_and_raw_names(plain_report: dict[str, Any]) -> None:
    model = plain_report["atrs"]["tier2"]["tool_specification"]["models"][0]
    assert (
        model["input"] == "Years in the lost job (tenure), age, Region (region), Married (married)"
    )
