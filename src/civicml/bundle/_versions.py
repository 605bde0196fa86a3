"""Loading a bundle compares the installed versions of the packages that shaped its model with
the versions it was trained with, and warns or refuses by policy.

Which packages: those the model file needs — scikit-learn, NumPy, SciPy and skops for every
``model.skops``, plus LightGBM, torch, sentence-transformers or transformers when its skops
schema names them — and onnxruntime when the bundle holds ``model.onnx``. Recorded versions come
from the bundle's SBOM (``sbom.cdx.json``) or, for bundles written before it, the ``packages``
of ``lineage.json``; a package neither records is not checked.

The policy is ``CIVICML_VERSION_POLICY`` (or ``load_bundle(..., version_policy=...)``):

``warn`` (the default)
    a different patch or minor version warns (:class:`PackageVersionWarning`, once per
    package); a different **major** version, or a package that is not installed at all, refuses:
    a model's serialised internals are not kept across major versions, so scores could silently
    change or the load crash half way. (onnxruntime missing only warns: serving falls back to
    the skops model.)
``refuse``
    any difference at all refuses (exact versions, for production images built from the
    bundle's pins).
``ignore``
    nothing is compared (the check is recorded as skipped).

Examples
--------
>>> level("1.5.2", "1.5.2"), level("1.5.2", "1.5.3"), level("1.5.2", "1.6.0")
('same', 'patch', 'minor')
>>> level("1.5.2", "2.0.0"), level("1.5.2", None), level("1.5.2", "1.5.2+cpu")
('major', 'missing', 'patch')
"""

from __future__ import annotations

import json
import os
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from civicml._errors import BundleError
from civicml.bundle._sbom import SBOM_FILE, normalise, recorded_versions

__all__ = [
    "POLICIES",
    "POLICY_ENV",
    "PackageVersionWarning",
    "VersionCheck",
    "VersionDifference",
    "check_versions",
    "installed_version",
    "level",
    "model_packages",
    "resolve_policy",
]

POLICY_ENV = "CIVICML_VERSION_POLICY"
POLICIES = ("warn", "refuse", "ignore")

#: Always checked for a ``model.skops``: they define how it deserialises and computes.
_ALWAYS = ("scikit-learn", "numpy", "scipy", "skops")
#: Checked when the skops schema names a module with this prefix.
_BY_MODULE = {
    "lightgbm": "lightgbm",
    "torch": "torch",
    "sentence_transformers": "sentence-transformers",
    "transformers": "transformers",
}
#: Not installed only warns under ``warn``: serving falls back to the skops model without it.
_OPTIONAL = ("onnxruntime",)
_RELEASE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


class PackageVersionWarning(UserWarning):
    """An installed package differs from the version a bundle's model was trained with."""


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or ``None`` when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def level(recorded: str, installed: str | None) -> str:
    """How far ``installed`` is from ``recorded``: same, patch, minor, major or missing.

    A version civicml cannot read as ``MAJOR.MINOR.PATCH`` counts as ``major`` unless the two
    strings are equal; a difference only after the release (``+cpu``, ``rc1``) is ``patch``.
    """
    if installed is None:
        return "missing"
    if installed == recorded:
        return "same"
    a, b = _RELEASE.match(recorded), _RELEASE.match(installed)
    if a is None or b is None:
        return "major"
    ra = [int(x or 0) for x in a.groups()]
    rb = [int(x or 0) for x in b.groups()]
    if ra[0] != rb[0]:
        return "major"
    return "minor" if ra[1] != rb[1] else "patch"


@dataclass(frozen=True)
class VersionDifference:
    """One package whose installed version is not the recorded one."""

    package: str
    recorded: str
    installed: str | None
    level: str

    def describe(self) -> str:
        """One phrase for warnings and errors.

        >>> VersionDifference("numpy", "1.26.4", "2.1.0", "major").describe()
        'numpy 1.26.4 at training, 2.1.0 installed (a different major version)'
        """
        if self.installed is None:
            return f"{self.package} {self.recorded} at training, not installed"
        return (
            f"{self.package} {self.recorded} at training, {self.installed} installed "
            f"(a different {self.level} version)"
        )


@dataclass(frozen=True)
class VersionCheck:
    """What loading compared: the policy, each checked package's recorded version, the
    differences found, and which of them the policy refuses."""

    policy: str
    checked: dict[str, str]
    differences: tuple[VersionDifference, ...] = ()
    refused: tuple[VersionDifference, ...] = ()

    @property
    def ok(self) -> bool:
        """No differences at all."""
        return not self.differences

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "checked": dict(sorted(self.checked.items())),
            "differences": [d.__dict__ for d in self.differences],
            "refused": [d.package for d in self.refused],
        }


