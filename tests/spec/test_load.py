from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from civicml._errors import SpecError
from civicml.spec import TEMPLATE, load_spec, spec_from_dict, write_template

BASE = {"name": "demo", "data": {"path": "d.csv"}, "target": "y"}


def test_template_is_a_valid_spec(tmp_path: Path) -> None:
    path = write_template(tmp_path)
    spec = load_spec(path)
    assert spec.name == "my-project"
    assert spec.data_path() == tmp_path / "data/training.csv"
    assert "#" in path.read_text()  # commented


def test_template_refuses_to_overwrite(tmp_path: Path) -> None:
    write_template(tmp_path)
    with pytest.raises(SpecError, match="already exists.*--force"):
        write_template(tmp_path)
    write_template(tmp_path, force=True)


def test_unknown_key_names_it_and_suggests() -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict({**BASE, "budget": 3})
    msg = str(err.value)
    assert "Unknown key 'budget'" in msg and "Did you mean 'budget_seconds'?" in msg
    assert "\n" not in msg


def test_unknown_nested_key() -> None:
    with pytest.raises(SpecError, match=r"Unknown key 'columns\.idd'.*Did you mean 'id'"):
        spec_from_dict({**BASE, "columns": {"idd": ["x"]}})


def test_budget_seconds_zero_is_refused() -> None:
    with pytest.raises(SpecError, match=r"'budget_seconds'.*greater than 0.*got 0"):
        spec_from_dict({**BASE, "budget_seconds": 0})


def test_wrong_type_names_key_expected_and_value() -> None:
    with pytest.raises(SpecError, match=r"'seed'.*integer.*got 'abc'"):
        spec_from_dict({**BASE, "seed": "abc"})


def test_protected_characteristic_must_be_an_equality_act_name() -> None:
    with pytest.raises(SpecError, match="'gender' is not a protected characteristic"):
        spec_from_dict({**BASE, "protected": {"gender": "sex"}})
    ok = spec_from_dict({**BASE, "protected": {"sex": "sex", "race": "eth"}})
    assert ok.protected == {"sex": "sex", "race": "eth"}


def test_target_required_unless_clustering() -> None:
    with pytest.raises(SpecError, match="'target' is required"):
        spec_from_dict({"name": "x", "data": {"path": "d.csv"}})
    assert spec_from_dict({"name": "x", "data": {"path": "d.csv"}, "task": "clustering"})


def test_data_needs_exactly_one_source() -> None:
    with pytest.raises(SpecError, match="set only one of 'path' and 'query'"):
        spec_from_dict({**BASE, "data": {"path": "a.csv", "query": "select 1"}})
    with pytest.raises(SpecError, match="'path'.*'query'"):
        spec_from_dict({**BASE, "data": {}})


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist.*civicml init"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "civicml.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)
    bad.write_text("- a list\n")
    with pytest.raises(SpecError, match="must hold a mapping"):
        load_spec(tmp_path)  # a folder resolves to its civicml.yaml


def test_every_template_key_is_in_the_schema() -> None:
    # the template documents the schema: loading it with no unknown keys proves they agree
    raw = yaml.safe_load(TEMPLATE)
    assert spec_from_dict(raw).costs.false_negative == 1


def test_models_lists_known_families_only() -> None:
    from typing import get_args

    from civicml.learn._candidates import FAMILIES
    from civicml.spec._schema import ModelFamily

    assert set(get_args(ModelFamily)) == set(FAMILIES)
    ok = spec_from_dict({**BASE, "models": ["lightgbm", "linear", "lightgbm"]})
    assert ok.models == ["lightgbm", "linear"]
    assert spec_from_dict(BASE).models is None
    with pytest.raises(SpecError, match=r"'models.0'.*got 'lgbm'") as err:
        spec_from_dict({**BASE, "models": ["lgbm"]})
    assert "\n" not in str(err.value)
    with pytest.raises(SpecError, match="no model family to search besides the baseline"):
        spec_from_dict({**BASE, "models": ["baseline"]})


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "civicml.yaml"
    bad.write_text("name: demo\ndata: {path: d.csv\ntarget: y\n")
    with pytest.raises(
        SpecError, match=r"civicml\.yaml' is not valid YAML \(line \d+, column \d+"
    ) as err:
        load_spec(bad)
    assert "\n" not in str(err.value)
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_spec(bad)


def test_one_loader_for_project_and_bandit_specs(tmp_path: Path) -> None:
    from civicml.bandits import load_bandit_project, load_bandit_spec
    from civicml.spec import ProjectSpec, read_spec_file, validate_spec_model

    path = tmp_path / "bandit.yaml"
    path.write_text("- not a mapping\n")
    for load in (load_spec, load_bandit_spec, load_bandit_project):
        with pytest.raises(SpecError, match="must hold a mapping"):
            load(path)
    path.write_text("bandit:\n  name: b\n  arms: [a, b]\n  logs: d.csv\n")
    with pytest.raises(SpecError, match=r"Unknown key 'logs' in bandit\.yaml.*Did you mean 'log'"):
        load_bandit_project(path)
    assert read_spec_file(path)[1] == path
    with pytest.raises(SpecError, match=r"The key 'data\.path' in x\.yaml has an invalid value"):
        validate_spec_model(ProjectSpec, {**BASE, "data": {"path": 3}}, source="x.yaml")


@pytest.mark.parametrize("module", ["civicml.spec._load", "civicml.spec._loader"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_checks_section_sets_limits_and_defaults() -> None:
    spec = spec_from_dict({**BASE, "checks": {"min_roc_auc": 0.7, "max_fairness_gap": 0.1}})
    assert spec.checks.limits() == {
        "max_fairness_gap": 0.1,
        "max_calibration_error": 0.1,
        "min_roc_auc": 0.7,
    }
    default = spec_from_dict(BASE).checks.limits()
    assert default == {"max_fairness_gap": 0.2, "max_calibration_error": 0.1}
    off = spec_from_dict({**BASE, "checks": {"max_calibration_error": None}}).checks.limits()
    assert off["max_calibration_error"] is None  # "not checked"
    template = yaml.safe_load(TEMPLATE)["checks"]
    assert template["min_roc_auc"] is None and template["max_fairness_gap"] == 0.2


def test_checks_section_refuses_unknown_names_and_text() -> None:
    with pytest.raises(SpecError, match=r"unknown check limit 'roc'.*min_<metric>"):
        spec_from_dict({**BASE, "checks": {"roc": 0.7}})
    with pytest.raises(SpecError, match=r"'min_roc_auc' must be a number or null"):
        spec_from_dict({**BASE, "checks": {"min_roc_auc": "high"}})


def test_columns_describe_and_justification() -> None:
    spec = spec_from_dict(
        {
            **BASE,
            "columns": {
                "describe": {"nwhite": " Not white ", "bluecol": "Blue-collar job"},
                "justification": {"married": "Household size changes eligibility."},
            },
        }
    )
    assert spec.columns.describe == {"nwhite": "Not white", "bluecol": "Blue-collar job"}
    assert spec.columns.justification == {"married": "Household size changes eligibility."}
    assert spec_from_dict(BASE).columns.describe == {}
    assert "# describe: {nwhite: Not white" in TEMPLATE
    assert "# justification: {married:" in TEMPLATE


def test_columns_describe_refuses_empty_text() -> None:
    with pytest.raises(SpecError, match=r"the entry for 'married' is empty"):
        spec_from_dict({**BASE, "columns": {"justification": {"married": "  "}}})
