"""A CycloneDX 1.6 software bill of materials (JSON) of the Python environment that wrote a
bundle: every installed distribution, the Python runtime and the operating system.

Each distribution (``importlib.metadata``) becomes a ``library`` component with its name,
version and package URL (``pkg:pypi/NAME@VERSION``), its licence where the metadata states one
(``License-Expression``, else a one-line ``License`` field, else the ``License ::`` trove
classifiers) and its hashes *where known*. What is known is said plainly:

* an installed distribution does not remember the hash of the wheel it came from, except when
  the installer wrote one into ``direct_url.json`` (``pip install URL#sha256=...``, a local
  archive); only then does the component carry ``hashes`` (``SHA-256`` of that archive);
* every installed distribution has a ``RECORD`` file listing each installed file with its sha256;
  its own sha256 is recorded as the property ``civicml:record-sha256``, which pins the installed
  files without claiming to be the archive's hash.

``metadata.component`` is the model (``machine-learning-model``), which ``dependencies`` links to
the packages that shaped it (the lineage's). Output is deterministic (components sorted by
normalised name) apart from ``serialNumber`` and ``metadata.timestamp``.

Examples
--------
>>> doc = build_sbom(name="claims", lineage_packages=["scikit-learn"])
>>> doc["bomFormat"], doc["specVersion"], doc["metadata"]["component"]["type"]
('CycloneDX', '1.6', 'machine-learning-model')
>>> any(c["name"] == "scikit-learn" for c in doc["components"])
True
>>> normalise("Scikit_Learn"), purl("scikit-learn", "1.5.2+cpu")
('scikit-learn', 'pkg:pypi/scikit-learn@1.5.2%2Bcpu')
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import json
import platform
import re
import sys
import uuid
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any
from urllib.parse import quote

__all__ = [
    "SBOM_FILE",
    "SPEC_VERSION",
    "build_sbom",
    "distribution_component",
    "environment_components",
    "normalise",
    "purl",
    "recorded_versions",
]

#: The bundle file holding the SBOM (CycloneDX's ``*.cdx.json`` naming).
SBOM_FILE = "sbom.cdx.json"
SPEC_VERSION = "1.6"
MODEL_REF = "model"
RUNTIME_REF = "python-runtime"

_HASH_ALGS = {"sha256": "SHA-256", "sha384": "SHA-384", "sha512": "SHA-512", "sha1": "SHA-1"}
_HEX = re.compile(r"^[0-9a-fA-F]{40,128}$")
_HASH_NOTE = (
    "A component's 'hashes' are the sha256 of the archive (wheel or sdist) it was installed "
    "from, only where the installer recorded it (direct_url.json); most installers do not, so "
    "most components carry none: unknown, not invented. 'civicml:record-sha256' is the sha256 "
    "of the installed RECORD file, which lists every installed file with its own sha256."
)


def normalise(name: str) -> str:
    """A distribution name normalised as PEP 503 does (lower case, runs of ``-_.`` to ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def purl(name: str, version: str) -> str:
    """The package URL of a PyPI distribution (version percent-encoded)."""
    return f"pkg:pypi/{normalise(name)}@{quote(version, safe='.-_~!')}"


def _licenses(meta: Any) -> list[dict[str, Any]] | None:
    """CycloneDX ``licenses`` from core metadata, or ``None`` when it states none."""
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return [{"expression": expression}]
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 120 and text.upper() != "UNKNOWN":
        return [{"license": {"name": text}}]
    names = sorted(
        {
            c.split("::")[-1].strip()
            for c in (meta.get_all("Classifier") or [])
            if c.startswith("License ::") and c.count("::") >= 2
        }
    )
    return [{"license": {"name": n}} for n in names] or None


def _archive_hashes(dist: Any) -> list[dict[str, str]]:
    """Hashes of the archive the installer recorded in ``direct_url.json`` (PEP 610)."""
    try:
        doc = json.loads(dist.read_text("direct_url.json") or "{}")
    except (ValueError, OSError):
        return []
    info = doc.get("archive_info") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        return []
    found = dict(info.get("hashes") or {}) if isinstance(info.get("hashes"), dict) else {}
    legacy = info.get("hash")
    if isinstance(legacy, str) and "=" in legacy:
        alg, _, value = legacy.partition("=")
        found.setdefault(alg, value)
    return [
        {"alg": _HASH_ALGS[alg], "content": value.lower()}
        for alg, value in sorted(found.items())
        if alg in _HASH_ALGS and isinstance(value, str) and _HEX.match(value)
    ]


def distribution_component(dist: Any) -> dict[str, Any] | None:
    """One installed distribution as a CycloneDX ``library`` component (``None``: nameless).

    ``dist`` is an :class:`importlib.metadata.Distribution` (anything with ``metadata`` and
    ``read_text``).
    """
    meta = dist.metadata
    name, version = (meta.get("Name") or "").strip(), (meta.get("Version") or "").strip()
    if not name or not version:
        return None
    ref = purl(name, version)
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": name,
        "version": version,
        "purl": ref,
    }
    licenses = _licenses(meta)
    if licenses:
        component["licenses"] = licenses
    hashes = _archive_hashes(dist)
    if hashes:
        component["hashes"] = hashes
    record = dist.read_text("RECORD")
    if record:
        digest = hashlib.sha256(record.encode("utf-8")).hexdigest()
        component["properties"] = [{"name": "civicml:record-sha256", "value": digest}]
    return component


