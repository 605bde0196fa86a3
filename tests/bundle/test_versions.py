"""Loading compares installed package versions with the bundle's recorded ones, by policy."""

from __future__ import annotations

import json
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from civicml._errors import BundleError
from civicml.bundle import (
    POLICY_ENV,
    SBOM_FILE,
    PackageVersionWarning,
    _versions,
    check_versions,
    load_bundle,
    save_bundle,
)
from civicml.bundle._versions import level, model_packages

SK = metadata.version("scikit-learn")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    dest = tmp_path_factory.mktemp("v") / "b"
    save_bundle(dest, model=model, documents={"model_info.json": {"name": "m"}})
    return dest


def _installed(monkeypatch: pytest.MonkeyPatch, **changed: str | None) -> None:
    """Pretend these distributions (underscores for dashes) are installed at these versions."""
    real = _versions.installed_version
    fake = {k.replace("_", "-"): v for k, v in changed.items()}

    def lookup(name: str) -> str | None:
        return fake[name] if name in fake else real(name)

    monkeypatch.setattr(_versions, "installed_version", lookup)


def _bump(version: str, part: int) -> str:
    nums = [int(p) for p in version.split(".")[:3]] + [0] * 3
    nums[part] += 1
    return ".".join(str(n) for n in nums[: part + 1] + [0] * (2 - part))


@pytest.fixture(autouse=True)
def _no_env_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POLICY_ENV, raising=False)


def test_same_environment_loads_without_warnings(bundle_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PackageVersionWarning)
        b = load_bundle(bundle_dir)
    assert b.versions is not None and b.versions.ok and b.versions.policy == "warn"
    assert b.versions.checked["scikit-learn"] == SK
    assert {"numpy", "scipy", "skops"} <= set(b.versions.checked)
    assert "lightgbm" not in b.versions.checked  # installed, but this model does not use it


@pytest.mark.parametrize("part,name", [(2, "patch"), (1, "minor")])
def test_patch_or_minor_difference_warns_by_default(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch, part: int, name: str
) -> None:
    other = _bump(SK, part)
    _installed(monkeypatch, scikit_learn=other)
    with pytest.warns(PackageVersionWarning, match=f"scikit-learn {SK} at training, {other}"):
        b = load_bundle(bundle_dir)
    assert b.versions is not None
    (diff,) = b.versions.differences
    assert (diff.package, diff.recorded, diff.installed, diff.level) == (
        "scikit-learn",
        SK,
        other,
        name,
    )
    assert b.model is not None


