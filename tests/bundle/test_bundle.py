from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from civicml._errors import BundleError, IntegrityError
from civicml.bundle import MANIFEST, load_bundle, save_bundle, verify_bundle
from civicml.bundle._serialise import TRUSTED_TYPES, load_model


@pytest.fixture
def model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _bundle(tmp_path: Path, model: object) -> Path:
    dest = tmp_path / "b"
    save_bundle(
        dest,
        model=model,
        documents={"model_info.json": {"task": "binary", "x": float("nan")}},
        tables={"reference.parquet": pd.DataFrame({"a": [1, 2]})},
        files={"notes/readme.txt": b"hello"},
    )
    return dest


def test_round_trip_verifies_and_loads(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    b = load_bundle(dest)
    assert b.info == {"task": "binary", "x": None}
    assert b.read_table("reference.parquet")["a"].tolist() == [1, 2]
    assert b.read_bytes("notes/readme.txt") == b"hello"
    np.testing.assert_allclose(b.model.coef_, model.coef_)
    manifest = json.loads((dest / MANIFEST).read_text())
    assert set(manifest["files"]) == {
        "model.skops",
        "model_info.json",
        "reference.parquet",
        "notes/readme.txt",
        "sbom.cdx.json",
    }
    assert len(b.digest) == 64


def test_changed_file_is_refused(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    (dest / "model_info.json").write_text('{"task": "regression"}')
    with pytest.raises(IntegrityError, match="'model_info.json'.*has changed"):
        load_bundle(dest)


def test_extra_file_is_refused(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    (dest / "evil.py").write_text("print('x')")
    with pytest.raises(IntegrityError, match="does not list: 'evil.py'"):
        verify_bundle(dest)


def test_missing_file_is_refused(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    (dest / "notes/readme.txt").unlink()
    with pytest.raises(IntegrityError, match="missing 'notes/readme.txt'"):
        verify_bundle(dest)


def test_symlink_is_refused(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    target = dest / "notes/readme.txt"
    target.unlink()
    os.symlink("/etc/hostname", target)
    with pytest.raises(IntegrityError, match="not a plain file"):
        verify_bundle(dest)


def test_edited_manifest_is_refused(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    doc = json.loads((dest / MANIFEST).read_text())
    doc["files"]["model_info.json"]["sha256"] = "0" * 64
    (dest / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError):
        verify_bundle(dest)
    (dest / MANIFEST).write_text("not json")
    with pytest.raises(IntegrityError, match="malformed"):
        verify_bundle(dest)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        verify_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="no manifest.json"):
        verify_bundle(tmp_path)


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    import skops.io as sio

    class Sneaky:  # a type civicml never trusts
        pass

    path = tmp_path / "m.skops"
    sio.dump({"x": Sneaky()}, str(path))
    with pytest.raises(BundleError, match="types civicml does not trust"):
        load_model(path)


def test_trusted_types_are_owned_by_code() -> None:
    assert "lightgbm.basic.Booster" in TRUSTED_TYPES
    assert not any(t.startswith(("builtins.eval", "os.", "subprocess")) for t in TRUSTED_TYPES)


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    for bad in ("../x.json", "/abs.json", "a\\b.json", "manifest.json", "a/../b.json"):
        with pytest.raises(BundleError):
            save_bundle(tmp_path / "b", documents={bad: {}})
        assert not (tmp_path / "b").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temp cleaned up


def test_existing_destination_needs_overwrite(tmp_path: Path, model: LogisticRegression) -> None:
    dest = _bundle(tmp_path, model)
    with pytest.raises(BundleError, match="already exists.*--overwrite"):
        save_bundle(dest, documents={"a.json": {}})
    b = save_bundle(dest, documents={"a.json": {"v": 2}}, overwrite=True)
    assert b.files == ["a.json", "sbom.cdx.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        save_bundle(tmp_path / "b", documents={"a.json": {"x": Unserialisable()}})
    assert list(tmp_path.iterdir()) == []
