"""The law's conditions are checked, not typed (issue 17, section 4), on every backend.

Walk-around tried here: a model that takes race and sex as direct inputs, put forward and
promoted as ``solely-automated`` with nothing but a lawful basis. It is now refused until the
Data (Use and Access) Act 2025 Art. 22C safeguards and an accepted Art. 9(2) condition (explicit
consent, or substantial public interest with its DPA 2018 Schedule 1 Part 2 condition) are on
the record.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from atrs_gate import cli_exempt
from civicml._errors import GovernanceError, RegistryError
from civicml.data import SPECIAL_CATEGORIES as DATA_CATEGORIES
from civicml.data import special_category_record
from civicml.registry import (
    ART9_CONDITIONS,
    SAFEGUARDS,
    SCHEDULE_1_PART_2,
    SPECIAL_CATEGORIES,
    ModelVersion,
    check_legal,
    promotion_problems,
)
from civicml.spec import SPECIAL_CATEGORIES as SPEC_CATEGORIES

A, B = "Rosa Parks", "Ada Lovelace"
SAFE = {
    "safeguards": {
        "information": "A decision letter giving the main reasons",
        "contest": "Mandatory reconsideration form within 30 days",
        "human_intervention": "A caseworker reconsiders it on request within 10 working days",
    }
}
TRAINING = pd.DataFrame(
    {
        "race": ["White", "Black", "Asian", "Mixed"] * 5,
        "sex": ["F", "M"] * 10,
        "income": range(20),
    }
)


@pytest.fixture
def race_bundle(make_bundle):
    """A bundle whose model takes race and sex as direct inputs, its special-category record
    made the way ``civicml run`` makes it."""
    record = special_category_record(TRAINING, ["race", "sex", "income"])
    info = {"task": "binary", "features": ["race", "sex", "income"], "special_category": record}
    return lambda: make_bundle(extra={"model_info.json": info})


def _put_forward(registry, legal=None, oversight="solely-automated"):
    return registry.request_approval(
        "benefits",
        1,
        actor=A,
        reason="ready",
        oversight=oversight,
        lawful_basis="public-task",
        legal=legal,
    )


# -- the fixed lists ------------------------------------------------------------------------
def test_the_special_categories_are_art_9_1_and_one_list_everywhere():
    assert list(SPECIAL_CATEGORIES) == [
        "racial-or-ethnic-origin",
        "political-opinions",
        "religious-or-philosophical-beliefs",
        "trade-union-membership",
        "genetic",
        "biometric",
        "health",
        "sex-life-or-sexual-orientation",
    ]
    assert DATA_CATEGORIES == SPECIAL_CATEGORIES
    assert tuple(SPECIAL_CATEGORIES) == SPEC_CATEGORIES


def test_the_conditions_and_schedule_1_part_2():
    assert list(ART9_CONDITIONS) == ["explicit-consent", "substantial-public-interest"]
    assert list(SCHEDULE_1_PART_2) == [f"para-{n}" for n in range(6, 29)]
    assert SCHEDULE_1_PART_2["para-6"] == "statutory and government purposes"
    assert SCHEDULE_1_PART_2["para-8"] == "equality of opportunity or treatment"
    assert SCHEDULE_1_PART_2["para-10"] == "preventing or detecting unlawful acts"
    assert SCHEDULE_1_PART_2["para-18"] == "safeguarding of children and of individuals at risk"
    assert list(SAFEGUARDS) == ["information", "contest", "human_intervention"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"condition": "Explicit consent"}, {"condition": "explicit-consent"}),
        ({"condition": "9(2)(a)"}, {"condition": "explicit-consent"}),
        (
            {"condition": "Art. 9(2)(g)", "schedule1": "Para 10"},
            {"condition": "substantial-public-interest", "schedule1": "para-10"},
        ),
        (
            {"condition": "substantial_public_interest", "schedule1": 8},
            {"condition": "substantial-public-interest", "schedule1": "para-8"},
        ),
        ({"schedule1": "Schedule 1 Part 2 paragraph 6"}, {"schedule1": "para-6"}),
        ({"schedule1": "preventing fraud"}, {"schedule1": "para-14"}),
    ],
)
def test_conditions_normalise_to_their_ids(given, stored):
    assert check_legal({"special_category": given}) == {"special_category": stored}


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ({"safeguard": {}}, "'safeguard' is not part of a version's legal record"),
        ({"safeguards": {"phone": "x"}}, "'phone' is not an Art. 22C safeguard"),
        ({"safeguards": {"contest": "  "}}, "The safeguard 'contest'"),
        ({"safeguards": {"information": 3}}, "--safeguard-information"),
        ({"safeguards": "yes"}, "must be a mapping"),
        ({"special_category": {"condition": "consent"}}, "The Art. 9(2) condition 'consent'"),
        ({"special_category": {"condition": "9(2)(b)"}}, "explicit-consent"),
        ({"special_category": {"schedule1": "5"}}, "'5' is not a Data Protection Act 2018"),
        ({"special_category": {"schedule1": "29"}}, "Schedule 1 Part 2 condition"),
        ({"special_category": {"basis": "x"}}, "'basis' is not part of the Art. 9"),
        (
            {"special_category": {"condition": "explicit-consent", "schedule1": "6"}},
            "goes with substantial-public-interest, not explicit-consent",
        ),
        ({"special_category_inputs": {"race": "health"}}, "read from the bundle"),
        ("consent", "The legal record must be a mapping"),
    ],
)
def test_bad_records_are_refused_on_one_line(record, needle):
    with pytest.raises(RegistryError) as err:
        check_legal(record)
    assert needle in str(err.value) and "\n" not in str(err.value)


# -- the walk-around ------------------------------------------------------------------------
def test_race_and_sex_inputs_cannot_go_solely_automated_on_a_lawful_basis_alone(
    registry, race_bundle
):
    v = registry.register(race_bundle().path, "benefits", actor=A)
    assert v.legal["special_category_inputs"] == {
        "race": {"category": "racial-or-ethnic-origin", "source": "detected"}
    }  # sex is an Equality Act characteristic, not Art. 9 special-category data
    with pytest.raises(GovernanceError) as err:
        _put_forward(registry)
    message = str(err.value)
    assert "\n" not in message
    assert "benefits v1 is solely-automated, so it cannot be put forward for approval" in message
    assert "Art. 22C safeguards" in message
    assert (
        "civicml models governance benefits 1 --safeguard-information TEXT "
        "--safeguard-contest TEXT --safeguard-human TEXT" in message
    )
    assert "race (racial or ethnic origin; detected in the data)" in message
    assert "--art9-condition explicit-consent" in message
    assert "--art9-condition substantial-public-interest --schedule1 PARA" in message
    assert "sex (" not in message
    assert registry.get_version("benefits", 1).status == "registered"


def test_safeguards_alone_do_not_cover_special_category_inputs(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    with pytest.raises(GovernanceError) as err:
        _put_forward(registry, SAFE)
    message = str(err.value)
    assert "Art. 22C" not in message
    assert "special-category inputs (UK GDPR Art. 9) race (racial or ethnic origin" in message
    assert "no Art. 9(2) condition" in message


def test_substantial_public_interest_needs_its_schedule_1_condition(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    legal = {**SAFE, "special_category": {"condition": "substantial-public-interest"}}
    with pytest.raises(GovernanceError) as err:
        _put_forward(registry, legal)
    message = str(err.value)
    assert "without its Data Protection Act 2018 Schedule 1 Part 2 condition" in message
    assert "civicml models governance benefits 1 --schedule1 PARA" in message
    assert "para-6 (statutory and government purposes)" in message


def test_the_right_conditions_let_it_be_approved_and_served(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    registry.set_governance("benefits", 1, actor=A, legal=SAFE)
    registry.set_governance(
        "benefits",
        1,
        actor=A,
        legal={"special_category": {"condition": "9(2)(g)", "schedule1": "6"}},
    )
    _put_forward(registry)
    registry.approve("benefits", 1, by=B, reason="DPO signed off the Schedule 1 condition")
    v = registry.promote("benefits", 1, actor=B)
    assert v.aliases == ("production",)
    assert v.legal == {
        **SAFE,
        "special_category": {"condition": "substantial-public-interest", "schedule1": "para-6"},
        "special_category_inputs": {
            "race": {"category": "racial-or-ethnic-origin", "source": "detected"}
        },
    }
    fields = [e.details.get("fields") for e in registry.audit_events(subject="benefits/1")]
    assert ["legal"] in fields


def test_explicit_consent_is_enough_and_drops_a_schedule_1_condition(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    registry.set_governance(
        "benefits",
        1,
        actor=A,
        legal={"special_category": {"condition": "substantial-public-interest", "schedule1": 10}},
    )
    v = _put_forward(registry, {**SAFE, "special_category": {"condition": "explicit-consent"}})
    assert v.legal["special_category"] == {"condition": "explicit-consent"}
    registry.approve("benefits", 1, by=B, reason="ok")
    assert registry.promote("benefits", 1, "live", actor=B).aliases == ("live",)


def test_missing_safeguards_are_refused_without_special_category_inputs(registry, make_bundle):
    registry.register(make_bundle().path, "benefits", actor=A)
    partial = {"safeguards": {"information": "Letter", "contest": "Form"}}
    registry.set_governance("benefits", 1, actor=A, legal=partial)
    with pytest.raises(GovernanceError) as err:
        _put_forward(registry)
    message = str(err.value)
    assert "human intervention on the person's request" in message
    assert "--safeguard-human TEXT" in message and "--safeguard-contest" not in message
    assert "special-category" not in message
    _put_forward(registry, {"safeguards": {"human_intervention": "Caseworker review"}})
    v = registry.get_version("benefits", 1)
    assert v.status == "pending_approval" and set(v.legal["safeguards"]) == set(SAFEGUARDS)


def test_a_person_in_the_loop_needs_neither(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    _put_forward(registry, oversight="human-in-the-loop")
    registry.approve("benefits", 1, by=B, reason="A caseworker decides")
    assert registry.promote("benefits", 1, actor=B).oversight == "human-in-the-loop"


def test_a_version_put_forward_cannot_turn_solely_automated_quietly(registry, race_bundle):
    registry.register(race_bundle().path, "benefits", actor=A)
    _put_forward(registry, oversight="advisory")
    with pytest.raises(GovernanceError, match="cannot be put forward for approval"):
        registry.set_governance("benefits", 1, actor=A, oversight="solely-automated")
    assert registry.get_version("benefits", 1).oversight == "advisory"


def test_bad_values_are_refused_by_every_write(registry, make_bundle):
    bad = {"special_category": {"condition": "public interest"}}
    with pytest.raises(RegistryError, match="The Art. 9\\(2\\) condition 'public interest'"):
        registry.register(make_bundle().path, "benefits", actor=A, legal=bad)
    registry.register(make_bundle().path, "benefits", actor=A)
    for call in (registry.set_governance, registry.request_approval):
        with pytest.raises(RegistryError, match="not one the registry accepts"):
            call("benefits", 1, actor=A, reason="ready", legal=bad)
        with pytest.raises(RegistryError, match="read from the bundle"):
            call("benefits", 1, actor=A, reason="ready", legal={"special_category_inputs": {}})
    v = registry.get_version("benefits", 1)
    assert v.legal == {} and v.status == "registered"


def test_a_malformed_bundle_record_is_refused(registry, make_bundle):
    info = {"task": "binary", "special_category": {"race": {"category": "ethnicity"}}}
    with pytest.raises(RegistryError, match="special-category record for column 'race'"):
        registry.register(make_bundle(extra={"model_info.json": info}).path, "m", actor=A)


def test_a_declared_input_is_named_as_declared(registry, make_bundle):
    record = special_category_record(
        TRAINING, ["race", "income"], {"income": "health", "race": "none"}
    )
    info = {"task": "binary", "special_category": record}
    registry.register(make_bundle(extra={"model_info.json": info}).path, "benefits", actor=A)
    with pytest.raises(GovernanceError) as err:
        _put_forward(registry, SAFE)
    assert "income (data concerning health; declared in civicml.yaml)" in str(err.value)
    assert "race (" not in str(err.value)


# -- the serving gate, for versions recorded before the rule --------------------------------
def _approved(**fields):
    base = {
        "owner": {"team": "T", "senior_responsible_owner": "S", "contact": "c"},
        "intended_use": "Triage",
        "out_of_scope_uses": ["Sanctions"],
        "lawful_basis": "public-task",
        "checks_passed": True,
        "approved_by": B,
    }
    return ModelVersion("m", 2, "a" * 64, "approved", "t", A, **{**base, **fields})


def test_promotion_problems_name_what_is_missing():
    assert promotion_problems(_approved(oversight="advisory")) == []
    inputs = {
        "special_category_inputs": {"faith": {"category": "religious-or-philosophical-beliefs"}}
    }
    problems = promotion_problems(_approved(oversight="solely-automated", legal=inputs))
    assert len(problems) == 2
    assert problems[0].startswith("no record of the Art. 22C safeguards")
    assert "faith (religious or philosophical beliefs; detected in the data)" in problems[1]
    ok = {**SAFE, **inputs, "special_category": {"condition": "explicit-consent"}}
    assert promotion_problems(_approved(oversight="solely-automated", legal=ok)) == []


# -- the CLI ---------------------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path, monkeypatch):
    from civicml.cli._models import app

    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def test_the_cli_records_the_conditions(cli, race_bundle, login):
    login("rosa")
    cli("register", race_bundle().path, "--name", "benefits")
    err = cli(
        "request-approval", "benefits", 1, "--reason", "ready", "--oversight", "solely-automated",
        "--lawful-basis", "public-task", code=2,
    )  # fmt: skip
    lines = err.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err.output
    assert "race (racial or ethnic origin; detected in the data)" in lines[0]
    err = cli("governance", "benefits", 1, "--art9-condition", "public interest", code=2)
    assert "not one the registry accepts" in err.output
    cli(
        "governance", "benefits", 1, "--reason", "DPIA done",
        "--safeguard-information", "Decision letter",
        "--safeguard-contest", "Reconsideration form",
        "--art9-condition", "substantial-public-interest", "--schedule1", "6",
    )  # fmt: skip
    shown = json.loads(cli("governance", "benefits", 1, "--json").stdout)
    assert shown["legal"]["special_category"] == {
        "condition": "substantial-public-interest",
        "schedule1": "para-6",
    }
    cli(
        "request-approval", "benefits", 1, "--reason", "ready", "--oversight", "solely-automated",
        "--lawful-basis", "public-task", "--safeguard-human", "Caseworker review on request",
    )  # fmt: skip
    login("ada")
    cli("approve", "benefits", 1, "--reason", "ok")
    cli_exempt("benefits", 1)  # this test is about the law, not the ATRS record
    cli("promote", "benefits", 1)
    helped = " ".join(cli("request-approval", "--help").stdout.split())
    for option in ("--safeguard-information", "--safeguard-human", "--art9-condition"):
        assert option in helped
    assert "6: statutory and government" in helped


# -- end to end: civicml's own training records the inputs -----------------------------------
def test_a_trained_model_on_race_and_sex_is_caught(tmp_path, monkeypatch):
    """The walk-around from issue 17 as a new user would do it: train on race and sex as
    direct inputs, register, ask for solely-automated approval with only a lawful basis."""
    import numpy as np

    from civicml.bundle import load_bundle
    from civicml.registry import open_registry
    from civicml.spec import spec_from_dict
    from civicml.workflow import run_training

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "race": rng.choice(["White", "Black", "Asian", "Mixed"], size=n),
            "sex": rng.choice(["F", "M"], size=n),
            "q7": rng.choice(["a", "b"], size=n),
            "health_board_code": rng.choice(["S08000015", "S08000016"], size=n),
        }
    )
    frame["y"] = (frame["x"] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    frame.to_csv(tmp_path / "train.csv", index=False)
    spec = spec_from_dict(
        {
            "name": "benefits",
            "data": {"path": "train.csv"},
            "target": "y",
            "task": "binary",
            "max_trials": 1,
            "cv_folds": 2,
            "models": ["linear"],
            "personal_data": {"scan": False},
            "columns": {"special_category": {"q7": "health"}},
        },
        base_dir=tmp_path,
    )
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    run_training(spec, tmp_path / "bundle", track=False)
    recorded = load_bundle(tmp_path / "bundle").info["special_category"]
    assert {c: (r["category"], r["source"]) for c, r in recorded.items()} == {
        "race": ("racial-or-ethnic-origin", "detected"),
        "q7": ("health", "declared"),
    }
    with open_registry(f"sqlite:///{tmp_path / 'reg2.db'}", project_dir=tmp_path) as reg:
        reg.register(tmp_path / "bundle", "benefits", actor=A)
        with pytest.raises(GovernanceError) as err:
            reg.request_approval(
                "benefits",
                1,
                actor=A,
                reason="ready",
                oversight="solely-automated",
                lawful_basis="public-task",
                legal=SAFE,
            )
        message = str(err.value)
        assert "q7 (data concerning health; declared in civicml.yaml)" in message
        assert "race (racial or ethnic origin; detected in the data)" in message
        assert "sex (" not in message and "health_board_code" not in message
