"""Request checks against the contract: every failing field named, and a personal-data
column's known values, range and the caller's value never written into the error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from civicml.serve._validate import InputSchema, ValidationFailed, personal_inputs

CONTRACT = {
    "columns": [
        {"name": "age", "dtype": "integer", "role": "numeric", "min": 18, "max": 103},
        {"name": "region", "dtype": "string", "role": "categorical", "categories": ["N", "S"]},
        {"name": "postcode", "dtype": "string", "role": "categorical",
         "categories": ["AB1 2CD", "SW1A 1AA"]},
        {"name": "notes", "dtype": "string", "role": "text"},
        {"name": "faith", "dtype": "string", "role": "categorical",
         "categories": ["Jain", "Zoroastrian"], "special_category": "religious-or-philosophical-beliefs"},
    ]
}  # fmt: skip
FEATURES = ["age", "region", "postcode", "notes", "faith"]


def _fail(schema: InputSchema, **row: Any) -> dict[str, dict[str, Any]]:
    good = {"age": 30, "region": "N", "postcode": "AB1 2CD", "notes": "x", "faith": "Jain"}
    with pytest.raises(ValidationFailed) as info:
        schema.validate_records([{**good, **row}])
    return {e["field"]: e for e in info.value.errors}


def test_an_ordinary_column_lists_its_categories_and_range() -> None:
    errors = _fail(InputSchema.from_contract(CONTRACT, FEATURES), region="W", age=7, postcode="Q")
    assert "['N', 'S']" in errors["region"]["problem"] and errors["region"]["got"] == ["W"]
    assert "[18.0, 103.0]" in errors["age"]["problem"]
    # without being told, the contract alone does not mark a postcode column
    assert "AB1 2CD" in errors["postcode"]["problem"]


def test_a_personal_column_lists_nothing_in_the_error() -> None:
    schema = InputSchema.from_contract(CONTRACT, FEATURES, personal=["postcode", "age"])
    failed = _fail(schema, postcode="ZZ9 9ZZ", age=150, faith="Druid")
    text = json.dumps(failed) + str(ValidationFailed(list(failed.values())))
    for secret in ("AB1 2CD", "SW1A 1AA", "103", "Jain", "Zoroastrian", "ZZ9 9ZZ", "Druid"):
        assert secret not in text, secret
    assert failed["postcode"]["problem"].startswith("is not a known value")
    assert failed["faith"]["problem"].startswith("is not a known value")  # flagged in contract
    assert failed["age"]["problem"].startswith("is outside the allowed range")
    assert all("got" not in e for e in failed.values())


def test_a_personal_column_is_still_checked_against_the_contract() -> None:
    schema = InputSchema.from_contract(CONTRACT, FEATURES).with_personal(["postcode"])
    assert schema.by_name["postcode"].personal and not schema.by_name["region"].personal
    good = {"age": 30, "region": "S", "postcode": "SW1A 1AA", "notes": "x", "faith": "Jain"}
    assert schema.validate_records([good])["postcode"] == ["SW1A 1AA"]
    assert set(_fail(schema, postcode="EH1 1YZ")) == {"postcode"}  # unknown: still refused
    assert _fail(schema, age="old")["age"]["got"] == ["old"]  # not personal: echoed


def test_id_and_free_text_columns_count_as_personal() -> None:
    schema = InputSchema.from_contract(CONTRACT, FEATURES)
    assert schema.personal == {"notes", "faith"}


def test_openapi_properties_hide_enum_and_range_of_personal_columns() -> None:
    props = InputSchema.from_contract(CONTRACT, FEATURES).openapi_properties(personal=["age"])
    text = json.dumps(props)
    assert "Jain" not in text and "Zoroastrian" not in text and "103" not in text
    assert props["region"]["anyOf"][0]["enum"] == ["N", "S"]
    assert props["postcode"]["anyOf"][0]["enum"] == ["AB1 2CD", "SW1A 1AA"]  # not marked
    faith = props["faith"]["anyOf"][0]
    assert faith["type"] == "string" and "enum" not in faith and "description" in faith


def test_personal_inputs_reads_every_place_a_bundle_marks_them() -> None:
    spec = {
        "personal_data": {"allow": ["postcode"]},
        "columns": {"id": ["ref"], "text": ["letter"],
                    "special_category": {"faith": "religious-or-philosophical-beliefs",
                                         "colour": None}},
        "protected": {"sex": "gender", "age": "age"},
    }  # fmt: skip
    info = {"special_category": {"ethnic_group": {"category": "racial-or-ethnic-origin"}}}
    found = personal_inputs(CONTRACT, spec, info)
    assert found == {"postcode", "ref", "letter", "faith", "gender", "age", "ethnic_group", "notes"}
    assert personal_inputs(None) == frozenset()
