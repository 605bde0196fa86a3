"""A project is found the way git finds a repository (issue 20): from a subfolder the CLI uses
the nearest ``.civicml/`` above it; ``$CIVICML_PROJECT`` and ``--project-dir`` win."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from civicml.cli._app import app


def _tokens(*extra: str) -> str:
    result = CliRunner().invoke(app, ["tokens", "list", "--json", *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def test_a_subfolder_uses_the_project_above_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login: object
) -> None:
    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)
    monkeypatch.delenv("CIVICML_PROJECT", raising=False)
    project, other = tmp_path / "project", tmp_path / "other"
    (project / "reports" / "2026").mkdir(parents=True)
    other.mkdir()
    monkeypatch.chdir(project)
    made = CliRunner().invoke(
        app, ["tokens", "create", "--name", "svc", "--scope", "predict", "--reason", "test"]
    )
    assert made.exit_code == 0, made.output
    assert (project / ".civicml").is_dir()

    monkeypatch.chdir(project / "reports" / "2026")
    assert '"svc"' in _tokens()  # found upwards, like git
    assert not (project / "reports" / "2026" / ".civicml").exists()

    monkeypatch.chdir(other)
    assert '"svc"' not in _tokens()  # a folder outside the project is not in it
    assert '"svc"' in _tokens("--project-dir", str(project))
    monkeypatch.setenv("CIVICML_PROJECT", str(project))
    assert '"svc"' in _tokens()
