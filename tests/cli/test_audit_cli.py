"""``civicml models audit``: --verify names what differs, --head exports the head, --against
checks an exported head, --repair records an admin's repair (embedded mode)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from civicml.bundle import save_bundle
from civicml.cli._models import app as models_app


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(models_app, [*map(str, args), "--project-dir", str(tmp_path)])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def _registered(cli, tmp_path, login):
    login("rosa")
    bundle = save_bundle(tmp_path / "b", documents={"model_info.json": {"task": "binary"}}).path
    cli("register", bundle, "--name", "benefits")


def test_verify_head_against_and_repair(cli, tmp_path, login):
    _registered(cli, tmp_path, login)
    ok = cli("audit", "--verify").stdout
    assert "Audit log verified: 1 events, keyed" in ok and "every table row matches" in ok
    head = json.loads(cli("audit", "--head").stdout)
    assert head["seq"] == 1 and len(head["hash"]) == 64 and head["mac"] and head["key_id"]
    saved = tmp_path / "head.json"
    saved.write_text(json.dumps(head))
    assert "verified" in cli("audit", "--verify", "--against", saved).stdout

    with sqlite3.connect(tmp_path / "reg.db") as conn:
        conn.execute("UPDATE registry_versions SET status = 'approved', approved_by = 'x'")
    out = cli("audit", "--verify", code=1).output
    assert "registry_versions benefits/1: approved_by is 'x' in the table" in out
    assert "refuses writes" in out and "audit --repair" in out
    body = json.loads(cli("audit", "--verify", "--json", code=1).stdout)
    assert body["ok"] is False and len(body["differences"]) == 2

    login("admin")
    assert "--reason" in cli("audit", "--repair", code=2).output
    repaired = cli("audit", "--repair", "--reason", "Checked with the DBA: a test edit").stdout
    assert "Recorded the repair as audit event 2" in repaired and "1 row(s)" in repaired
    assert "1 recorded repair(s) applied" in cli("audit", "--verify").stdout
    shown = cli("audit").stdout
    assert "audit.repair" in shown and "admin" in shown


def test_against_a_head_the_log_no_longer_holds(cli, tmp_path, login):
    _registered(cli, tmp_path, login)
    saved = tmp_path / "head.json"
    saved.write_text(json.dumps({"seq": 7, "hash": "a" * 64}))
    out = cli("audit", "--verify", "--against", saved, code=1).output
    assert "event 7, which is missing" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert "is not a chain head" in cli("audit", "--verify", "--against", bad, code=2).output