def test_major_difference_or_missing_package_refuses_by_default(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(monkeypatch, scikit_learn=_bump(SK, 0), skops=None)
    with pytest.raises(BundleError) as err:
        load_bundle(bundle_dir)
    text = str(err.value)
    assert "different major version" in text and "skops" in text and "not installed" in text
    assert f"'scikit-learn=={SK}'" in text and f"{POLICY_ENV}=ignore" in text
    assert "\n" not in text


def test_refuse_policy_refuses_even_a_patch_difference(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed(monkeypatch, numpy=_bump(np.__version__, 2))
    monkeypatch.setenv(POLICY_ENV, "refuse")
    with pytest.raises(BundleError, match="numpy .* at training"):
        load_bundle(bundle_dir)
    # the explicit argument wins over the environment
    with pytest.warns(PackageVersionWarning):
        load_bundle(bundle_dir, version_policy="warn")


def test_ignore_policy_compares_nothing(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, scikit_learn="99.0.0")
    monkeypatch.setenv(POLICY_ENV, "ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PackageVersionWarning)
        b = load_bundle(bundle_dir)
    assert b.versions is not None and b.versions.checked == {} and b.versions.policy == "ignore"


def test_unknown_policy_is_one_clear_line(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(POLICY_ENV, "lenient")
    with pytest.raises(BundleError, match="warn or refuse or ignore.*'lenient'") as err:
        load_bundle(bundle_dir)
    assert "\n" not in str(err.value)


def test_old_bundle_without_sbom_uses_the_lineage(
    tmp_path: Path, bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle written before SBOMs (simulated: lineage only) is checked from lineage.json."""
    root = tmp_path / "old"
    root.mkdir()
    (root / "model.skops").write_bytes((bundle_dir / "model.skops").read_bytes())
    (root / "lineage.json").write_text(json.dumps({"packages": {"scikit-learn": "0.24.2"}}))
    with pytest.raises(BundleError, match="scikit-learn 0.24.2 at training"):
        check_versions(root)
    assert check_versions(root, policy="ignore").checked == {}


def test_sbom_wins_over_lineage_and_cannot_be_edited_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bundle_dir: Path
) -> None:
    """Someone editing the recorded versions to get past the check breaks the manifest."""
    dest = tmp_path / "b"
    save_bundle(
        dest,
        files={"model.skops": (bundle_dir / "model.skops").read_bytes()},
        documents={"lineage.json": {"packages": {"scikit-learn": "0.1.0"}}},
    )
    assert check_versions(dest).ok  # the SBOM records what was really installed
    _installed(monkeypatch, scikit_learn=_bump(SK, 0))
    sbom = json.loads((dest / SBOM_FILE).read_text())
    for c in sbom["components"]:
        if c["name"] == "scikit-learn":
            c["version"] = _bump(SK, 0)
    (dest / SBOM_FILE).write_text(json.dumps(sbom))
    with pytest.raises(BundleError, match="has changed"):  # IntegrityError, before any check
        load_bundle(dest)


def test_model_packages_follow_the_model_files(tmp_path: Path, bundle_dir: Path) -> None:
    assert model_packages(bundle_dir) == ["numpy", "scikit-learn", "scipy", "skops"]
    (tmp_path / "model.onnx").write_bytes(b"x")
    assert model_packages(tmp_path) == ["numpy", "onnxruntime"]
    import zipfile

    with zipfile.ZipFile(tmp_path / "model.skops", "w") as z:
        z.writestr("schema.json", json.dumps({"__module__": "lightgbm.sklearn", "content": []}))
    assert "lightgbm" in model_packages(tmp_path)


def test_missing_onnxruntime_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "model.onnx").write_bytes(b"x")
    (tmp_path / "lineage.json").write_text(json.dumps({"packages": {"onnxruntime": "1.20.0"}}))
    _installed(monkeypatch, onnxruntime=None)
    with pytest.warns(PackageVersionWarning, match="onnxruntime 1.20.0 at training, not inst"):
        check_versions(tmp_path)
    with pytest.raises(BundleError):
        check_versions(tmp_path, policy="refuse")


@pytest.mark.parametrize(
    "recorded,installed,expected",
    [
        ("1.5.2", "1.5.2", "same"),
        ("1.5.2", "1.5.10", "patch"),
        ("1.5", "1.5.0", "patch"),
        ("1.5.2", "1.4.9", "minor"),
        ("1.5.2", "0.9.0", "major"),
        ("2.0.0rc1", "2.0.0", "patch"),
        ("weird", "1.0", "major"),
        ("1.0", None, "missing"),
    ],
)
def test_level(recorded: str, installed: Any, expected: str) -> None:
    assert level(recorded, installed) == expected


def test_cli_verify_refuses_a_major_difference_in_one_line(
    bundle_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from civicml.cli import app

    monkeypatch.delenv("CIVICML_DEBUG", raising=False)
    monkeypatch.setenv("COLUMNS", "400")
    _installed(monkeypatch, scikit_learn=_bump(SK, 0))
    result = CliRunner().invoke(app, ["verify", str(bundle_dir)])
    assert result.exit_code == 2
    assert "different major version" in result.output and "Traceback" not in result.output
    monkeypatch.setenv(POLICY_ENV, "ignore")
    assert CliRunner().invoke(app, ["verify", str(bundle_dir)]).exit_code == 0
