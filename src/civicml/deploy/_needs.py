"""What the image serving one bundle needs: civicml's extras, the packages that shaped the model
(pinned to the versions it was trained with) and the Python version.

Read from the bundle, never guessed from the machine running ``deploy generate``:

* ``model.skops`` names every type it holds (its ``schema.json``): a text embedding step
  (``civicml.components._embed``, sentence-transformers) or anything from ``torch`` needs the
  ``deep`` extra; ``lightgbm`` needs the OpenMP runtime (``libgomp1``), which every generated
  image installs;
* ``model_info.json`` / ``leaderboard.json``: a chosen candidate whose ``text`` parameter is
  ``embed`` needs ``deep`` too (for a bundle without ``model.skops``);
* ``sbom.cdx.json`` (the bundle's CycloneDX SBOM, every bundle since it existed), else
  ``lineage.json``'s ``packages``: the versions of scikit-learn, SciPy, NumPy, skops, LightGBM
  and onnxruntime the model was fitted with (a skops file loads reliably only with them, and
  loading compares them: ``CIVICML_VERSION_POLICY``) and the Python version.

The ``scale`` extra (psycopg, s3fs) is always needed: the deployment reads the registry from
PostgreSQL and the bundles from object storage.

Examples
--------
>>> import tempfile, json
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "lineage.json").write_text(json.dumps(
...     {"packages": {"python": "3.12.4", "scikit-learn": "1.5.2", "pandas": "2.2.3"}}))
>>> needs = bundle_needs(folder)
>>> needs.extras, needs.pins, needs.python
(('scale',), {'scikit-learn': '1.5.2'}, '3.12')
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BundleNeeds", "bundle_needs"]

#: Packages whose version must match training for the model to load and score the same.
PINNED = ("scikit-learn", "scipy", "numpy", "skops", "lightgbm", "onnxruntime")
#: The bundle's SBOM file (civicml.bundle.SBOM_FILE; deploy imports nothing from bundle).
BUNDLE_SBOM = "sbom.cdx.json"

#: Module prefixes in a model file that need the ``deep`` extra at serving time.
DEEP_MODULES = ("civicml.components._embed", "torch", "sentence_transformers", "transformers")

_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!-]*$")


@dataclass(frozen=True)
class BundleNeeds:
    """What a serving image needs for one bundle.

    Attributes
    ----------
    extras : tuple of str
        civicml extras to install (``scale`` always; ``deep`` when the model embeds text).
    pins : dict of str to str
        Package -> the version the model was trained with.
    python : str or None
        ``MAJOR.MINOR`` of the Python that trained the model (the image's base).
    reasons : tuple of str
        Why each extra is there, for the Dockerfile's comments and the CLI.
    system_packages : tuple of str
        Debian packages the image installs (``libgomp1``: LightGBM's OpenMP runtime).
    pinned_from : str or None
        Where ``pins`` were read: ``sbom.cdx.json``, ``lineage.json`` or ``None`` (nowhere).
    sbom_serial, sbom_sha256 : str or None
        The bundle SBOM's ``serialNumber`` and the sha256 of its file, for the image's SBOM to
        reference (``None``: the bundle has no SBOM).
    """

    extras: tuple[str, ...] = ("scale",)
    pins: dict[str, str] = field(default_factory=dict)
    python: str | None = None
    reasons: tuple[str, ...] = ()
    system_packages: tuple[str, ...] = ("libgomp1",)
    pinned_from: str | None = None
    sbom_serial: str | None = None
    sbom_sha256: str | None = None


def _skops_modules(path: Path) -> set[str]:
    """Every ``__module__`` named in a skops file's schema (empty when unreadable)."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            module = node.get("__module__")
            if isinstance(module, str):
                yield module
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return set()
    return set(walk(schema))


def _read(folder: Path, name: str) -> dict[str, Any]:
    try:
        doc = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _embeds_text(folder: Path) -> bool:
    """Whether the chosen candidate's parameters say text is embedded (no model file needed)."""
    board = _read(folder, "leaderboard.json")
    best = _read(folder, "model_info.json").get("candidate") or board.get("selected")
    for entry in board.get("entries") or []:
        if isinstance(entry, dict) and entry.get("name") == best:
            params = entry.get("params") or {}
            return isinstance(params, dict) and params.get("text") == "embed"
    return False


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sbom_versions(folder: Path) -> tuple[dict[str, str], str | None, str | None]:
    """``(normalised name -> version, serialNumber, file sha256)`` of the bundle's SBOM."""
    try:
        raw = (folder / BUNDLE_SBOM).read_bytes()
        doc = json.loads(raw)
    except (OSError, ValueError):
        return {}, None, None
    if not isinstance(doc, dict) or not isinstance(doc.get("components"), list):
        return {}, None, None
    versions: dict[str, str] = {}
    for c in doc["components"]:
        if isinstance(c, dict) and c.get("type") == "library":
            name, version = c.get("name"), c.get("version")
            if isinstance(name, str) and isinstance(version, str):
                versions.setdefault(_normalise(name), version)
    serial = doc.get("serialNumber")
    return versions, serial if isinstance(serial, str) else None, hashlib.sha256(raw).hexdigest()


def _pins(root: Path) -> tuple[dict[str, str], str | None, str | None, str | None, str]:
    """The model's package pins, where they came from, the SBOM reference, the Python."""
    packages = _read(root, "lineage.json").get("packages") or {}
    lineage = {_normalise(k): v for k, v in packages.items() if isinstance(v, str)}
    sbom, serial, digest = _sbom_versions(root)
    recorded, source = (sbom, BUNDLE_SBOM) if sbom else (lineage, "lineage.json")
    pins = {
        name: recorded[name]
        for name in PINNED
        if isinstance(recorded.get(name), str) and _VERSION.match(recorded[name])
    }
    return pins, (source if pins else None), serial, digest, str(packages.get("python") or "")


def bundle_needs(folder: str | Path) -> BundleNeeds:
    """What serving the bundle in ``folder`` needs (see the module docstring)."""
    root = Path(folder)
    modules = _skops_modules(root / "model.skops")
    extras, reasons = ["scale"], ["scale: the registry on PostgreSQL and bundles on S3"]
    deep = sorted(m for m in modules if m.startswith(DEEP_MODULES))
    if deep:
        extras.insert(0, "deep")
        reasons.insert(0, f"deep: the model holds {deep[0]} (text embeddings need torch)")
    elif _embeds_text(root):
        extras.insert(0, "deep")
        reasons.insert(0, "deep: the chosen candidate embeds text (torch)")
    pins, pinned_from, serial, digest, py = _pins(root)
    python = ".".join(py.split(".")[:2]) if re.match(r"^3\.\d+", py) else None
    if any(m.startswith("lightgbm") for m in modules):
        reasons.append("libgomp1: the model holds LightGBM (OpenMP)")
    return BundleNeeds(
        extras=tuple(extras),
        pins=pins,
        python=python,
        reasons=tuple(reasons),
        pinned_from=pinned_from,
        sbom_serial=serial,
        sbom_sha256=digest,
    )
