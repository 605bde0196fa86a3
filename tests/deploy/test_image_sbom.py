"""``deploy generate`` writes a CycloneDX SBOM of the image: what is pinned, what floats, and a
reference to the bundle's own SBOM."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from tests.bundle._cyclonedx import cyclonedx_errors

import civicml
from civicml.bundle import SBOM_FILE, save_bundle
from civicml.deploy import CivicmlSource, civicml_source, generate_deployment
from civicml.deploy._generate import civicml_requirements, image_sbom
from civicml.deploy._needs import BundleNeeds

HERE = CivicmlSource("index", civicml.__version__)  # requirements from the installed metadata


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Any:
    x = np.random.default_rng(0).normal(size=(30, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    lineage = {"packages": {"python": "3.12.7", "scikit-learn": metadata.version("scikit-learn")}}
    return save_bundle(
        tmp_path_factory.mktemp("b") / "bundle",
        model=model,
        documents={"model_info.json": {"name": "claims"}, "lineage.json": lineage},
    )


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["components"]}


def _pin(component: dict[str, Any]) -> str:
    props = {p["name"]: p["value"] for p in component.get("properties", [])}
    return props["civicml:pin"]


def test_image_sbom_validates_and_says_what_is_pinned(tmp_path: Path, bundle: Any) -> None:
    files = generate_deployment(
        "claims@production", tmp_path / "out", bundle=bundle.path, source=HERE
    )
    assert files.sbom is not None and files.sbom in files.all()
    doc = json.loads(files.sbom.read_text())
    assert cyclonedx_errors(doc) == []
    top = doc["metadata"]["component"]
    assert (top["type"], top["name"], top["version"]) == ("container", "civicml-claims", "latest")
    parts = _by_name(doc)
    base = parts["python"]
    assert base["type"] == "container" and base["version"] == "3.12-slim"
    assert _pin(base) == "floating" and _pin(parts["libgomp1"]) == "floating"
    assert _pin(parts["civicml"]) == "exact" and parts["civicml"]["version"] == civicml.__version__
    for name in ("scikit-learn", "scipy", "numpy", "skops"):  # the model's packages, from the SBOM
        assert parts[name]["version"] == metadata.version(name) and _pin(parts[name]) == "exact"
    assert "psycopg" in parts and "s3fs" in parts  # the scale extra
    assert "pytest" not in parts and "torch" not in parts  # dev and deep extras are not installed
    docker = files.dockerfile.read_text()
    assert "# Floating: the base image tag" in docker
    if files.lock is not None:  # trained in the locked environment (make's .venv, CI)
        assert _pin(parts["pandas"]) == "exact" and parts["pandas"]["version"]
        assert "--require-hashes -r /tmp/requirements.lock" in docker
        assert "# Pinned: every package is pinned by version and sha256 from serve.lock" in docker
    else:  # trained elsewhere: the model's versions are pinned, the rest floats
        assert _pin(parts["pandas"]) == "floating" and "version" not in parts["pandas"]
        assert f'"scipy=={metadata.version("scipy")}"' in docker
        assert "# Pinned: " in docker and "from the bundle's sbom.cdx.json" in docker


def test_image_sbom_refers_to_the_bundle_sbom(tmp_path: Path, bundle: Any) -> None:
    files = generate_deployment(
        "claims@production", tmp_path / "out", bundle=bundle.path, source=HERE
    )
    assert files.bundle_sbom is not None
    assert files.bundle_sbom.read_bytes() == (bundle.path / SBOM_FILE).read_bytes()
    trained = json.loads(files.bundle_sbom.read_text())
    (ref,) = _by_name(json.loads(files.sbom.read_text()))["claims@production"]["externalReferences"]
    assert ref["type"] == "bom"
    assert ref["url"] == trained["serialNumber"].replace("urn:uuid:", "urn:cdx:") + "/1"
    assert ref["hashes"] == [
        {"alg": "SHA-256", "content": bundle.manifest.files[SBOM_FILE]["sha256"]}
    ]


def test_a_bundle_without_sbom_pins_from_its_lineage(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "lineage.json").write_text(json.dumps({"packages": {"scikit-learn": "1.5.2"}}))
    files = generate_deployment("m@prod", tmp_path / "out", bundle=folder, source=HERE)
    assert files.bundle_sbom is None and not (tmp_path / "out" / "bundle.cdx.json").exists()
    doc = json.loads(files.sbom.read_text()) if files.sbom else {}
    assert cyclonedx_errors(doc) == []
    model = _by_name(doc)["m@prod"]
    assert "externalReferences" not in model
    assert _by_name(doc)["scikit-learn"]["version"] == "1.5.2"
    assert "from the bundle's lineage.json" in files.dockerfile.read_text()


def test_requirements_come_from_the_civicml_the_image_installs() -> None:
    repo = Path(__file__).resolve().parents[2]
    source = civicml_requirements(CivicmlSource("source", "x", repo), ("scale",))
    assert source["pandas"].startswith(">=") and "psycopg" in source and "pytest" not in source
    assert civicml_requirements(CivicmlSource("index", "0.0.0.not-this"), ("scale",)) == {}
    assert civicml_source().kind in ("source", "wheel", "index")


def test_exact_requirements_are_pinned_and_ranges_float() -> None:
    doc = image_sbom(
        "m@prod",
        "registry.example/civicml-m:1.2",
        BundleNeeds(pins={"numpy": "2.1.0"}, python="3.12"),
        CivicmlSource("index", "1.0.0"),
        requirements={"numpy": ">=1.26", "torch": "==2.13.0", "onnx": "<1.24,>=1.19"},
    )
    assert cyclonedx_errors(doc) == []
    parts = _by_name(doc)
    assert (parts["numpy"]["version"], _pin(parts["numpy"])) == ("2.1.0", "exact")
    assert (parts["torch"]["version"], _pin(parts["torch"])) == ("2.13.0", "exact")
    assert "version" not in parts["onnx"] and _pin(parts["onnx"]) == "floating"
    top = doc["metadata"]["component"]
    assert (top["name"], top["version"]) == ("registry.example/civicml-m", "1.2")
    deps = {d["ref"]: d["dependsOn"] for d in doc["dependencies"]}
    refs = {c["bom-ref"] for c in doc["components"]}
    assert all(set(v) <= refs for v in deps.values()) and "model" in deps["image"]
