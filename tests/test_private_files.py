"""Private by construction: what civicml creates that can hold personal data, tokens or keys is
``0600`` (folders ``0700``) whatever the umask, through the library as well as the CLI.

Every test runs under ``umask 022`` (the usual default, which makes files ``0644``): a store
that relied on the umask instead of setting modes itself fails here.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def open_to_others(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that is not exactly 0700 / 0600."""
    bad = []
    for path in [root, *root.rglob("*")]:
        want = 0o700 if path.is_dir() else 0o600
        if mode(path) != want:
            bad.append(f"{path.relative_to(root.parent)} {mode(path):04o}")
    return bad


def _project(folder: Path) -> Path:
    folder.mkdir(mode=0o755, exist_ok=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=120)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=120),
            "y": np.where(x + rng.normal(scale=0.5, size=120) > 0, "yes", "no"),
        }
    )
    frame.to_csv(folder / "data.csv", index=False)
    spec = {
        "name": "t",
        "data": {"path": "data.csv"},
        "target": "y",
        "max_trials": 1,
        "cv_folds": 2,
        "models": ["linear"],
    }
    (folder / "civicml.yaml").write_text(yaml.safe_dump(spec))
    return folder / "civicml.yaml"


def test_umask_022_really_makes_world_readable_files(tmp_path: Path) -> None:
    """The attack this file guards against: a plain write is readable by everyone."""
    (tmp_path / "plain").write_text("x")
    assert mode(tmp_path / "plain") == 0o644


def test_train_then_register_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    from civicml.registry import open_registry
    from civicml.spec import load_spec
    from civicml.workflow import run_training

    spec = _project(tmp_path / "project")
    project = spec.parent
    bundle_dir = project / "models" / "bundle"
    outcome = run_training(load_spec(spec), bundle_dir)  # runs store: .civicml/registry.db
    with open_registry(project_dir=project) as reg:
        reg.register(outcome.bundle.path, "t", actor="ada")
        reg.create_token("ci", ("predict",), "ada")
        civicml_dir = project / ".civicml"
        wal = civicml_dir / "registry.db-wal"
        assert wal.exists()  # checked while open: SQLite removes it at the last close
        assert mode(wal) == 0o600 and mode(civicml_dir / "registry.db-shm") == 0o600
        reg.load_version("t/1")  # the download cache too
    assert (civicml_dir / "registry.db").is_file()
    assert (civicml_dir / "registry.audit.key").is_file()
    assert any((civicml_dir / "artifacts").rglob("reference.parquet"))
    assert any((civicml_dir / "cache").rglob("model.skops"))
    assert open_to_others(civicml_dir) == []
    assert open_to_others(bundle_dir.parent) == []  # the bundle, and the folder made for it
    assert mode(project) == 0o755  # a folder that was there already is left alone


def test_cli_run_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from civicml.cli import app

    spec = _project(tmp_path / "project")
    registry = tmp_path / "reg" / "registry.db"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", str(spec), "--out", str(out), "--no-pdf", "--registry", f"sqlite:///{registry}"],
    )
    assert result.exit_code == 0, result.output
    assert open_to_others(registry.parent) == []
    assert {"registry.db", "registry.audit.key"} <= {p.name for p in registry.parent.iterdir()}
    assert open_to_others(out / "bundle") == []
    report = [p for p in out.rglob("*") if p.name in ("report.html", "model_card.md", "atrs.json")]
    assert len(report) == 3 and all(mode(p) == 0o600 for p in report)
    assert mode(out / "contract.json") == 0o600


def test_the_cli_process_starts_with_umask_077(monkeypatch: pytest.MonkeyPatch) -> None:
    import civicml.cli._app as cli_app

    seen: list[int] = []

    def fake_app() -> None:
        now = os.umask(0o022)
        seen.append(now)

    monkeypatch.setattr(cli_app, "app", fake_app)
    cli_app.main()
    assert seen == [0o077]


def test_sqlite_store_file_and_logs_are_private(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from civicml.storage import open_database

    db = open_database(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'runs.db'}")
    try:
        db.write(lambda conn: conn.execute(sa.text("SELECT 1")))
        folder = tmp_path / "new"
        assert open_to_others(folder) == []
        assert {"runs.db", "runs.db-wal", "runs.db-shm"} <= {
            p.name for p in (folder / "deeper").iterdir()
        }
    finally:
        db.close()


def test_an_existing_database_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    from civicml.storage import open_database

    path = tmp_path / "shared.db"
    path.touch()
    os.chmod(path, 0o640)  # a team that shares it through a group
    open_database(f"sqlite:///{path}").close()
    assert mode(path) == 0o640


def test_artifact_store_and_cache_are_private(tmp_path: Path) -> None:
    from civicml.bundle import save_bundle
    from civicml.registry import ArtifactStore

    bundle = save_bundle(
        tmp_path / "b", documents={"model_info.json": {"task": "binary"}}, files={"x.bin": b"1"}
    )
    store = ArtifactStore(str(tmp_path / "artifacts"))
    store.put(bundle)
    store.fetch(bundle.digest, tmp_path / "cache" / "deep")
    assert open_to_others(tmp_path / "artifacts") == []
    assert open_to_others(tmp_path / "cache") == []
    assert open_to_others(tmp_path / "b") == []


def test_signing_keys_and_signatures_are_private(tmp_path: Path) -> None:
    from civicml.bundle import save_bundle, sign_bundle, write_keypair

    keys = write_keypair(tmp_path / "home" / "keys")
    assert open_to_others(tmp_path / "home") == []
    bundle = save_bundle(tmp_path / "b", documents={"model_info.json": {"task": "binary"}})
    sign_bundle(bundle.path, keys.private)
    assert open_to_others(tmp_path / "b") == []


def test_audit_key_is_private(tmp_path: Path) -> None:
    from civicml.registry._audit import load_audit_key

    load_audit_key(tmp_path / "keys" / "audit.key", create_since=1)
    assert open_to_others(tmp_path / "keys") == []


def test_uploaded_bundle_tar_unpacks_private(tmp_path: Path) -> None:
    from civicml.server._tar import pack_folder, unpack_tar

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "reference.parquet").write_bytes(b"rows")
    buf = io.BytesIO()
    pack_folder(src, buf)
    buf.seek(0)
    with tarfile.open(fileobj=io.BytesIO(buf.getvalue())) as tar:
        assert {m.mode for m in tar.getmembers()} == {0o600}
    dest = tmp_path / "dest"
    dest.mkdir(mode=0o700)
    unpack_tar(buf, dest)
    assert open_to_others(dest) == []


def test_monitoring_report_html_is_private(tmp_path: Path) -> None:
    from civicml.monitor._report import MonitorReport

    report = MonitorReport.__new__(MonitorReport)
    report.to_html = lambda: "<p>notes</p>"  # type: ignore[method-assign]
    path = report.save_html(tmp_path / "monitor" / "report.html")
    assert open_to_others(tmp_path / "monitor") == []
    assert path.read_text() == "<p>notes</p>"
