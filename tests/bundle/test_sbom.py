"""The CycloneDX SBOM every bundle carries: schema-valid, honest about hashes, hashed and signed
like any other bundle file."""

from __future__ import annotations

import json
from email.message import Message
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from tests.bundle._cyclonedx import cyclonedx_errors
from typer.testing import CliRunner

from civicml._errors import BundleError, IntegrityError
from civicml.bundle import (
    SBOM_FILE,
    build_sbom,
    environment_components,
    purl,
    save_bundle,
    sign_bundle,
    verify_bundle,
    write_keypair,
)
from civicml.bundle._sbom import distribution_component

LINEAGE = {"packages": {"python": "3.11.9", "scikit-learn": "1.5.2", "numpy": "2.0.0"}}


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


def _save(tmp_path: Path, model: Any = None, name: str = "b") -> Any:
    docs = {
        "model_info.json": {"name": "benefits", "task": "binary", "candidate": "logistic"},
        "lineage.json": LINEAGE,
    }
    return save_bundle(tmp_path / name, model=model, documents=docs)


def test_bundle_sbom_validates_against_cyclonedx_schema(
    tmp_path: Path, model: LogisticRegression
) -> None:
    b = _save(tmp_path, model)
    doc = b.read_json(SBOM_FILE)
    assert cyclonedx_errors(doc) == []
    assert (doc["bomFormat"], doc["specVersion"]) == ("CycloneDX", "1.6")
    top = doc["metadata"]["component"]
    assert top["type"] == "machine-learning-model" and top["name"] == "benefits"
    props = {p["name"]: p["value"] for p in top["properties"]}
    assert props["civicml:candidate"] == "logistic"
    assert props["civicml:estimator"].endswith("LogisticRegression")
    libs = {c["name"].lower(): c for c in doc["components"] if c["type"] == "library"}
    sk = libs["scikit-learn"]
    assert sk["version"] == metadata.version("scikit-learn")
    assert sk["purl"] == f"pkg:pypi/scikit-learn@{metadata.version('scikit-learn')}"
    assert sk["licenses"]  # scikit-learn states BSD-3-Clause
    assert len(libs) >= 50  # the whole environment, not the ten lineage packages
    runtime = next(c for c in doc["components"] if c["type"] == "platform")
    assert runtime["version"].count(".") == 2
    (dep,) = doc["dependencies"]
    assert dep["ref"] == "model" and sk["bom-ref"] in dep["dependsOn"]
    refs = {c["bom-ref"] for c in doc["components"]}
    assert set(dep["dependsOn"]) <= refs and len(refs) == len(doc["components"])
    names = [c["name"].lower().replace("_", "-") for c in doc["components"][2:]]
    assert names == sorted(names)


def test_schema_check_can_fail() -> None:
    doc = build_sbom(name="m", components=[])
    doc["components"].append(
        {
            "type": "library",
            "name": "x",
            "version": "1",
            "licenses": [{"license": {"id": "Not-An-SPDX-Id"}}],  # resolved through spdx schema
            "hashes": [{"alg": "SHA-256", "content": "not-hex"}],
        }
    )
    errors = cyclonedx_errors(doc)
    assert any("licenses" in e for e in errors) and any("hashes" in e for e in errors)
    assert cyclonedx_errors({"bomFormat": "CycloneDX"})  # specVersion is required


def test_sbom_is_hashed_in_the_manifest_and_tampering_is_refused(
    tmp_path: Path, model: LogisticRegression
) -> None:
    b = _save(tmp_path, model)
    assert SBOM_FILE in b.manifest.files
    path = b.path / SBOM_FILE
    doc = json.loads(path.read_bytes())
    doc["components"] = [c for c in doc["components"] if c["name"] != "scikit-learn"]
    path.chmod(0o600)
    path.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="sbom.cdx.json.*has changed"):
        verify_bundle(b.path)


def test_sbom_is_covered_by_the_signature(tmp_path: Path) -> None:
    b = _save(tmp_path)
    keys = write_keypair(tmp_path / "keys")
    sig = sign_bundle(b.path, keys.private)
    assert verify_bundle(b.path).signer == sig.fingerprint
    (b.path / SBOM_FILE).unlink()
    with pytest.raises(IntegrityError, match="missing 'sbom.cdx.json'"):
        verify_bundle(b.path)


