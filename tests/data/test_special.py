"""Special-category inputs (UK GDPR Art. 9(1)) are found by name and by values, or declared."""

from __future__ import annotations

import pandas as pd
import pytest

from civicml._errors import DataError, SpecError
from civicml.data import (
    SPECIAL_CATEGORIES,
    find_special_categories,
    special_category_by_name,
    special_category_by_values,
    special_category_record,
)
from civicml.spec import spec_from_dict

RACE, POLITICS, RELIGION, UNION, GENETIC, BIOMETRIC, HEALTH, SEXUAL = SPECIAL_CATEGORIES


@pytest.mark.parametrize(
    ("column", "category"),
    [
        ("race", RACE),
        ("Ethnicity", RACE),
        ("ethnic_origin", RACE),
        ("EthnicGroup", RACE),
        ("ethnicgroup2", RACE),
        ("eth_grp", RACE),
        ("nwhite", RACE),
        ("non_white", RACE),
        ("BAME", RACE),
        ("skin colour", RACE),
        ("religion", RELIGION),
        ("Religious Belief", RELIGION),
        ("faith", RELIGION),
        ("philosophical_beliefs", RELIGION),
        ("health", HEALTH),
        ("mental_health_flag", HEALTH),
        ("disability", HEALTH),
        ("has_disabilities", HEALTH),
        ("diagnosis_code", HEALTH),
        ("primary_dx", HEALTH),
        ("ICD10", HEALTH),
        ("long_term_condition", HEALTH),
        ("sexual_orientation", SEXUAL),
        ("SexualOrientation", SEXUAL),
        ("sexuality", SEXUAL),
        ("lgbt", SEXUAL),
        ("trade_union", UNION),
        ("union_member", UNION),
        ("TradeUnionMembership", UNION),
        ("political", POLITICS),
        ("party", POLITICS),
        ("political_party", POLITICS),
        ("voting intention", POLITICS),
        ("genetic_risk", GENETIC),
        ("genotype", GENETIC),
        ("brca1", GENETIC),
        ("fingerprint_template", BIOMETRIC),
        ("face_embedding", BIOMETRIC),
        ("biometrics", BIOMETRIC),
    ],
)
def test_found_by_name(column, category):
    assert special_category_by_name(column) == category


@pytest.mark.parametrize(
    "column",
    [
        # places and organisations named after health are not data about the person's health
        "health_board_code",
        "HealthBoard",
        "nhs_trust_health_area",
        "health_and_safety_incidents",
        # Equality Act characteristics that are not Art. 9 special categories
        "sex",
        "gender",
        "age",
        "marital_status",
        # words that only look close
        "trace_id",
        "grace_period",
        "third_party_claim",
        "credit_union_loan",
        "good_faith",
        "white_list",
        "row_fingerprint",
        "income",
        "postcode",
    ],
)
def test_not_found_by_name(column):
    assert special_category_by_name(column) is None


@pytest.mark.parametrize(
    ("values", "category"),
    [
        (["White", "Black", "Asian", "Mixed", "White", "Other"], RACE),
        (["White British", "Asian or Asian British: Indian", "Black Caribbean", None], RACE),
        (["Christian", "Muslim", "Hindu", "Jewish", "Sikh", "Buddhist", "No religion"], RELIGION),
        (["Heterosexual", "Gay", "Lesbian", "Bisexual", "Prefer not to say"], SEXUAL),
        (["heterosexual_or_straight", "gay_or_lesbian", "bisexual"], SEXUAL),
        (["Labour", "Conservative", "Liberal Democrat", "SNP", "Green"], POLITICS),
        (["Disabled", "Not disabled", "Not disabled", "Not disabled"], HEALTH),
        (["Diabetes", "Asthma", "COPD", "Asthma"], HEALTH),
    ],
)
def test_found_by_values(values, category):
    found = special_category_by_values(pd.Series(values, dtype=object))
    assert found is not None and found[0] == category
    assert "of stated rows" in found[1]
    as_category = special_category_by_values(pd.Series(values, dtype="category"))
    assert as_category is not None and as_category[0] == category


