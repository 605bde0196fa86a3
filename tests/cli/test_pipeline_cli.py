"""``civicml pipeline run`` prints what ``civicml run`` prints (issue 20): the leaderboard, the
checks that failed or were not made, the registered version and the paths; and, when its output
is not a terminal, one plain line per stage and per finished candidate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicml.cli._app import app
from workflow.conftest import write_project


def test_pipeline_run_prints_the_same_summary_as_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: object
) -> None:
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    spec = write_project(tmp_path / "project")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["pipeline", "run", str(spec), "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.stdout
    assert "Pipeline finished" in text and "Leaderboard:" in text and "Chosen:" in text
    assert "Checks before promotion:" in text
    assert f"bundle       {out / 'bundle'}" in text
    assert "registered   tiny version 1" in text
    assert "civicml: stage train" in text and "civicml: candidate" in text