@functools.lru_cache(maxsize=4)
def _environment(path_key: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, dict[str, Any]] = {}
    for dist in metadata.distributions(path=list(path_key)):
        component = distribution_component(dist)
        if component is not None:  # the first on sys.path is the one Python imports
            seen.setdefault(normalise(component["name"]), component)
    return tuple(json.dumps(seen[k], sort_keys=True) for k in sorted(seen))


def environment_components() -> list[dict[str, Any]]:
    """Every distribution importable from ``sys.path``, sorted by normalised name.

    Read once per ``sys.path`` in a process (about 0.1 s for 200 distributions).
    """
    return [json.loads(c) for c in _environment(tuple(sys.path))]


def _runtime() -> list[dict[str, Any]]:
    impl = platform.python_implementation()
    return [
        {
            "type": "platform",
            "bom-ref": RUNTIME_REF,
            "name": impl,
            "version": platform.python_version(),
            "purl": f"pkg:generic/{impl.lower()}@{platform.python_version()}",
        },
        {
            "type": "operating-system",
            "bom-ref": "operating-system",
            "name": platform.system() or "unknown",
            "version": platform.release() or "unknown",
            "properties": [{"name": "civicml:machine", "value": platform.machine() or "unknown"}],
        },
    ]


def build_sbom(
    *,
    name: str,
    properties: Mapping[str, str] | None = None,
    lineage_packages: Iterable[str] = (),
    components: list[dict[str, Any]] | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """The CycloneDX 1.6 document for a model bundle written in this environment.

    Parameters
    ----------
    name : str
        The model's name (``metadata.component.name``).
    properties : mapping, optional
        Extra ``civicml:*`` properties of the model component (task, candidate, ...).
    lineage_packages : iterable of str
        Packages that shaped the model; the model component depends on those installed.
    components : list of dict, optional
        The library components (default: :func:`environment_components`).
    timestamp : str, optional
        ISO 8601 time (default: now, UTC, to the second).
    """
    from civicml import __version__

    libs = copy.deepcopy(components) if components is not None else environment_components()
    libs.sort(key=lambda c: (normalise(c["name"]), c.get("version", "")))
    by_name = {normalise(c["name"]): c["bom-ref"] for c in libs}
    shaped = sorted({by_name[normalise(p)] for p in lineage_packages if normalise(p) in by_name})
    model: dict[str, Any] = {"type": "machine-learning-model", "bom-ref": MODEL_REF, "name": name}
    if properties:
        model["properties"] = [
            {"name": f"civicml:{k}", "value": str(v)} for k, v in sorted(properties.items())
        ]
    when = timestamp or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": when.replace("+00:00", "Z"),
            "tools": {
                "components": [
                    {"type": "application", "name": "civicml", "version": __version__},
                ]
            },
            "component": model,
            "properties": [{"name": "civicml:hashes", "value": _HASH_NOTE}],
        },
        "components": [*_runtime(), *libs],
        "dependencies": [{"ref": MODEL_REF, "dependsOn": [RUNTIME_REF, *shaped]}],
    }


def recorded_versions(doc: Any) -> dict[str, str]:
    """``normalised name -> version`` of the library components of an SBOM document.

    >>> recorded_versions({"components": [
    ...     {"type": "library", "name": "Scikit_Learn", "version": "1.5.2"}]})
    {'scikit-learn': '1.5.2'}
    """
    out: dict[str, str] = {}
    components = doc.get("components") if isinstance(doc, dict) else None
    for c in components if isinstance(components, list) else []:
        if isinstance(c, dict) and c.get("type") == "library":
            name, version = c.get("name"), c.get("version")
            if isinstance(name, str) and isinstance(version, str):
                out.setdefault(normalise(name), version)
    return out
