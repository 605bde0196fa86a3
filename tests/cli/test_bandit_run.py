"""``civicml run`` on a spec with a ``bandit:`` section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from civicml.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "letters"
runner = CliRunner()


def letters(folder: Path, *, rows: int) -> Path:
    """A copy of the example with its first ``rows`` decisions and fewer bootstrap resamples."""
    folder.mkdir(parents=True)
    doc = yaml.safe_load((EXAMPLE / "bandit.yaml").read_text(encoding="utf-8"))
    doc["bandit"]["gate"]["n_boot"] = 200
    lines = (EXAMPLE / "decisions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "decisions.csv").write_text("".join(lines[: rows + 1]), encoding="utf-8")
    (folder / "bandit.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder / "bandit.yaml"


@pytest.fixture(autouse=True)
def _no_env_stores(monkeypatch):
    monkeypatch.delenv("CIVICML_BANDITS_DB", raising=False)
    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)


def test_run_prints_outputs_and_registers(tmp_path: Path, login) -> None:
    spec = letters(tmp_path / "p", rows=600)
    out = tmp_path / "out"
    refused = runner.invoke(app, ["run", str(spec), "--out", str(out), "--by", "Ada"])
    assert refused.exit_code == 2 and "--by is no longer accepted" in refused.output
    assert not out.exists()
    login("Ada")
    result = runner.invoke(app, ["run", str(spec), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert "Outputs:" in result.stdout and "letters version 1 (not promoted)" in result.stdout
    assert "Candidate linucb" in result.stdout and "PASS every_arm_explored" in result.stdout
    assert (out / "report" / "report.html").is_file() and not (
        out / "report" / "report.pdf"
    ).exists()
    verify = runner.invoke(app, ["verify", str(out / "bundle")])
    assert verify.exit_code == 0, verify.output

    js = runner.invoke(
        app, ["run", str(spec), "--out", str(out), "--no-pdf", "--no-register", "--json"]
    )
    assert js.exit_code == 0, js.output
    doc = json.loads(js.stdout)
    assert doc["task"] == "bandit" and doc["decisions"] == 600 and doc["imported"] == 0
    assert "registered" not in doc["outputs"] and doc["outputs"]["report"].endswith("report.html")
    assert doc["run_id"] and len(doc["ope"]) == 2
    from civicml.registry import open_registry

    with open_registry(project_dir=spec.parent) as reg:
        assert reg.get_version("letters", 1).created_by == "Ada"
        (event,) = reg.audit_events(subject="letters/1")
        assert event.details["identity"]["verified"] is False


def test_bad_log_exits_2_with_one_line(tmp_path: Path) -> None:
    spec = letters(tmp_path / "p", rows=20)
    csv = spec.parent / "decisions.csv"
    csv.write_text(csv.read_text().replace(",plain,", ",plainer,", 1), encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(spec), "--out", str(out), "--no-pdf"])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in result.output, err
    assert "column 'arm'" in err and "'plainer'" in err
    assert not out.exists() and not (spec.parent / ".civicml" / "bandits.db").exists()
