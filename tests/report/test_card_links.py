"""The model card and the ATRS record's data section link the dataset card and profile that
``civicml run`` writes beside the report, one per file source, and none for a source it does
not profile."""

from __future__ import annotations

import pytest

from civicml.report._atrs_parts import data_specification, dataset_cards_text
from civicml.report._model_card import dataset_card_links, model_card

CTX = {
    "info": {"name": "m", "task": "binary", "target": "y", "candidate": "linear"},
    "assessment": {},
    "summary": ["Hello."],
    "risks": [],
    "checks": [],
    "lineage": {},
    "digest": "abc",
}


def test_one_link_per_file_source() -> None:
    spec = {
        "sources": {
            "people": {"path": "data/people.csv"},
            "visits": {"path": "data/visits.parquet", "format": "parquet"},
            "folder": {"path": "data/parts"},  # a folder of files: profiled too
            "sheet": {"path": "data/s.xlsx", "format": "excel"},
            "auto_sheet": {"path": "data/s.xlsx"},  # auto, but not a format DuckDB reads
            "lines": {"path": "data/l.jsonl", "format": "jsonl"},
            "query": {"sql": "SELECT 1"},
        }
    }
    links = dataset_card_links(spec)
    assert [x["source"] for x in links] == ["people", "visits", "folder"]
    assert links[0] == {
        "source": "people",
        "card": "data/people/dataset_card.md",
        "profile": "data/people/profile.html",
    }


def test_single_table_is_the_source_named_data() -> None:
    assert dataset_card_links({"data": {"path": "claims.csv.gz"}})[0]["card"] == (
        "data/data/dataset_card.md"
    )
    assert dataset_card_links({}) == []
    assert dataset_card_links({"data": {"sql": "SELECT 1"}}) == []


@pytest.mark.parametrize("name", ["..", "../../etc", "a b", "x)(y", "[t](javascript:alert(1))"])
def test_a_name_the_spec_forbids_gets_no_link(name: str) -> None:
    """A hand-edited spec.json cannot make a link leave data/ or break the Markdown."""
    spec = {"sources": {name: {"path": "a.csv"}, "ok_1": {"path": "b.csv"}}}
    assert [x["source"] for x in dataset_card_links(spec)] == ["ok_1"]


def test_model_card_links_each_dataset_card() -> None:
    spec = {"sources": {"people": {"path": "p.csv"}, "q": {"sql": "SELECT 1"}}}
    card = model_card({**CTX, "spec": spec})
    training = card.split("## Training data", 1)[1].split("\n## ", 1)[0]
    assert (
        "- Dataset card of `people`: [data/people/dataset_card.md](data/people/dataset_card.md) "
        "(exploratory analysis: [data/people/profile.html](data/people/profile.html))"
    ) in training
    assert "data/q/" not in card
    none = model_card({**CTX, "spec": {"data": {"sql": "SELECT 1"}}})
    assert "- Dataset card: none (no file source civicml can profile)" in none


def test_atrs_data_section_links_the_cards() -> None:
    spec = {"sources": {"a": {"path": "a.csv"}, "b": {"path": "b.parquet"}}}
    section = data_specification(
        spec=spec, source_data_name="a.csv", data_completeness_and_representativeness="Full."
    )
    text = section.data_completeness_and_representativeness
    assert text.startswith("Full. Dataset card")
    assert "data/a/dataset_card.md for source 'a'" in text
    assert (
        "data/b/dataset_card.md for source 'b' (exploratory analysis: data/b/profile.html)" in text
    )
    assert section.data_sharing_agreements  # still for a person
    plain = data_specification(source_data_name="x", data_completeness_and_representativeness="Y")
    assert plain.data_completeness_and_representativeness == "Y"
    assert dataset_cards_text({"data": {"sql": "SELECT 1"}}) == ""
