"""The deployable artifact: a folder of plain files with a manifest of their sha256.

Layout (every file listed in ``manifest.json``)::

    model.skops          the fitted scikit-learn pipeline (skops, never pickle)
    model_info.json      task, target, features, classes, threshold, chosen candidate
    contract.json        the data contract the model expects
    leaderboard.json     every candidate's cross-validated scores
    metrics.json         held-out test metrics of the chosen model
    lineage.json         data sha256, spec, package versions, git commit
    sbom.cdx.json        CycloneDX SBOM of the environment that trained the model (written here,
                         or carried over when a bundle's files are copied into a new one)
    *.json / *.parquet   anything else a later stage adds (reference sample, checks, ...)

Writing goes to a hidden temporary folder beside the destination, which is renamed into place
only once complete, so a crash never leaves a half-written bundle. A bundle holds reference data
drawn from training rows, so it is private: its folder (and folders created for it) ``0700``,
its files ``0600``, whatever the umask.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from civicml._errors import BundleError
from civicml._files import create_private_dir, private_tree
from civicml.bundle._manifest import (
    MANIFEST,
    Manifest,
    check_relative_name,
    verify_manifest,
    write_manifest,
)
from civicml.bundle._sbom import SBOM_FILE, build_sbom
from civicml.bundle._serialise import dump_model, load_model
from civicml.bundle._signing import SIGNATURE, BundleSignature, check_signature
from civicml.bundle._versions import VersionCheck, check_versions

__all__ = ["MODEL_FILE", "Bundle", "dumps_json", "load_bundle", "save_bundle", "verify_bundle"]

MODEL_FILE = "model.skops"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps_json(doc: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, NaN written as null)."""
    text = json.dumps(_nan_to_none(doc), indent=2, sort_keys=True, default=_json_default)
    return text.encode("utf-8") + b"\n"


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj


@dataclass
class Bundle:
    """A verified bundle on disk. Create with :func:`load_bundle` or :func:`save_bundle`.

    Attributes
    ----------
    path : Path
        The bundle folder.
    manifest : Manifest
        Hashes of every file; ``manifest.digest`` identifies the bundle.
    signature : BundleSignature or None
        The verified Ed25519 signature of the manifest (``signature.json``); ``None``: unsigned.
    versions : VersionCheck or None
        What :func:`load_bundle` compared between installed and training package versions
        (``None``: not loaded, only verified).
    """

    path: Path
    manifest: Manifest
    _model: Any = field(default=None, repr=False)
    signature: BundleSignature | None = None
    versions: VersionCheck | None = None

    @property
    def signer(self) -> str | None:
        """Fingerprint of the key that signed the manifest, or ``None`` when unsigned."""
        return self.signature.fingerprint if self.signature is not None else None

    @property
    def digest(self) -> str:
        """sha256 of manifest.json: the bundle's identity."""
        return self.manifest.digest

    @property
    def files(self) -> list[str]:
        return sorted(self.manifest.files)

    def read_json(self, name: str) -> Any:
        """Parsed content of a JSON file in the bundle."""
        return json.loads(self._file(name).read_bytes())

    def read_bytes(self, name: str) -> bytes:
        return self._file(name).read_bytes()

    def read_table(self, name: str) -> Any:
        """A Parquet file in the bundle as a DataFrame."""
        import pandas as pd

        return pd.read_parquet(self._file(name))

    def has(self, name: str) -> bool:
        return name in self.manifest.files

    @property
    def info(self) -> dict[str, Any]:
        """model_info.json: task, target, features, classes, threshold."""
        return self.read_json("model_info.json") if self.has("model_info.json") else {}

    @property
    def model(self) -> Any:
        """The fitted pipeline, loaded with civicml's trusted types on first use."""
        if self._model is None:
            if not self.has(MODEL_FILE):
                raise BundleError.build(f"Bundle {str(self.path)!r} holds no {MODEL_FILE}")
            self._model = load_model(self.path / MODEL_FILE)
        return self._model

    def _file(self, name: str) -> Path:
        check_relative_name(name)
        if name not in self.manifest.files:
            raise BundleError.build(
                f"Bundle {str(self.path)!r} has no file {name!r}",
                expected=f"one of {self.files}",
                got=name,
            )
        return self.path / name


