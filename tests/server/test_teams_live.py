"""Several teams through the real faces (issue 23): ``civicml tokens create --team`` and
``civicml models promote --expect`` against a live server over HTTP (the CLI, the HTTP client in
``registry/_remote.py`` and the server), and the same CLI on an embedded registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from civicml._errors import ConflictError, NotFoundError
from live_server import Served, civicml_server
from server._support import SPEC

runner = CliRunner()


def _bundle(tmp: Path, tag: str) -> Path:
    from civicml.bundle import save_bundle

    docs: dict[str, Any] = {
        "model_info.json": {"task": "binary", "target": "y", "tag": tag},
        "checks.json": {"checks": [{"name": "auc", "passed": True, "evidence": "0.8"}]},
        "spec.json": SPEC,
    }
    return save_bundle(tmp / "plain" / tag, documents=docs, files={"m.bin": tag.encode()}).path


def test_team_token_and_compare_and_set_promote_over_http(tmp_path, monkeypatch) -> None:
    from civicml.cli._tokens import app as tokens_app

    with civicml_server(tmp_path, monkeypatch, Served) as live:
        out = live.cli(
            "create", "--name", "ben", "--scope", "trainer", "--team", "benefits",
            "--owner", "ben@example.gov.uk", "--json", token=live.admin, app=tokens_app,
        )  # fmt: skip
        made = json.loads(out.stdout)
        assert made["models"] == ["benefits-*"]
        ben = made["token"]
        listed = live.cli("list", token=live.admin, app=tokens_app)
        assert "benefits-*" in listed.stdout
        with live.registry(ben) as reg:
            for i in range(3):
                path, _ = live.signed_copy(ben, _bundle(tmp_path, f"b{i}"), f"b{i}")
                reg.register(path, "benefits-triage", reason="test")
            reg.promote("benefits-triage", 1, "staging", expect="none")
            with pytest.raises(ConflictError, match="points at v1, not nothing"):
                reg.promote("benefits-triage", 2, "staging", expect="none")
            reg.promote("benefits-triage", 2, "staging", expect=1)
            with pytest.raises(NotFoundError, match="that this token can reach"):
                reg.get_model("housing-triage")
            assert [m.name for m in reg.list_models()] == ["benefits-triage"]
        promote = ["promote", "benefits-triage", "3", "--alias", "staging"]
        stale = live.cli(*promote, "--expect", "1", token=ben, code=2)
        assert "points at v2, not v1" in stale.output and "--expect 2" in stale.output
        live.cli(*promote, "--expect", "2", token=ben)
        with live.registry(live.admin) as reg:
            assert reg.get_alias("benefits-triage", "staging").version == 3
            assert reg.verify_audit().ok


def test_promote_expect_on_an_embedded_registry(tmp_path, monkeypatch) -> None:
    from civicml.cli._models import app as models_app
    from civicml.registry import open_registry

    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with open_registry(db, artifacts=str(tmp_path / "a"), project_dir=tmp_path) as reg:
        for i in range(2):
            reg.register(_bundle(tmp_path, f"e{i}"), "benefits", actor="ada")
    where = ["--registry", db, "--artifacts", str(tmp_path / "a"), "--project-dir", str(tmp_path)]

    def promote(*args: str) -> Any:
        return runner.invoke(
            models_app, ["promote", "benefits", *args, "--alias", "staging", *where]
        )

    assert promote("1", "--expect", "none").exit_code == 0
    stale = promote("2", "--expect", "none")
    assert stale.exit_code == 2 and "points at v1, not nothing" in stale.output
    assert "Traceback" not in stale.output
    bad = promote("2", "--expect", "latest")
    assert bad.exit_code == 2 and "expected version of the alias is not valid" in bad.output
    assert promote("2", "--expect", "1").exit_code == 0
    assert promote("1").exit_code == 0  # no expectation: moves as before


def test_tokens_create_models_and_team_on_an_embedded_registry(tmp_path, monkeypatch) -> None:
    from civicml.cli._tokens import app as tokens_app
    from civicml.registry import open_registry

    monkeypatch.delenv("CIVICML_REGISTRY", raising=False)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    where = ["--registry", db, "--artifacts", str(tmp_path / "a"), "--project-dir", str(tmp_path)]
    args = ["create", "--scope", "viewer", *where, "--json"]
    made = runner.invoke(
        tokens_app,
        [*args, "--name", "t1", "--models", "fraud-a, fraud-b*", "--models", "x", "--team", "hs_"],
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["models"] == ["fraud-a", "fraud-b*", "x", "hs_*"]
    for bad in (["--models", "*"], ["--team", "a b"], ["--models", "a*b"]):
        refused = runner.invoke(tokens_app, [*args, "--name", "t2", *bad])
        assert refused.exit_code == 2, (bad, refused.output)
        assert "model scope pattern is not allowed" in refused.output
    with open_registry(db, artifacts=str(tmp_path / "a"), project_dir=tmp_path) as reg:
        assert [t.name for t in reg.list_tokens()] == ["t1"]  # nothing half-written
