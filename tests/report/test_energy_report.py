"""Energy and carbon in the report, the model card and the ATRS record (issue 11)."""

from __future__ import annotations

import json

from civicml.report import ATRSRecord, missing_fields
from civicml.report._render import energy_context

from .conftest import ENERGY, TRADED

SENTENCE = (
    "Training used about 0.31 kWh, roughly 74 g CO₂e — about the same as boiling a kettle 3 times."
)


def test_report_html_has_the_energy_sentence_table_and_trade(report_dir) -> None:
    html = report_dir.html.read_text(encoding="utf-8")
    assert '<section id="energy"' in html
    assert SENTENCE in html
    assert "1,000 predictions use about 0.0042 Wh" in html
    assert "0.31 kWh" in html and "73.6 g CO₂e" in html and "AMD EPYC" in html
    assert "apportioned by fit time" in html
    assert "What selection traded: " + TRADED in html


def test_model_card_has_energy_section(report_dir) -> None:
    card = report_dir.model_card.read_text(encoding="utf-8")
    assert "## Energy and carbon" in card
    assert SENTENCE in card
    assert "| training energy (search, refit, assessment) | 0.31 kWh |" in card
    assert "| energy per 1,000 predictions | 0.0042 Wh" in card
    assert f"Selection: {TRADED}" in card


def test_atrs_tool_specification_records_energy_and_stays_valid(report_dir) -> None:
    doc = json.loads(report_dir.atrs_json.read_text(encoding="utf-8"))
    energy = doc["tier2"]["tool_specification"]["energy"]
    assert energy["training_energy_kwh"] == ENERGY["energy_kwh"]
    assert energy["training_emissions_g_co2e"] == ENERGY["emissions_g"]
    assert energy["energy_per_1000_predictions_wh"] == 0.0042
    assert energy["country"] == "GBR" and "AMD EPYC" in energy["method"]
    assert energy["summary"].startswith(SENTENCE)
    record = ATRSRecord.model_validate(doc)
    assert not any("energy" in f for f in missing_fields(record))
    assert "Energy and carbon" in report_dir.atrs_html.read_text(encoding="utf-8")


def test_energy_context_handles_an_unmeasured_run() -> None:
    ctx = energy_context({"method": "unavailable", "reason": "no power data"}, {"entries": []})
    assert ctx is not None
    assert ctx["sentence"] == "Training energy was not measured: no power data."
    assert ctx["predict_sentence"] is None