def save_bundle(
    dest: str | Path,
    *,
    model: Any = None,
    documents: Mapping[str, Any] | None = None,
    tables: Mapping[str, Any] | None = None,
    files: Mapping[str, bytes] | None = None,
    overwrite: bool = False,
) -> Bundle:
    """Write a bundle atomically and return it, verified.

    Parameters
    ----------
    dest : path
        The bundle folder to create.
    model : estimator, optional
        A fitted scikit-learn compatible pipeline, saved with skops as ``model.skops``.
    documents : mapping of name to JSON-able object
        Written as deterministic JSON (``name`` should end in ``.json``).
    tables : mapping of name to DataFrame
        Written as Parquet.
    files : mapping of name to bytes
        Written as they are (e.g. an ONNX model, a report).
    overwrite : bool
        Replace an existing bundle at ``dest``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "b"
    >>> b = save_bundle(d, documents={"model_info.json": {"task": "binary"}})
    >>> b.info["task"], len(b.digest)
    ('binary', 64)
    """
    target = Path(dest)
    if target.exists() and not overwrite:
        raise BundleError.build(
            f"{str(target)!r} already exists",
            fix="Choose another output folder, or pass --overwrite to replace it",
        )
    create_private_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        if model is not None:
            dump_model(model, tmp / MODEL_FILE)
        for name, doc in (documents or {}).items():
            _put(tmp, name).write_bytes(dumps_json(doc))
        for name, frame in (tables or {}).items():
            frame.to_parquet(_put(tmp, name), index=False)
        for name, data in (files or {}).items():
            _refuse_private_key(name, data)
            _put(tmp, name).write_bytes(data)
        _write_sbom(tmp, target, model, documents or {})
        from civicml import __version__

        created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        write_manifest(tmp, created_at=created, civicml_version=__version__)
        private_tree(tmp)  # owner only, before it appears under its name
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    bundle = verify_bundle(target)
    bundle._model = model
    return bundle


def _write_sbom(tmp: Path, target: Path, model: Any, documents: Mapping[str, Any]) -> None:
    """Write the SBOM of this environment, or keep the one a caller carried over from the bundle
    it copies (the model was trained there, not here) once it reads as CycloneDX JSON."""
    path = tmp / SBOM_FILE
    if not path.exists():
        path.write_bytes(dumps_json(_sbom_for(target, model, documents)))
        return
    try:
        doc = json.loads(path.read_bytes())
        valid = doc.get("bomFormat") == "CycloneDX" and isinstance(doc.get("components"), list)
    except (ValueError, AttributeError):
        valid = False
    if not valid:
        raise BundleError.build(
            f"The bundle file {SBOM_FILE!r} given is not a CycloneDX SBOM",
            expected='JSON with "bomFormat": "CycloneDX" and a "components" list',
            fix=f"Leave {SBOM_FILE!r} out and civicml writes the SBOM of this environment",
        )


def _sbom_for(target: Path, model: Any, documents: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle's SBOM: the model named from ``model_info.json`` (else the folder), linked to
    the packages ``lineage.json`` records."""
    info = documents.get("model_info.json")
    info = info if isinstance(info, Mapping) else {}
    lineage = documents.get("lineage.json")
    packages = lineage.get("packages") if isinstance(lineage, Mapping) else None
    props = {k: str(info[k]) for k in ("task", "target", "candidate") if info.get(k) is not None}
    if model is not None:
        props["estimator"] = f"{type(model).__module__}.{type(model).__qualname__}"
    return build_sbom(
        name=str(info.get("name") or target.name),
        properties=props,
        lineage_packages=[p for p in (packages or {}) if p != "python"],
    )


def _put(root: Path, name: str) -> Path:
    check_relative_name(name)
    if name in (MANIFEST, SIGNATURE):
        raise BundleError.build(f"{name!r} is written by civicml itself", fix="Rename it")
    path = root / name
    if path.exists():
        raise BundleError.build(f"The bundle file {name!r} is given twice", fix="Give it once")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _refuse_private_key(name: str, data: bytes) -> None:
    if b"PRIVATE KEY-----" in data[:4096]:
        raise BundleError.build(
            f"The bundle file {name!r} holds a private key",
            fix="Never put a private key in a bundle; bundles are copied and shared",
        )


def verify_bundle(path: str | Path) -> Bundle:
    """Verify every file's hash and the signature when there is one; return the bundle
    without loading its model.

    Raises
    ------
    IntegrityError
        A file changed, went missing or was added, or ``signature.json`` does not sign this
        manifest (see :func:`~civicml.bundle.read_signature`).
    """
    root = Path(path)
    manifest = verify_manifest(root)
    return Bundle(path=root, manifest=manifest, signature=check_signature(root, manifest.digest))


def load_bundle(path: str | Path, *, version_policy: str | None = None) -> Bundle:
    """Verify every hash, compare the model's package versions with the recorded ones, then
    load the model with civicml's trusted types.

    Parameters
    ----------
    path : path
        The bundle folder.
    version_policy : {"warn", "refuse", "ignore"}, optional
        What a package version that differs from training does (default:
        ``CIVICML_VERSION_POLICY``, else ``warn``; see :func:`~civicml.bundle.check_versions`).
        The comparison is kept as ``bundle.versions``.

    Raises
    ------
    BundleError
        Not a bundle, the model holds a type civicml does not trust, or the version policy
        refuses the installed packages.
    IntegrityError
        A file changed, went missing, or was added since the bundle was written.
    """
    bundle = verify_bundle(path)
    bundle.versions = check_versions(
        bundle.path, policy=version_policy, files=bundle.manifest.files
    )
    if bundle.has(MODEL_FILE):
        _ = bundle.model
    return bundle