@pytest.mark.parametrize(
    "values",
    [
        ["white", "black", "silver", "red", "blue", "grey"],  # car colours
        ["green", "amber", "red", "green"],  # a RAG status
        ["Leave", "Annual", "Sick", "Parental"],  # one party-like word is not enough
        ["yes", "no", "yes"],
        ["Other", "Unknown", "Prefer not to say"],
        [1, 2, 3, 1],
        [f"person {i}" for i in range(500)],  # too many distinct values to be categories
    ],
)
def test_not_found_by_values(values):
    assert special_category_by_values(pd.Series(values)) is None


def test_a_frame_is_read_by_name_then_values():
    df = pd.DataFrame(
        {
            "ethnicity": [1, 2, 1, 3],
            "grp": ["Muslim", "Christian", "No religion", "Hindu"],
            "sex": ["F", "M", "F", "M"],
            "health_board_code": ["S08000015"] * 4,
            "income": [1.0, 2.0, 3.0, 4.0],
        }
    )
    found = {f.column: f for f in find_special_categories(df)}
    assert set(found) == {"ethnicity", "grp"}
    assert (found["ethnicity"].category, found["ethnicity"].source) == (RACE, "detected")
    assert found["ethnicity"].evidence == "its name 'ethnicity'"
    assert found["grp"].category == RELIGION and found["grp"].label == (
        "religious or philosophical beliefs"
    )
    assert "'muslim'" in found["grp"].evidence
    names_only = find_special_categories(["ethnicity", "grp"])  # names only: values unknown
    assert [f.column for f in names_only] == ["ethnicity"]


def test_a_declaration_wins_over_detection():
    df = pd.DataFrame({"race": ["A", "B"], "q7": ["x", "y"], "score": [1, 2]})
    declared = {"race": "none", "q7": "trade-union-membership"}
    found = find_special_categories(df, declared=declared)
    assert [(f.column, f.category, f.source) for f in found] == [("q7", UNION, "declared")]
    assert found[0].evidence == "declared in civicml.yaml"
    with pytest.raises(DataError, match="is not an Art. 9\\(1\\) special category"):
        find_special_categories(df, declared={"q7": "union"})


def test_the_record_covers_only_the_model_inputs():
    df = pd.DataFrame({"race": ["White", "Black"], "religion": ["a", "b"], "y": [0, 1]})
    record = special_category_record(
        df, ["race"], {"religion": "religious-or-philosophical-beliefs"}
    )
    assert record == {
        "race": {"category": RACE, "source": "detected", "evidence": "its name 'race'"}
    }


def _spec(special):
    return spec_from_dict(
        {
            "name": "x",
            "data": {"path": "d.csv"},
            "target": "y",
            "columns": {"special_category": special},
        }
    )


def test_the_spec_declares_them_from_the_fixed_list():
    spec = _spec({"eth": "Racial_or_Ethnic_Origin", "health_board": "none", "hb2": None})
    assert spec.columns.special_category == {"eth": RACE, "health_board": None, "hb2": None}
    assert _spec({}).columns.special_category == {}
    with pytest.raises(SpecError) as err:
        _spec({"race": "race"})
    message = str(err.value)
    assert (
        "'race' the category 'race', which is not a UK GDPR Art. 9(1) special category" in message
    )
    assert "racial-or-ethnic-origin" in message and "'none'" in message
    assert "\n" not in message


def test_equality_act_columns_that_are_art_9_count_as_declared():
    df = pd.DataFrame({"r": ["a", "b"], "s": ["F", "M"], "dis": [0, 1], "q": ["x", "y"]})
    protected = {"race": "r", "sex": "s", "disability": "dis", "religion_or_belief": "q"}
    record = special_category_record(df, ["r", "s", "dis", "q"], {"q": "none"}, protected)
    assert {c: (r["category"], r["source"]) for c, r in record.items()} == {
        "r": (RACE, "declared"),
        "dis": (HEALTH, "declared"),
    }  # sex is protected by the Equality Act but is not Art. 9 data; q was declared 'none'
    assert record["r"]["evidence"] == (
        "declared in civicml.yaml as the protected characteristic 'race'"
    )
