"""The bundle manifest: the sha256 of every file, written last and verified first."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import BundleError, IntegrityError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "SIGNATURE",
    "Manifest",
    "check_relative_name",
    "sha256_bytes",
    "sha256_file",
    "verify_manifest",
    "write_manifest",
]

FORMAT = "civicml.bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: the Ed25519 signature of the manifest (civicml.bundle._signing); it signs the manifest, so
#: the manifest cannot list it
SIGNATURE = "signature.json"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``.

    >>> sha256_bytes(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_relative_name(name: str) -> str:
    """Refuse any file name that could escape the bundle folder.

    >>> check_relative_name("reports/card.md")
    'reports/card.md'
    >>> check_relative_name("../etc/passwd")
    Traceback (most recent call last):
    ...
    civicml._errors.BundleError: The bundle file name '../etc/passwd' is not allowed. ...
    """
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name.split("/"):
        raise BundleError.build(
            f"The bundle file name {name!r} is not allowed",
            expected="a relative path of letters, digits, '_', '-', '.' and '/' with no '..'",
            fix="Rename the file",
        )
    return name


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds: each file's sha256 and size, and the bundle's own digest."""

    files: dict[str, dict[str, Any]]
    created_at: str
    civicml_version: str
    digest: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "civicml_version": self.civicml_version,
            "created_at": self.created_at,
            "files": {k: self.files[k] for k in sorted(self.files)},
            **({"extra": self.extra} if self.extra else {}),
        }


def write_manifest(folder: Path, *, created_at: str, civicml_version: str) -> Manifest:
    """Hash every file under ``folder`` and write ``manifest.json`` there."""
    files: dict[str, dict[str, Any]] = {}
    for rel, full in _walk(folder):
        if rel in (MANIFEST, SIGNATURE):
            continue
        files[rel] = {"sha256": sha256_file(full), "bytes": full.stat().st_size}
    manifest = Manifest(files=files, created_at=created_at, civicml_version=civicml_version)
    raw = json.dumps(manifest.to_dict(), indent=2, sort_keys=True).encode() + b"\n"
    (folder / MANIFEST).write_bytes(raw)
    return Manifest(
        files=files,
        created_at=created_at,
        civicml_version=civicml_version,
        digest=sha256_bytes(raw),
    )


def verify_manifest(folder: str | Path) -> Manifest:
    """Check every file against the manifest; refuse changed, missing or extra files.

    Raises
    ------
    BundleError
        The folder is not a bundle or its manifest is malformed.
    IntegrityError
        A file's hash differs, a listed file is missing, or a file is not listed.
    """
    root = Path(folder)
    if not root.is_dir():
        raise BundleError.build(
            f"The bundle {str(root)!r} does not exist or is not a folder",
            fix="Pass the folder that 'civicml train' or 'civicml run' wrote",
        )
    mpath = root / MANIFEST
    if not mpath.is_file() or mpath.is_symlink():
        raise BundleError.build(
            f"{str(root)!r} has no {MANIFEST}, so it is not a civicml bundle",
            fix="Pass the folder that 'civicml train' or 'civicml run' wrote",
        )
    raw = mpath.read_bytes()
    try:
        doc = json.loads(raw)
        files = doc["files"]
        if doc.get("format") != FORMAT or not isinstance(files, dict):
            raise ValueError("not a civicml bundle manifest")
        bad = next((n for n, e in files.items() if not isinstance(e, dict)), None)
        if bad is not None:
            raise ValueError(f"the entry for {bad!r} is not an object with a sha256")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError.build(
            f"The manifest of bundle {str(root)!r} is malformed ({exc})",
            fix="Rebuild the bundle; do not edit bundle files by hand",
        ) from None
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError.build(
            f"Bundle {str(root)!r} uses a newer format",
            expected=f"format_version <= {FORMAT_VERSION}",
            got=doc.get("format_version"),
            fix="Upgrade civicml to load it",
        )
    present = dict(_walk(root))
    present.pop(MANIFEST, None)
    present.pop(SIGNATURE, None)  # checked against the manifest by verify_bundle
    extra = sorted(set(present) - set(files))
    if extra:
        raise IntegrityError.build(
            f"Bundle {str(root)!r} holds a file its manifest does not list: {extra[0]!r}",
            fix="Remove the file or rebuild the bundle; bundles are immutable once written",
        )
    for name in sorted(files):
        check_relative_name(name)
        entry = files[name]
        full = present.get(name)
        if full is None:
            raise IntegrityError.build(
                f"Bundle {str(root)!r} is missing {name!r}, which its manifest lists",
                fix="Restore the bundle from the registry or rebuild it",
            )
        actual = sha256_file(full)
        if actual != entry.get("sha256"):
            raise IntegrityError.build(
                f"Bundle file {name!r} in {str(root)!r} has changed since the bundle was written",
                expected=f"sha256 {entry.get('sha256')}",
                got=actual,
                fix="Restore the bundle from the registry or rebuild it; never edit it by hand",
            )
    return Manifest(
        files=files,
        created_at=str(doc.get("created_at", "")),
        civicml_version=str(doc.get("civicml_version", "")),
        digest=sha256_bytes(raw),
        extra=doc.get("extra", {}),
    )


def _walk(root: Path) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for d in dirnames:
            if (base / d).is_symlink():
                raise IntegrityError.build(
                    f"Bundle {str(root)!r} contains a symbolic link {d!r}",
                    fix="Bundles hold plain files only; rebuild it",
                )
        for f in filenames:
            full = base / f
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() or not full.is_file():
                raise IntegrityError.build(
                    f"Bundle {str(root)!r} contains {rel!r}, which is not a plain file",
                    fix="Bundles hold plain files only; rebuild it",
                )
            out.append((rel, full))
    return sorted(out)
