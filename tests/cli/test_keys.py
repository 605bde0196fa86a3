"""``civicml keys …`` and ``civicml verify`` through Typer's test runner (embedded mode), and
training signing its bundle with the person's key."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from civicml.bundle import SIGNATURE, save_bundle
from civicml.bundle._manifest import write_manifest
from civicml.cli import app


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CIVICML_SIGNING_KEY", raising=False)
    monkeypatch.setenv("CIVICML_REGISTRY", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("CIVICML_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: object, code: int = 0) -> Result:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def _bundle(tmp_path: Path, name: str = "b") -> Path:
    docs = {"model_info.json": {"task": "binary"}, "metrics.json": {"test": {"auc": 0.7}}}
    return save_bundle(tmp_path / name, documents=docs).path


def _one_error(result: Result) -> str:
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), result.output
    assert "Traceback" not in result.output
    return err


def test_create_writes_a_private_key_0600_and_refuses_to_overwrite(
    cli: Any, tmp_path: Path
) -> None:
    out = cli("keys", "create", "--json")
    doc = json.loads(out.stdout)
    private = tmp_path / "config" / "civicml" / "keys" / "civicml-signing.key"
    assert doc["private_key"] == str(private)
    assert doc["public_key"] == str(private.with_suffix(".pub"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert len(doc["fingerprint"]) == 64
    assert "PRIVATE" not in out.stdout  # never printed
    before = private.read_bytes()
    err = _one_error(cli("keys", "create", code=2))
    assert "already exists" in err and "--force" in err
    assert private.read_bytes() == before
    cli("keys", "create", "--force")
    assert private.read_bytes() != before
    other = cli("keys", "create", "--out", tmp_path / "other")
    assert "Next: civicml keys register" in other.stdout
    assert (tmp_path / "other" / "civicml-signing.key").is_file()


def test_register_list_revoke(cli: Any, tmp_path: Path, login: Any) -> None:
    login("alice")
    doc = json.loads(cli("keys", "create", "--out", tmp_path / "k", "--json").stdout)
    fp = doc["fingerprint"]
    out = cli("keys", "register", doc["public_key"], "--reason", "my laptop")
    assert f"Registered signing key {fp} for alice" in out.stdout
    listed = json.loads(cli("keys", "list", "--json").stdout)["keys"]
    assert [(k["fingerprint"], k["owner"], k["revoked_at"]) for k in listed] == [
        (fp, "alice", None)
    ]
    assert fp in cli("keys", "list").stdout
    err = _one_error(cli("keys", "register", doc["private_key"], code=2))
    assert "is a private key; nothing was sent" in err
    assert "Missing option '--reason'" in cli("keys", "revoke", fp, code=2).output
    out = cli("keys", "revoke", fp[:12], "--reason", "laptop lost")
    assert f"Revoked signing key {fp} of alice" in out.stdout
    listed = json.loads(cli("keys", "list", "--json").stdout)["keys"]
    assert listed[0]["revoked_by"] == "alice"
    audit = json.loads(cli("models", "audit", "--json").stdout)
    events = audit["events"] if isinstance(audit, dict) else audit
    actions = [(e["action"], e["actor"]) for e in events]
    assert ("key.register", "alice") in actions and ("key.revoke", "alice") in actions


def test_verify_says_unsigned_signed_or_refused(cli: Any, tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    out = cli("verify", bundle)
    assert "unsigned" in out.stdout and "signed by" not in out.stdout
    doc = json.loads(cli("keys", "create", "--json").stdout)
    signed = cli("keys", "sign", bundle)
    assert doc["fingerprint"] in signed.stdout
    out = cli("verify", bundle)
    assert f"signed by {doc['fingerprint']}" in out.stdout
    assert (
        f"signed by {doc['fingerprint']}"
        in cli("verify", bundle, "--signer", doc["fingerprint"][:16]).stdout
    )
    err = _one_error(cli("verify", bundle, "--signer", "0123456789abcdef", code=2))
    assert "not by the key 0123456789abcdef" in err
    # files and manifest rewritten together: the manifest checks out, the signature does not
    (bundle / "metrics.json").write_text(json.dumps({"test": {"auc": 0.99}}))
    write_manifest(bundle, created_at="2026-01-01T00:00:00+00:00", civicml_version="0.1.0")
    err = _one_error(cli("verify", bundle, code=2))
    assert "manifest.json was rewritten after it was signed" in err
    # a malformed signature.json is refused too
    (bundle / SIGNATURE).write_text("{}")
    assert "is malformed" in _one_error(cli("verify", bundle, code=2))


def test_sign_without_a_key_says_how_to_create_one(cli: Any, tmp_path: Path) -> None:
    err = _one_error(cli("keys", "sign", _bundle(tmp_path), code=2))
    assert "There is no signing key" in err and "civicml keys create" in err


def _project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=200),
            "y": np.where(x + rng.normal(scale=0.5, size=200) > 0, "yes", "no"),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    spec = {
        "name": "t",
        "data": {"path": "data.csv"},
        "target": "y",
        "max_trials": 1,
        "cv_folds": 2,
    }
    path = tmp_path / "civicml.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.slow
def test_training_signs_its_bundle_when_a_key_exists(cli: Any, tmp_path: Path) -> None:
    spec = _project(tmp_path)
    out = cli("train", spec, "--out", tmp_path / "unsigned")
    lines = [ln for ln in out.stderr.splitlines() if "unsigned" in ln]
    assert len(lines) == 1 and "civicml keys create" in lines[0], out.stderr
    assert not (tmp_path / "unsigned" / SIGNATURE).exists()
    assert "unsigned" in cli("verify", tmp_path / "unsigned").stdout

    fp = json.loads(cli("keys", "create", "--json").stdout)["fingerprint"]
    out = cli("train", spec, "--out", tmp_path / "signed", "--json")
    assert not any("unsigned" in w for w in json.loads(out.stdout)["warnings"])
    assert f"signed by {fp}" in cli("verify", tmp_path / "signed").stdout
