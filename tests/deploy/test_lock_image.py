"""The image installs civicml's hashed serve lock when the model's versions match it."""

from __future__ import annotations

import json
from pathlib import Path

from civicml.deploy import CivicmlSource, generate_deployment
from civicml.deploy._lock import LOCKS_DIR, choose_lock, parse_lock

INDEX = CivicmlSource("index", "1.0.0")


def _bundle(tmp_path: Path, packages: dict[str, str]) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "lineage.json").write_text(json.dumps({"packages": packages}))
    return folder


def _locked(*names: str) -> dict[str, str]:
    pins = parse_lock((LOCKS_DIR / "serve.lock").read_text(encoding="utf-8"))
    return {n: pins[n] for n in names}


def test_matching_versions_install_the_lock_hash_checked(tmp_path: Path) -> None:
    trained = _locked("scikit-learn", "lightgbm", "numpy", "skops")
    files = generate_deployment(
        "claims@production", tmp_path / "out", bundle=_bundle(tmp_path, trained), source=INDEX
    )
    docker = files.dockerfile.read_text()
    assert "pip install --require-hashes -r /tmp/requirements.lock" in docker
    assert 'pip install --no-deps "civicml==1.0.0"' in docker
    assert f'"scikit-learn=={trained["scikit-learn"]}"' not in docker  # no unhashed pins
    assert files.lock is not None
    assert files.lock.read_bytes() == (LOCKS_DIR / "serve.lock").read_bytes()
    assert "--hash=sha256:" in files.lock.read_text()
    sbom = json.loads(files.sbom.read_text())  # type: ignore[union-attr]
    libs = [c for c in sbom["components"] if c.get("purl", "").startswith("pkg:pypi/")]
    pins = {p["value"] for c in libs for p in c["properties"] if p["name"] == "civicml:pin"}
    assert pins == {"exact"} and len(libs) > 50


def test_a_model_trained_with_other_versions_pins_them_and_says_so(tmp_path: Path) -> None:
    trained = {**_locked("numpy"), "scikit-learn": "1.4.0"}
    files = generate_deployment(
        "claims@production", tmp_path / "out", bundle=_bundle(tmp_path, trained), source=INDEX
    )
    docker = files.dockerfile.read_text()
    assert files.lock is None and "--require-hashes" not in docker
    assert '"scikit-learn==1.4.0"' in docker
    assert "not installed from serve.lock: the model was trained with scikit-learn 1.4.0" in docker
    assert "scikit-learn 1.4.0" in files.lock_note


def test_the_deep_extra_takes_the_deep_lock() -> None:
    choice = choose_lock(("deep", "scale"), {})
    assert choice.name == "serve-deep.lock" and choice.usable
    assert "torch" in choice.pins and "torch" not in choose_lock(("scale",), {}).pins
