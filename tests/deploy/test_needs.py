"""What the image installs comes from the bundle: extras, pins, Python, libgomp1, the source."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import yaml

from civicml._errors import SpecError
from civicml.deploy import (
    CivicmlSource,
    DeployOptions,
    bundle_needs,
    civicml_source,
    generate_deployment,
    unwritable_paths,
)

INDEX = CivicmlSource("index", "1.0.0")


def _fake_skops(path: Path, *modules: str) -> None:
    """A model.skops whose schema names ``modules`` (nested, as skops writes them)."""
    schema = {
        "__class__": "Pipeline",
        "__module__": "sklearn.pipeline",
        "content": {"steps": [{"__class__": "X", "__module__": m, "content": {}} for m in modules]},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))


def _bundle(tmp_path: Path, *modules: str, lineage: dict | None = None) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    _fake_skops(folder / "model.skops", *modules)
    packages = {"python": "3.12.7", "scikit-learn": "1.5.2", "lightgbm": "4.5.0", "numpy": "2.1.3"}
    (folder / "lineage.json").write_text(json.dumps(lineage or {"packages": packages}))
    return folder


def test_a_model_that_embeds_text_gets_the_deep_extra(tmp_path: Path) -> None:
    folder = _bundle(tmp_path, "civicml.components._embed", "lightgbm.sklearn")
    needs = bundle_needs(folder)
    assert needs.extras == ("deep", "scale")
    assert needs.python == "3.12"
    assert needs.pins == {"scikit-learn": "1.5.2", "lightgbm": "4.5.0", "numpy": "2.1.3"}
    files = generate_deployment("claims@production", tmp_path / "out", bundle=folder, source=INDEX)
    docker = files.dockerfile.read_text()
    assert docker.startswith("FROM python:3.12-slim")
    assert 'pip install "civicml[deep,scale]==1.0.0"' in docker
    assert '"scikit-learn==1.5.2"' in docker and '"lightgbm==4.5.0"' in docker
    assert "civicml[scale]" not in docker
    assert "libgomp1" in docker and "deep: the model holds civicml.components._embed" in docker


def test_a_plain_model_gets_scale_only_and_still_libgomp(tmp_path: Path) -> None:
    folder = _bundle(tmp_path, "sklearn.linear_model._logistic", lineage={"packages": {}})
    needs = bundle_needs(folder)
    assert needs.extras == ("scale",) and needs.pins == {} and needs.python is None
    files = generate_deployment("claims@production", tmp_path / "out", bundle=folder, source=INDEX)
    docker = files.dockerfile.read_text()
    assert "FROM python:3.11-slim" in docker and "[deep" not in docker
    assert "apt-get install -y --no-install-recommends libgomp1" in docker


def test_the_chosen_candidate_embedding_text_needs_deep_without_a_model_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "model_info.json").write_text(json.dumps({"candidate": "lgbm-2"}))
    entries = [{"name": "lgbm-1", "params": {}}, {"name": "lgbm-2", "params": {"text": "embed"}}]
    (folder / "leaderboard.json").write_text(json.dumps({"entries": entries}))
    assert bundle_needs(folder).extras == ("deep", "scale")
    entries[1]["params"] = {"text": "tfidf"}
    (folder / "leaderboard.json").write_text(json.dumps({"entries": entries}))
    assert bundle_needs(folder).extras == ("scale",)


def test_the_image_installs_this_civicml_source(tmp_path: Path) -> None:
    source = civicml_source()
    assert source.kind == "source" and source.path is not None  # the venv's editable install
    folder = _bundle(tmp_path, "sklearn.pipeline")
    files = generate_deployment("claims@production", tmp_path / "out", bundle=folder)
    docker = files.dockerfile.read_text()
    assert "COPY civicml-src/ /opt/civicml/" in docker
    assert 'pip install "/opt/civicml[scale]"' in docker and "civicml==" not in docker
    copied = tmp_path / "out" / "civicml-src"
    assert (copied / "pyproject.toml").is_file() and (copied / "README.md").is_file()
    assert (copied / "src" / "civicml" / "deploy" / "_generate.py").is_file()
    assert not list(copied.rglob("__pycache__"))


def test_an_explicit_wheel_is_copied_and_installed(tmp_path: Path) -> None:
    wheel = tmp_path / "civicml-9.9.9-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    folder = _bundle(tmp_path, "sklearn.pipeline")
    files = generate_deployment("claims@production", tmp_path / "out", bundle=folder, wheel=wheel)
    docker = files.dockerfile.read_text()
    assert f"COPY wheels/{wheel.name} /opt/civicml/{wheel.name}" in docker
    assert f'pip install "/opt/civicml/{wheel.name}[scale]"' in docker
    assert (tmp_path / "out" / "wheels" / wheel.name).read_bytes() == b"PK"
    with pytest.raises(SpecError, match="not a civicml wheel"):
        civicml_source(tmp_path / "other.whl")


def test_every_path_serve_writes_is_a_writable_volume(tmp_path: Path) -> None:
    folder = _bundle(tmp_path, "sklearn.pipeline")
    files = generate_deployment(
        "claims@production",
        tmp_path / "out",
        bundle=folder,
        source=INDEX,
        options=DeployOptions(state_claim="state-pvc"),
    )
    dep = yaml.safe_load(files.deployment.read_text())
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["args"][-2:] == ["--project-dir", "/var/lib/civicml"]
    assert {"name": "state", "mountPath": "/var/lib/civicml"} in c["volumeMounts"]
    assert {"name": "state", "persistentVolumeClaim": {"claimName": "state-pvc"}} in pod["volumes"]
    assert unwritable_paths(dep) == []
    isvc = yaml.safe_load(files.inferenceservice.read_text())
    assert unwritable_paths(isvc) == []
    docker = files.dockerfile.read_text()
    assert "WORKDIR /var/lib/civicml" in docker and '"--project-dir", "/var/lib/civicml"' in docker
    # the attack: the manifests as they were (no state volume, no --project-dir) are caught
    c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "state"]
    c["args"] = c["args"][:-2]
    problems = unwritable_paths(dep)
    assert any("no --project-dir" in p for p in problems), problems
    c["args"] += ["--project-dir", "/var/lib/civicml"]
    assert any("/var/lib/civicml is on the read-only root" in p for p in unwritable_paths(dep))


def test_a_bundle_folder_that_does_not_exist_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="bundle folder to deploy does not exist"):
        generate_deployment("claims@production", tmp_path / "out", bundle=tmp_path / "nope")
    assert not (tmp_path / "out").exists()
