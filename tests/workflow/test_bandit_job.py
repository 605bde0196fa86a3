"""``civicml run`` on a bandit spec: the job end to end on the letters example."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path

import pytest
import yaml

from civicml._errors import CivicMLError, ConflictError, DataError, SpecError
from civicml.workflow import run_bandit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "letters"


@pytest.fixture(autouse=True)
def _no_env_stores(monkeypatch):
    monkeypatch.delenv("CIVICML_BANDITS_DB", raising=False)
    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)


def letters(folder: Path, *, rows: int | None = None, **changes) -> Path:
    """A copy of the example in ``folder`` (fewer bootstrap resamples; optional edits)."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load((EXAMPLE / "bandit.yaml").read_text(encoding="utf-8"))
    doc["bandit"]["gate"]["n_boot"] = 200
    for key, value in changes.items():
        if value is None:
            doc["bandit"].pop(key, None)
        else:
            doc["bandit"][key] = value
    lines = (EXAMPLE / "decisions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "decisions.csv").write_text("".join(lines[: (rows or len(lines)) + 1]), "utf-8")
    (folder / "bandit.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder / "bandit.yaml"


def test_run_end_to_end_registers_and_reports(tmp_path):
    from civicml.registry import open_registry
    from civicml.tracking import open_runs

    spec = letters(tmp_path / "p")
    out = tmp_path / "out"
    outcome = run_bandit(spec, out, pdf=False, register_as="Ada")

    assert outcome.imported == 3000 and outcome.report_data["rewarded"] == 3000
    assert {c["name"]: c["passed"] for c in outcome.checks} == {
        "every_arm_explored": True,
        "exploration_floor": True,
    }
    gates = outcome.report_data["ope"]
    assert len(gates) == 2 and all(isinstance(g["replace"], bool) for g in gates)
    assert outcome.report_data["fairness"]["features"][0]["flagged"] == ["plain", "deadline"]

    page = (out / "report" / "report.html").read_text(encoding="utf-8")
    for section in ('id="summary"', 'id="checks"', 'id="arms"', 'id="policy-history"',
                    'id="ope"', 'id="fairness"', "govuk-header", "Exploration floor",
                    "percentage points", "May replace"):  # fmt: skip
        assert section in page, section
    assert (out / "report" / "model_card.md").read_text().startswith("# Model card: letters")
    atrs = json.loads((out / "report" / "atrs.json").read_text(encoding="utf-8"))
    model = atrs["tier2"]["tool_specification"]["models"][0]
    assert model["task"] == "Contextual bandit (adaptive trial)"
    assert atrs["tier2"]["tool_specification"]["data_specification"]["sensitive_attributes"] == (
        "age_under_30"
    )
    assert "Algorithmic transparency record" in (out / "report" / "atrs.html").read_text()

    with open_registry(None, project_dir=spec.parent) as reg:
        v = reg.get_version("letters", 1)
        assert v.created_by == "Ada" and v.digest == outcome.bundle.digest
        assert reg.load_version("letters/1").info["task"] == "bandit"
    with open_runs(None, project_dir=spec.parent) as runs:
        (run,) = runs.list_runs()
        assert run.kind == "run" and run.status == "finished" and run.id == outcome.run_id
        assert run.metrics["decisions"] == 3000

    again = run_bandit(spec, out, pdf=False, register_as="Ada")  # reuses the bandit
    assert again.imported == 0 and again.report_data["decisions"] == 3000
    assert again.registered.version == 2


def test_no_log_still_renders_with_failing_checks(tmp_path):
    spec = letters(tmp_path / "p", log=None, protected=None)
    out = tmp_path / "out"
    outcome = run_bandit(spec, out, pdf=False, track=False)
    assert outcome.report_data["decisions"] == 0 and outcome.registered is None
    assert [c["passed"] for c in outcome.checks] == [False, True]
    assert len(outcome.report_data["ope_skipped"]) == 2
    page = (out / "report" / "report.html").read_text(encoding="utf-8")
    assert "No outcomes have been recorded yet" in page and "was not evaluated" in page
    assert "No protected context features were named" in page


BAD_ROWS = [
    ("drop", "propensity", "lacks column 'propensity'"),
    ("arm", "letter_x", "Line 3 of decisions.csv, column 'arm'"),
    ("propensity", "0", "Line 3 of decisions.csv, column 'propensity'"),
    ("propensity", "1.5", "Line 3 of decisions.csv, column 'propensity'"),
    ("urban", "yes", "Line 3 of decisions.csv, column 'urban'"),
    ("responded", "2", "Line 3 of decisions.csv, column 'responded'"),
]


@pytest.mark.parametrize(("column", "value", "message"), BAD_ROWS)
def test_bad_log_is_one_line_and_writes_nothing(tmp_path, column, value, message):
    import pandas as pd

    spec = letters(tmp_path / "p", rows=50)
    frame = pd.read_csv(spec.parent / "decisions.csv", dtype=str)
    if column == "drop":
        frame = frame.drop(columns=[value])
    else:
        frame.loc[1, column] = value
    frame.to_csv(spec.parent / "decisions.csv", index=False)
    out = tmp_path / "out"
    with pytest.raises(DataError) as info:
        run_bandit(spec, out, pdf=False, register_as="Ada")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()
    assert not (spec.parent / ".civicml" / "bandits.db").exists()


def test_changed_spec_is_a_conflict_naming_the_fields(tmp_path):
    spec = letters(tmp_path / "p", log=None, candidates=None)
    run_bandit(spec, tmp_path / "o1", pdf=False, track=False)
    changed = letters(tmp_path / "p", log=None, candidates=None, alpha=2.0)
    with pytest.raises(ConflictError, match=r"changed: \['alpha'\]"):
        run_bandit(changed, tmp_path / "o2", pdf=False, track=False)
    assert not (tmp_path / "o2").exists()


def test_log_outside_the_spec_folder_is_refused(tmp_path):
    spec = letters(tmp_path / "p", log="../elsewhere.csv")
    with pytest.raises(SpecError, match="outside the spec's folder"):
        run_bandit(spec, tmp_path / "o", pdf=False, track=False)


def test_a_failed_run_is_recorded(tmp_path):
    from civicml.tracking import open_runs

    spec = letters(tmp_path / "p", log="missing.csv")
    with pytest.raises(CivicMLError, match="does not exist"):
        run_bandit(spec, tmp_path / "o", pdf=False)
    with open_runs(None, project_dir=spec.parent) as runs:
        assert [r.status for r in runs.list_runs()] == ["failed"]


@pytest.mark.parametrize(
    "module", ["civicml.report._atrs", "civicml.report._model_card", "civicml.bandits._project"]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_example_log_is_what_make_log_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_log", EXAMPLE / "make_log.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = mod.main(tmp_path / "decisions.csv")
    assert path.read_bytes() == (EXAMPLE / "decisions.csv").read_bytes()
    assert path.stat().st_size < 300_000