def test_cli_verify_checks_the_sbom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from civicml.cli import app

    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    b = _save(tmp_path)
    ok = CliRunner().invoke(app, ["verify", str(b.path)])
    assert ok.exit_code == 0, ok.output
    (b.path / SBOM_FILE).write_text("{}")
    bad = CliRunner().invoke(app, ["verify", str(b.path)])
    assert bad.exit_code == 2 and "sbom.cdx.json" in bad.output


@pytest.mark.parametrize("how", ["documents", "files"])
def test_a_supplied_sbom_must_be_cyclonedx(tmp_path: Path, how: str) -> None:
    forged: dict[str, Any] = {SBOM_FILE: {"components": []} if how == "documents" else b"[]"}
    with pytest.raises(BundleError, match="is not a CycloneDX SBOM"):
        save_bundle(tmp_path / "b", **{how: forged})
    assert not (tmp_path / "b").exists() and list(tmp_path.iterdir()) == []


def test_copying_a_bundle_keeps_the_sbom_of_the_training_environment(tmp_path: Path) -> None:
    first = _save(tmp_path, name="first")
    files = {n: first.read_bytes(n) for n in first.files}
    copy = save_bundle(tmp_path / "copy", files=files)
    assert copy.read_bytes(SBOM_FILE) == first.read_bytes(SBOM_FILE)
    assert verify_bundle(copy.path).manifest.files[SBOM_FILE] == first.manifest.files[SBOM_FILE]


class _Dist:
    """A stand-in for importlib.metadata.Distribution."""

    def __init__(self, headers: dict[str, Any], files: dict[str, str]) -> None:
        self.metadata = Message()
        for key, value in headers.items():
            for v in value if isinstance(value, list) else [value]:
                self.metadata[key] = v
        self._files = files

    def read_text(self, name: str) -> str | None:
        return self._files.get(name)


HEX = "a" * 64


def test_licence_and_hashes_come_only_from_what_is_recorded() -> None:
    plain = distribution_component(
        _Dist({"Name": "Foo_Bar", "Version": "1.0+cpu", "License-Expression": "MIT"}, {})
    )
    assert plain is not None
    assert plain["purl"] == "pkg:pypi/foo-bar@1.0%2Bcpu" == purl("Foo_Bar", "1.0+cpu")
    assert plain["licenses"] == [{"expression": "MIT"}]
    assert "hashes" not in plain and "properties" not in plain  # unknown, not invented

    record = "foo/__init__.py,sha256=abc,10\n"
    long_text = "Copyright (c) 2020\n\nPermission is hereby granted..."
    classified = distribution_component(
        _Dist(
            {
                "Name": "foo",
                "Version": "2.0",
                "License": long_text,
                "Classifier": ["License :: OSI Approved :: MIT License", "Topic :: Science"],
            },
            {
                "RECORD": record,
                "direct_url.json": json.dumps(
                    {"url": "file:///w/foo.whl", "archive_info": {"hashes": {"sha256": HEX}}}
                ),
            },
        )
    )
    assert classified is not None
    assert classified["licenses"] == [{"license": {"name": "MIT License"}}]
    assert classified["hashes"] == [{"alg": "SHA-256", "content": HEX}]
    import hashlib

    assert classified["properties"] == [
        {"name": "civicml:record-sha256", "value": hashlib.sha256(record.encode()).hexdigest()}
    ]
    short = distribution_component(
        _Dist(
            {"Name": "bar", "Version": "3", "License": "Apache 2.0"},
            {"direct_url.json": json.dumps({"archive_info": {"hash": "md5=zz"}})},
        )
    )
    assert short is not None and short["licenses"] == [{"license": {"name": "Apache 2.0"}}]
    assert "hashes" not in short  # a malformed hash is dropped, not passed on
    assert distribution_component(_Dist({"Name": "nameless"}, {})) is None
    doc = build_sbom(name="m", components=[plain, classified, short])
    assert cyclonedx_errors(doc) == []


def test_output_is_deterministic_apart_from_serial_and_time() -> None:
    libs = environment_components()
    a = build_sbom(name="m", components=libs, lineage_packages=["numpy"], timestamp="2026-01-01")
    b = build_sbom(name="m", components=libs[::-1], lineage_packages=["numpy"])
    assert a["serialNumber"] != b["serialNumber"]
    for doc in (a, b):
        del doc["serialNumber"]
        del doc["metadata"]["timestamp"]
    assert a == b
