"""Plain words: column names from `columns.describe`, candidate and metric names, a glossary."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from civicml.report._glossary import (
    glossary_rows,
    plain_candidate,
    plain_column,
    plain_group,
    plain_ids,
    plain_metric,
    round_sig,
)
from civicml.report._summary import plain_summary, risks

from .test_selection_and_risks import plain_bundle, plain_report  # noqa: F401  (fixtures)

RAW_IDS = re.compile(r"\b(roc_auc|pr_auc|random_forest_2|balanced_accuracy|log_loss)\b")


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _gap_assessment() -> dict[str, Any]:
    groups = [
        {"group": "nwhite: no / 45 to 54", "selection_rate": 0.98, "n": 80},
        {"group": "nwhite: no / under 25", "selection_rate": 0.79, "n": 60},
    ]
    return {
        "metrics": {"roc_auc": {"value": 0.67}},
        "fairness": {
            "characteristics": [{"kind": "intersection", "name": "race and age", "groups": groups}]
        },
    }


def test_names_in_words() -> None:
    assert plain_candidate("random_forest_2") == "random forest (candidate 2)"
    assert plain_candidate("mlp_2") == "neural network (candidate 2)"
    assert plain_candidate("my_family") == "my family"
    assert plain_metric("pr_auc") == "precision-recall AUC"
    assert plain_metric("custom_score") == "custom score"
    assert plain_column("bluecol", {"bluecol": "Blue-collar job"}) == "Blue-collar job"
    assert plain_column("years_in_job", {}) == "years in job"
    assert plain_group("female / nwhite: no", ["nwhite"], {"nwhite": "Not white"}) == (
        "female / Not white: no"
    )
    assert round_sig(0.0002328898306529193) == "0.00023"
    assert round_sig(0.31) == "0.31" and round_sig(1234.5) == "1,200"
    assert plain_ids("its roc_auc is 0.668") == "its ROC AUC is 0.668"
    assert [r["id"] for r in glossary_rows(["pr_auc", "roc_auc"])] == ["roc_auc", "pr_auc"]


def test_summary_uses_describe_and_falls_back_to_readable_names() -> None:
    info = {
        "task": "binary",
        "target": "ui",
        "positive_label": "yes",
        "features": ["nwhite", "age"],
    }
    spec = {
        "protected": {"race": "nwhite", "age": "age"},
        "columns": {"describe": {"nwhite": "Not white", "ui": "Received benefits"}},
    }
    text = " ".join(plain_summary(info, _gap_assessment(), spec))
    assert "98% of Not white: no / 45 to 54 and 79% of Not white: no / under 25" in text
    assert "nwhite" not in text
    bare = " ".join(plain_summary({**info, "target": "took_up"}, _gap_assessment(), {}))
    assert "nwhite: no / 45 to 54" in bare  # no describe: the raw value, still readable


def test_check_evidence_in_risks_uses_metric_words() -> None:
    checks = [
        {
            "name": "beats_baseline",
            "passed": False,
            "evidence": "its roc_auc is 0.668 against 0.500; pr_auc 0.79",
        }
    ]
    out = risks({}, {}, checks, [], {})
    assert out[0] == (
        "Check 'beats_baseline' failed: its ROC AUC is 0.668 against 0.500; "
        "precision-recall AUC 0.79"
    )


def test_report_prose_has_plain_names_and_tables_keep_raw_ones(
    plain_report: dict[str, Any],  # noqa: F811
) -> None:
    html = plain_report["html"]
    summary = _text(html[html.index('id="summary"') : html.index('id="checks"')])
    assert not RAW_IDS.search(summary), RAW_IDS.search(summary)
    columns = html[html.index('id="data"') : html.index('id="personal-data"')]
    assert "Years in the lost job <code>tenure</code>" in columns
    assert "Region <code>region</code>" in columns
    perf = html[html.index('id="performance"') : html.index('id="threshold"')]
    assert "ROC AUC <code>roc_auc</code>" in perf


def test_report_has_a_glossary(plain_report: dict[str, Any]) -> None:  # noqa: F811
    html = plain_report["html"]
    glossary = _text(html[html.index('id="glossary"') : html.index('id="about"')])
    assert glossary.startswith('id="glossary" aria-labelledby="glossary-h"> Glossary')
    assert "ROC AUC roc_auc How well the scores rank" in glossary
    assert "selection rate selection_rate The share of a group the model flags." in glossary


def test_report_without_describe_uses_readable_raw_names(report_dir: Any) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    summary = _text(html[html.index('id="summary"') : html.index('id="checks"')])
    assert not RAW_IDS.search(summary)
    assert "tenure" in _text(html[html.index('id="data"') : html.index('id="personal-data"')])


def test_proxy_risk_names_the_column_plainly() -> None:
    a = {
        "proxies": [{"feature": "head", "characteristic": "sex", "strength": 0.55, "flagged": True}]
    }
    spec = {"columns": {"describe": {"head": "Head of household"}}}
    assert risks({}, a, [], [], spec)[0].startswith(
        "'Head of household' (column head) predicts sex (strength 0.55)"
    )
    assert risks({}, a, [], [], {})[0].startswith("'head' predicts sex")