def resolve_policy(policy: str | None = None) -> str:
    """``policy``, else ``CIVICML_VERSION_POLICY``, else ``warn``; refuses any other value.

    >>> resolve_policy("REFUSE")
    'refuse'
    """
    source = "version_policy" if policy is not None else POLICY_ENV
    raw = policy if policy is not None else os.environ.get(POLICY_ENV, "")
    value = (raw or "warn").strip().lower()
    if value not in POLICIES:
        raise BundleError.build(
            f"The package version policy {source} is not one civicml knows",
            expected=" or ".join(POLICIES),
            got=raw,
            fix=f"Set {POLICY_ENV} to warn (the default), refuse or ignore",
        )
    return value


def _skops_modules(path: Path) -> set[str]:
    """Top-level module names in a skops file's schema (empty when unreadable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read("schema.json").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return set()
    return {m.split(".")[0] for m in re.findall(r'"__module__":\s*"([A-Za-z0-9_.]+)"', text)}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _recorded(root: Path) -> dict[str, str]:
    lineage = _read_json(root / "lineage.json")
    packages = lineage.get("packages") if isinstance(lineage, dict) else None
    out = {
        normalise(k): v
        for k, v in (packages.items() if isinstance(packages, Mapping) else [])
        if isinstance(v, str) and k != "python"
    }
    out.update(recorded_versions(_read_json(root / SBOM_FILE)))
    return out


def model_packages(root: Path, files: Mapping[str, Any] | None = None) -> list[str]:
    """The packages the model files in bundle folder ``root`` need (see the module docstring)."""
    names = set(files) if files is not None else {p.name for p in root.iterdir()}
    wanted: set[str] = set()
    if "model.skops" in names:
        wanted.update(_ALWAYS)
        modules = _skops_modules(root / "model.skops")
        wanted.update(dist for mod, dist in _BY_MODULE.items() if mod in modules)
    if "model.onnx" in names:
        wanted.update(("onnxruntime", "numpy"))
    return sorted(wanted)


def _hard(d: VersionDifference) -> bool:
    """Refused under ``warn``: a different major version, or a needed package not installed."""
    if d.level == "missing":
        return d.package not in _OPTIONAL
    return d.level == "major"


def check_versions(
    root: str | Path,
    *,
    policy: str | None = None,
    files: Mapping[str, Any] | None = None,
) -> VersionCheck:
    """Compare installed with recorded versions of the model's packages; apply the policy.

    Parameters
    ----------
    root : path
        A verified bundle folder.
    policy : {"warn", "refuse", "ignore"}, optional
        Default: ``CIVICML_VERSION_POLICY``, else ``warn``.
    files : mapping, optional
        The manifest's files (default: the folder's listing).

    Raises
    ------
    BundleError
        The policy refuses a difference (one line naming each package and the fix).
    """
    chosen = resolve_policy(policy)
    folder = Path(root)
    if chosen == "ignore":
        return VersionCheck(policy=chosen, checked={})
    recorded = _recorded(folder)
    checked = {p: recorded[p] for p in model_packages(folder, files) if p in recorded}
    diffs = []
    for package, version in sorted(checked.items()):
        now = installed_version(package)
        how = level(version, now)
        if how != "same":
            diffs.append(VersionDifference(package, version, now, how))
    refused = tuple(d for d in diffs if chosen == "refuse" or _hard(d))
    if refused:
        raise BundleError.build(
            f"Bundle {str(folder)!r} was trained with other package versions: "
            + "; ".join(d.describe() for d in refused),
            fix=(
                "Install the recorded versions ("
                + " ".join(f"'{d.package}=={d.recorded}'" for d in refused)
                + f"), retrain the model here, or set {POLICY_ENV}="
                + ("warn to load it with a warning" if chosen == "refuse" else "ignore")
                + " if you have checked its scores"
            ),
        )
    for d in diffs:
        warnings.warn(
            f"Bundle {str(folder)!r}: {d.describe()}; its scores may differ from training "
            f"(set {POLICY_ENV}=refuse to stop such loads)",
            PackageVersionWarning,
            stacklevel=3,
        )
    return VersionCheck(policy=chosen, checked=checked, differences=tuple(diffs))
