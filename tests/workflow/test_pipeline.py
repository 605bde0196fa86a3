"""End to end: a two-source project trains as tracked runs; the pipeline resumes, is
idempotent and locked; a failed run is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicml._errors import ConflictError, DataError
from civicml.spec import load_spec
from civicml.tracking import compare_runs, open_runs
from civicml.workflow import _pipeline, project_lock, run_pipeline, run_training


def test_pipeline_crash_resume_idempotent_and_failed_runs(
    tiny_project: Path, tmp_path: Path, monkeypatch
) -> None:
    spec = load_spec(tiny_project)
    out = tmp_path / "out"

    def crash(job):
        raise RuntimeError("disk full")

    monkeypatch.setitem(_pipeline._STEPS, "report", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        run_pipeline(spec, out, register_as="Ada")
    state = json.loads((out / "pipeline_state.json").read_text())
    assert sorted(state["steps"]) == ["etl", "train"]
    monkeypatch.undo()
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")

    resumed = run_pipeline(spec, out, register_as="Ada", pdf=False)
    assert resumed.ran == ["report", "register"] and resumed.skipped == ["etl", "train"]
    assert (out / "report" / "report.html").is_file()
    again = run_pipeline(spec, out, register_as="Ada")
    assert again.nothing_to_do and again.run_id is None

    # a failed run is recorded as failed, with the one-line error
    bad = spec.model_copy(update={"target": "missing_column"})
    with pytest.raises(DataError):
        run_training(bad, tmp_path / "never")
    with open_runs() as store:
        runs = store.list_runs()
    assert [(r.kind, r.status) for r in runs] == [
        ("train", "failed"),
        ("pipeline", "finished"),
        ("pipeline", "failed"),
    ]
    failed, good, crashed = runs
    assert "missing_column" in failed.error and crashed.error == "RuntimeError: disk full"
    assert good.artifacts["registered"] == "tiny version 1"
    assert crashed.metrics and crashed.bundle_digest  # the train step finished before the crash
    assert {v.name for v in good.data_versions} == {"cases", "areas", "table"}
    assert good.git_commit is None or isinstance(good.git_commit, str)
    assert "pandas" in good.packages and good.energy is None
    doc = compare_runs(crashed, good)
    assert doc["runs"]["status"] == ["failed", "finished"]
    assert all(t["same_content"] for t in doc["data"]["tables"])


def test_a_second_schedule_is_refused(tiny_project: Path, tmp_path: Path) -> None:
    spec = load_spec(tiny_project)
    with project_lock(spec), pytest.raises(ConflictError, match="is running"):
        run_pipeline(spec, tmp_path / "out")
    # a lock file left by a dead process does not block: the kernel released its lock
    lock = Path(spec.base_dir) / ".civicml" / "locks" / "pipeline-tiny.lock"
    lock.write_text("pid 999999 since long ago\n")
    with project_lock(spec):
        pass
