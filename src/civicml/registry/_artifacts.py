"""Content-addressed bundle storage through fsspec: a local folder by default, S3 for teams.

A bundle is stored under ``<root>/<digest[:2]>/<digest>/`` where ``digest`` is the sha256 of its
``manifest.json``. Files are written first and the manifest last, so a blob counts as present
only once its manifest is there and hashes to its digest; an interrupted upload is simply
written again next time. Loading downloads into a local cache and verifies every hash.

A signed bundle's ``signature.json`` (which the manifest cannot list) is kept beside the blob,
one per signing key, as ``<root>/<digest[:2]>/<digest>.signatures/<fingerprint>.json``: two
people may sign the same bytes, and each version fetches the signature of the key it records
(:meth:`ArtifactStore.fetch` with ``signer=``), verified, into its cached copy.

Bundles hold reference data drawn from training rows, so a local store and the download cache
are private: folders civicml creates are ``0700``, files ``0600``, whatever the umask (a root
folder that already exists keeps its mode).

Examples
--------
>>> import tempfile, pathlib
>>> from civicml.bundle import save_bundle
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> b = save_bundle(tmp / "b", documents={"model_info.json": {"task": "binary"}})
>>> store = ArtifactStore(str(tmp / "artifacts"))
>>> key = store.put(b)
>>> key == f"{b.digest[:2]}/{b.digest}"
True
>>> store.fetch(b.digest, tmp / "cache").digest == b.digest
True
>>> from civicml.bundle import sign_bundle, verify_bundle, write_keypair
>>> keys = write_keypair(tmp / "keys")
>>> _ = sign_bundle(b.path, keys.private)
>>> _ = store.put(verify_bundle(b.path))  # the blob is there: only the signature is added
>>> store.fetch(b.digest, tmp / "cache", signer=keys.fingerprint).signer == keys.fingerprint
True
>>> store.fetch(b.digest, tmp / "cache").signer is None
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml._errors import IntegrityError, RegistryError
from civicml._files import PRIVATE_FILE_MODE, create_private_dir, write_private_bytes
from civicml.registry._names import check_artifacts_uri, check_key

if TYPE_CHECKING:  # civicml.bundle is imported on use: `import civicml.registry` stays light
    from civicml.bundle import Bundle

__all__ = ["ArtifactStore", "check_signed_by"]

_HEX = frozenset("0123456789abcdef")
MANIFEST = "manifest.json"
#: the bundle's signature file (civicml.bundle.SIGNATURE), which the manifest does not list
SIGNATURE = "signature.json"
#: the folder beside a blob that holds its signatures, one per key fingerprint
SIGNATURES = ".signatures"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify(path: Path) -> Bundle:
    from civicml.bundle import verify_bundle

    return verify_bundle(path)


def _check_digest(digest: str) -> str:
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise RegistryError.build(
            "A bundle digest must be 64 lower-case hex characters", got=digest
        )
    return digest


def _check_fingerprint(signer: str) -> str:
    if not isinstance(signer, str) or len(signer) != 64 or not set(signer) <= _HEX:
        raise RegistryError.build(
            "A signing-key fingerprint must be 64 lower-case hex characters", got=signer
        )
    return signer


def check_signed_by(bundle: Bundle, signer: str | None, what: str) -> Bundle:
    """``bundle`` when its verified signature is by ``signer`` (the key the registry recorded
    for ``what``; ``None``: registered unsigned), else IntegrityError.

    >>> import tempfile, pathlib
    >>> from civicml.bundle import save_bundle
    >>> b = save_bundle(pathlib.Path(tempfile.mkdtemp()) / "b", documents={"a.json": {}})
    >>> check_signed_by(b, None, "claims/1") is b
    True
    >>> check_signed_by(b, "ab" * 32, "claims/1")
    Traceback (most recent call last):
    ...
    civicml._errors.IntegrityError: claims/1 was registered signed by key abababababababab…, but the bundle fetched for it is not signed. Restore the artifact store from backup (the signature kept beside the bundle is missing or was replaced).
    """
    found = bundle.signer
    if found == signer:
        return bundle
    if signer is None:
        what_is = f"was registered unsigned, but the bundle fetched for it is signed by key {found}"
    else:
        got = "is not signed" if found is None else f"is signed by key {found[:16]}…"
        what_is = (
            f"was registered signed by key {signer[:16]}…, but the bundle fetched for it {got}"
        )
    raise IntegrityError.build(
        f"{what} {what_is}",
        fix="Restore the artifact store from backup (the signature kept beside the bundle is "
        "missing or was replaced)",
    )


class ArtifactStore:
    """Bundles by content address under a root location.

    Parameters
    ----------
    root : str
        A folder path, ``file://PATH``, ``s3://BUCKET/PREFIX`` or ``memory://NAME``.
    storage_options : mapping, optional
        Passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}`` for S3).
    """

    def __init__(self, root: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.root = check_artifacts_uri(root).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self._fs: Any = None
        self._base_path = ""

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (created on first use)."""
        if self._fs is None:
            import fsspec

            fs, base = fsspec.core.url_to_fs(self.root, **self.storage_options)
            self._fs, self._base_path = fs, base.rstrip("/")
        return self._fs

    @property
    def _base(self) -> str:
        """The root as a path of :attr:`fs` (without protocol)."""
        _ = self.fs
        return self._base_path

    @property
    def _local(self) -> bool:
        return "file" in getattr(self.fs, "protocol", ()) or "local" in getattr(
            self.fs, "protocol", ()
        )

    def key_for(self, digest: str) -> str:
        """The relative key a bundle with ``digest`` is stored under.

        >>> ArtifactStore("/tmp/x").key_for("ab" * 32)[:5]
        'ab/ab'
        """
        _check_digest(digest)
        return check_key(f"{digest[:2]}/{digest}")

    def _path(self, key: str, name: str | None = None) -> str:
        check_key(key)
        path = f"{self._base}/{key}"
        if name is not None:
            path += "/" + check_key(name)
        return path

    def has(self, digest: str) -> bool:
        """True when a complete copy of the bundle is stored (its manifest hashes to digest)."""
        path = self._path(self.key_for(digest), MANIFEST)
        try:
            raw = self.fs.cat_file(path)
        except (FileNotFoundError, OSError):
            return False
        return sha256_bytes(raw) == digest

    def _signature_path(self, digest: str, signer: str) -> str:
        """Where the signature of bundle ``digest`` by key ``signer`` is kept."""
        rel = f"{self.key_for(digest)}{SIGNATURES}/{_check_fingerprint(signer)}.json"
        return f"{self._base}/{check_key(rel)}"

    def has_signature(self, digest: str, signer: str) -> bool:
        """True when the store keeps a signature of bundle ``digest`` by key ``signer``."""
        try:
            return bool(self.fs.exists(self._signature_path(digest, signer)))
        except OSError:
            return False

    def put(self, bundle: Bundle) -> str:
        """Copy a verified bundle into the store (a no-op when already there) with its
        ``signature.json`` when it is signed (added when only the blob was there); return its
        key."""
        key = self.key_for(bundle.digest)
        signer = bundle.signer
        if self.has(bundle.digest):
            if signer is not None and not self.has_signature(bundle.digest, signer):
                self._put_file(bundle.path / SIGNATURE, self._signature_path(bundle.digest, signer))
            return key
        if self._local:
            create_private_dir(self._path(key))
        if signer is not None:  # before the manifest, which marks the copy complete
            self._put_file(bundle.path / SIGNATURE, self._signature_path(bundle.digest, signer))
        for name in [*bundle.files, MANIFEST]:  # manifest last: it marks the copy complete
            self._put_file(bundle.path / name, self._path(key, name))
        if not self.has(bundle.digest):
            raise IntegrityError.build(
                f"The copy of bundle {bundle.digest[:12]}… in {self.root!r} did not verify",
                fix="Check the artifact store is writable and try again",
            )
        return key

    def _put_file(self, local: Path, remote: str) -> None:
        if self._local:
            create_private_dir(remote.rsplit("/", 1)[0])
            tmp = f"{remote}.tmp-{uuid.uuid4().hex}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
            try:
                os.fchmod(fd, PRIVATE_FILE_MODE)  # whatever the umask
                with os.fdopen(fd, "wb") as out, open(local, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
                os.replace(tmp, remote)  # atomic on one file system
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        else:
            self.fs.put_file(str(local), remote)

    def manifest(self, digest: str) -> dict[str, Any]:
        """The stored manifest of a bundle, checked against its digest."""
        path = self._path(self.key_for(digest), MANIFEST)
        try:
            raw = self.fs.cat_file(path)
        except (FileNotFoundError, OSError):
            raise IntegrityError.build(
                f"Bundle {digest[:12]}… is missing from the artifact store {self.root!r}",
                fix="Restore the artifact store from backup, or register the bundle again",
            ) from None
        if sha256_bytes(raw) != digest:
            raise IntegrityError.build(
                f"The stored manifest of bundle {digest[:12]}… in {self.root!r} has changed",
                expected=f"sha256 {digest}",
                got=sha256_bytes(raw),
                fix="Restore the artifact store from backup",
            )
        doc = json.loads(raw)
        for name in doc.get("files", {}):
            check_key(name)
        return doc

    def check(self, digest: str) -> None:
        """Verify the stored copy in place: manifest hash and every file's sha256."""
        doc = self.manifest(digest)
        key = self.key_for(digest)
        for name, entry in sorted(doc["files"].items()):
            try:
                data = self.fs.cat_file(self._path(key, name))
            except (FileNotFoundError, OSError):
                raise IntegrityError.build(
                    f"Stored bundle {digest[:12]}… is missing {name!r}",
                    fix="Restore the artifact store from backup",
                ) from None
            if sha256_bytes(data) != entry.get("sha256"):
                raise IntegrityError.build(
                    f"Stored bundle file {name!r} of {digest[:12]}… has changed",
                    expected=f"sha256 {entry.get('sha256')}",
                    got=sha256_bytes(data),
                    fix="Restore the artifact store from backup",
                )

    def _signature(self, digest: str, signer: str) -> bytes:
        """The stored ``signature.json`` of bundle ``digest`` by key ``signer``."""
        try:
            raw: bytes = self.fs.cat_file(self._signature_path(digest, signer))
        except (FileNotFoundError, OSError):
            raise IntegrityError.build(
                f"The signature of bundle {digest[:12]}… by key {signer[:16]}… is missing "
                f"from the artifact store {self.root!r}",
                fix="Restore the artifact store from backup",
            ) from None
        return raw

    def fetch(self, digest: str, cache_dir: str | Path, *, signer: str | None = None) -> Bundle:
        """Download a bundle into ``cache_dir`` (once) and verify every hash.

        With ``signer`` (a key fingerprint) the stored ``signature.json`` by that key comes with
        it, verified: a missing one, or one made by another key, raises IntegrityError. Without
        it the copy is unsigned. The copy is ``cache_dir/<digest>`` (unsigned) or
        ``cache_dir/<digest>.<fingerprint[:16]>``.
        """
        key = self.key_for(digest)
        cache = Path(cache_dir)
        dest = cache / (digest if signer is None else f"{digest}.{_check_fingerprint(signer)[:16]}")
        if dest.is_dir():
            try:
                bundle = _verify(dest)
                if bundle.digest == digest and bundle.signer == signer:
                    return bundle
            except IntegrityError:
                pass
            shutil.rmtree(dest, ignore_errors=True)
        doc = self.manifest(digest)
        signature = None if signer is None else self._signature(digest, signer)
        create_private_dir(cache)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}.", dir=cache))  # 0700
        try:
            for name in [*sorted(doc["files"]), MANIFEST]:
                target = tmp / name
                create_private_dir(target.parent)
                write_private_bytes(target, self.fs.cat_file(self._path(key, name)))
            if signature is not None:
                write_private_bytes(tmp / SIGNATURE, signature)
            bundle = _verify(tmp)  # the signature, when there is one, must sign this manifest
            if bundle.digest != digest:
                raise IntegrityError.build(
                    f"The bundle fetched for {digest[:12]}… has another digest",
                    got=bundle.digest,
                    fix="Restore the artifact store from backup",
                )
            if bundle.signer != signer:
                raise IntegrityError.build(
                    f"The signature kept for bundle {digest[:12]}… under key "
                    f"{str(signer)[:16]}… was made by key {str(bundle.signer)[:16]}…",
                    fix="Restore the artifact store from backup",
                )
            try:
                os.replace(tmp, dest)
            except OSError:  # another process filled the cache first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return _verify(dest)
