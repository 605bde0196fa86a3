"""The model card has every section of Mitchell et al. (2019) and a YAML header a model hub reads."""

from __future__ import annotations

import doctest
import importlib
import json
import re

import pytest
import yaml

from civicml.report import CARD_SECTIONS, bandit_model_card, model_card, split_front_matter

MITCHELL = (
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
)

INTERSECTION = {
    "name": "sex × age",
    "kind": "intersection",
    "groups": [
        {
            "group": "female / under 25",
            "n": 12,
            "small": True,
            "selection_rate": 0.5,
            "recall": 0.6,
        },
        {"group": "male / 25 to 34", "n": 40, "small": False, "selection_rate": 0.3, "recall": 0.7},
    ],
}


def _headings(card: str) -> list[str]:
    return re.findall(r"^##+ (.+)$", card, flags=re.M)


def test_written_card_has_every_section_in_order(report_dir) -> None:
    card = report_dir.model_card.read_text(encoding="utf-8")
    heads = [h for h in _headings(card) if h in CARD_SECTIONS]
    assert heads == list(CARD_SECTIONS)
    assert set(MITCHELL) <= set(CARD_SECTIONS)
    body = split_front_matter(card)[1]
    assert "- Owner: Example Department, Analytics, Director" in body
    assert "- Contact: team@example.gov.uk" in body
    assert "- Source: mini.csv" in body
    # the spec gives no licence for the data or the model: the card says so, never invents one
    assert "- Licence: not recorded" in body
    assert "Prioritising outreach" in body and "Deciding anyone's entitlement" in body
    assert "sex (column `sex`)" in body  # factors name the groups evaluated
    assert "`roc_auc` (how well the scores rank" in body  # metrics say why
    assert "### Intersections" in body and "### Test performance" in body


def test_yaml_header_parses_and_carries_the_test_metrics(report_dir, bundle_dir) -> None:
    card = report_dir.model_card.read_text(encoding="utf-8")
    assert card.startswith("---\n")
    header = card.split("---\n")[1]
    meta = yaml.safe_load(header)
    assert meta == split_front_matter(card)[0]
    assert meta["model_name"] == "benefits-mini"
    assert meta["license"] == "other" and meta["license_name"] == "not recorded"
    assert meta["language"] == ["en"] and "civicml" in meta["tags"]
    assert meta["datasets"] == ["mini.csv"]
    assessment = json.loads((bundle_dir / "assessment.json").read_text(encoding="utf-8"))
    expected = {k: round(v["value"], 4) for k, v in assessment["metrics"].items()}
    result = meta["model-index"][0]["results"][0]
    got = {m["type"]: m["value"] for m in result["metrics"]}
    assert got == expected and "roc_auc" in got
    assert meta["metrics"] == list(expected)
    roc = next(m for m in result["metrics"] if m["type"] == "roc_auc")
    assert roc["ci_95"][0] <= roc["value"] <= roc["ci_95"][1]
    assert result["dataset"]["split"] == "test"


def test_intersections_and_unrecorded_facts_from_a_bare_context() -> None:
    ctx = {
        "info": {"name": "m", "task": "binary", "target": "y", "candidate": "linear"},
        "spec": {"license": "OGL-UK-3.0", "data_license": "OGL-UK-3.0"},
        "assessment": {"fairness": {"characteristics": [INTERSECTION]}},
        "summary": ["Hello."],
        "risks": [],
        "checks": [{"name": "min_roc_auc", "passed": None, "evidence": "no limit set"}],
        "lineage": {},
        "digest": "ab" * 32,
    }
    meta, body = split_front_matter(model_card(ctx))
    assert meta["license"] == "OGL-UK-3.0" and meta["model-index"][0]["results"][0]["metrics"] == []
    assert "| sex × age | female / under 25 (small) | 12 | 50% | 60% |" in body
    assert "- Licence: OGL-UK-3.0" in body
    assert "- Owner: not recorded" in body and "- Contact: not recorded" in body
    assert "- Source: not recorded" in body
    assert "- NOT CHECKED `min_roc_auc`: no limit set" in body  # never shown as a pass
    assert [h for h in _headings(body) if h in CARD_SECTIONS] == list(CARD_SECTIONS)


def test_split_front_matter_leaves_a_card_without_one_alone() -> None:
    assert split_front_matter("# Model card: x\n") == ({}, "# Model card: x\n")
    assert split_front_matter("---\nunclosed: 1\n# x\n") == ({}, "---\nunclosed: 1\n# x\n")


def test_bandit_model_card_still_works() -> None:
    rep = {
        "name": "letters",
        "spec": {"arms": ["a", "b"], "context": ["x"]},
        "policy": {"policy": "linucb", "min_propensity": 0.05},
        "policy_version": 1,
        "decisions": 10,
        "rewarded": 4,
        "arms": [],
        "ope": [],
        "policy_history": [],
    }
    card = bandit_model_card({"report": rep, "checks": [], "summary": ["Hi."], "digest": "a"})
    assert card.startswith("# Model card: letters (adaptive trial)")
    for h in ("## Trial details", "## Off-policy evaluation", "## Promotion checks", "## Approval"):
        assert h in card


@pytest.mark.parametrize(
    "module", ["civicml.report._model_card", "civicml.report._plots", "civicml.report._render"]
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
