"""Retirement disposes (issue 21): the decision log's retention period is applied, each
deletion audited with its rows and sha256, and a disposal record is written and audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from civicml.cli import app
from civicml.registry import open_registry
from civicml.serve import DISPOSAL_ACTION, dispose_retired
from registry.conftest import GOOD_SPEC, no_atrs_gaps


def _part(folder: Path, when: dt.datetime, rows: int, n: int) -> Path:
    (folder / "predictions").mkdir(parents=True, exist_ok=True)
    stamp = when.strftime("%Y%m%dT%H%M%S%f")
    path = folder / "predictions" / f"part-{stamp}-1-{n:06d}.parquet"
    pd.DataFrame({"x": range(rows)}).to_parquet(path)
    return path


def _retired(tmp_path: Path, spec: dict[str, Any]) -> tuple[Any, Any]:
    from civicml.bundle import save_bundle

    reg = open_registry(
        f"sqlite:///{tmp_path / '.civicml' / 'registry.db'}",
        artifacts=str(tmp_path / "artifacts"),
        project_dir=tmp_path,
    )
    reg.atrs_check = no_atrs_gaps
    bundle = save_bundle(
        tmp_path / "bundle",
        documents={"model_info.json": {"task": "binary", "target": "y"}, "spec.json": spec},
    )
    v = reg.register(bundle.path, "benefits", actor="rosa")
    reg.retire("benefits", v.version, actor="ada", reason="replaced by the new scheme")
    return reg, v


NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


def test_retirement_applies_the_bundles_retention_and_audits_each_deletion(
    tmp_path: Path,
) -> None:
    reg, v = _retired(tmp_path, {**GOOD_SPEC, "retention_days": 30})
    log = tmp_path / ".civicml" / "decisions" / "benefits"
    old = _part(log, NOW - dt.timedelta(days=90), 7, 1)
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    new = _part(log, NOW - dt.timedelta(days=2), 3, 2)
    path, record = dispose_retired(reg, "benefits", v.version, project_dir=tmp_path, now=NOW)
    assert not old.exists() and new.exists()
    gone = record["decision_log"]["deleted"]
    assert [(d["rows"], d["sha256"]) for d in gone] == [(7, digest)]
    assert record["decision_log"]["retention_from"] == "retention_days in civicml.yaml"
    assert record["decision_log"]["remaining"]["parts"] == 1
    assert record["decision_log"]["remaining"]["all_deleted_by"] == "2027-01-03"
    assert record["atrs"] == {"phase": "Retired", "date_archive": "2026-12-06"}
    assert record["retired_by"] == "ada" and record["reason"] == "replaced by the new scheme"
    assert path == tmp_path / ".civicml" / "disposals" / "benefits-v1.json"
    assert (path.stat().st_mode & 0o077) == 0
    events = reg.audit_events()
    deletion = [e for e in events if e.action == "decision_log.delete"]
    assert [(e.details["rows"], e.details["sha256"]) for e in deletion] == [(7, digest)]
    disposal = [e for e in events if e.action == DISPOSAL_ACTION]
    assert disposal[-1].details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reg.verify_audit().ok
    reg.close()


def test_no_retention_period_deletes_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CIVICML_LOG_RETENTION_DAYS", raising=False)
    reg, v = _retired(tmp_path, GOOD_SPEC)
    log = tmp_path / ".civicml" / "decisions" / "benefits"
    old = _part(log, NOW - dt.timedelta(days=900), 5, 1)
    _, record = dispose_retired(reg, "benefits", v.version, project_dir=tmp_path, now=NOW)
    assert old.exists() and record["decision_log"]["deleted"] == []
    assert "No retention period is set" in record["decision_log"]["note"]
    # the CLI's period applies when the bundle sets none
    _, record = dispose_retired(
        reg, "benefits", v.version, project_dir=tmp_path, retention_days=365, now=NOW
    )
    assert not old.exists() and record["decision_log"]["retention_from"] == "CLI"
    reg.close()


def test_only_a_retired_version_is_disposed(tmp_path: Path) -> None:
    from civicml.bundle import save_bundle

    reg = open_registry(
        f"sqlite:///{tmp_path / 'r.db'}", artifacts=str(tmp_path / "a"), project_dir=tmp_path
    )
    b = save_bundle(tmp_path / "b", documents={"model_info.json": {"task": "binary"}})
    v = reg.register(b.path, "benefits", actor="rosa")
    with pytest.raises(ValueError, match="not retired"):
        dispose_retired(reg, "benefits", v.version, project_dir=tmp_path)
    assert not (tmp_path / ".civicml" / "disposals").exists()
    reg.close()


def test_the_cli_retires_and_reports_the_disposal(tmp_path: Path) -> None:
    from civicml.bundle import save_bundle

    db = f"sqlite:///{tmp_path / '.civicml' / 'registry.db'}"
    reg = open_registry(db, artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
    spec = {**GOOD_SPEC, "retention_days": 1}
    b = save_bundle(
        tmp_path / "b",
        documents={"model_info.json": {"task": "binary"}, "spec.json": spec},
    )
    reg.register(b.path, "benefits", actor="rosa")
    reg.close()
    log = tmp_path / ".civicml" / "decisions" / "benefits"
    old = _part(log, dt.datetime.now(dt.UTC) - dt.timedelta(days=10), 4, 1)
    args = ["models", "retire", "benefits", "1", "--reason", "scheme closed"]
    res = CliRunner().invoke(
        app,
        [
            *args,
            "--registry",
            db,
            "--artifacts",
            str(tmp_path / "artifacts"),
            "--project-dir",
            str(tmp_path),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["status"] == "retired" and out["disposal"]["decision_log"]["deleted_rows"] == 4
    assert not old.exists() and Path(out["disposal"]["path"]).is_file()
