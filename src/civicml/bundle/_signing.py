"""Signed bundles: an Ed25519 signature of the manifest ties a bundle to the key that wrote it.

``signature.json`` sits next to ``manifest.json`` and is the one file the manifest does not list
(it signs the manifest, so it cannot be inside it)::

    {"algorithm": "ed25519",
     "public_key": "-----BEGIN PUBLIC KEY-----...",      # PEM (SubjectPublicKeyInfo)
     "fingerprint": "<sha256 hex of the raw 32-byte public key>",
     "signed": "<sha256 hex of manifest.json: the bundle digest>",
     "signature": "<base64 Ed25519 signature>"}

The signed message is ``b"civicml-bundle-signature-v1:" + signed`` (the ASCII hex digest after a
fixed prefix, so a bundle signature can never be replayed as a signature of anything else). The
manifest lists the sha256 of every file, so the signature covers every byte of the bundle: a
bundle whose files *and* manifest were rewritten together no longer matches its signature.

A person's key pair lives outside every bundle, by default in
``$XDG_CONFIG_HOME/civicml/keys/`` (``~/.config/civicml/keys/``): ``civicml-signing.key``
(PKCS#8 PEM, mode 0600) and ``civicml-signing.pub``. ``$CIVICML_SIGNING_KEY`` names another
private key file. ``cryptography`` is imported on first use, so ``import civicml.bundle`` stays
light.

Examples
--------
>>> import tempfile, pathlib
>>> from civicml.bundle import save_bundle
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> keys = write_keypair(tmp / "keys")
>>> b = save_bundle(tmp / "b", documents={"model_info.json": {"task": "binary"}})
>>> sig = sign_bundle(b.path, keys.private)
>>> sig.fingerprint == keys.fingerprint, sig.digest == b.digest
(True, True)
>>> read_signature(b.path).fingerprint == keys.fingerprint
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml._errors import BundleError, IntegrityError
from civicml._files import create_private_dir, make_private, write_private_bytes
from civicml.bundle._manifest import MANIFEST, SIGNATURE, sha256_bytes, verify_manifest

if TYPE_CHECKING:
    from civicml.bundle._bundle import Bundle

__all__ = [
    "KEY_ENV",
    "KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SIGNATURE",
    "BundleSignature",
    "KeyFiles",
    "default_key_dir",
    "default_key_path",
    "fingerprint",
    "generate_keypair",
    "public_key_pem",
    "read_signature",
    "sign_bundle",
    "sign_with_available_key",
    "write_keypair",
]

#: the environment variable naming the private key file to sign with
KEY_ENV = "CIVICML_SIGNING_KEY"
KEY_FILE = "civicml-signing.key"
PUBLIC_KEY_FILE = "civicml-signing.pub"
ALGORITHM = "ed25519"
_PREFIX = b"civicml-bundle-signature-v1:"
_HEX = frozenset("0123456789abcdef")
_FIELDS = ("algorithm", "public_key", "fingerprint", "signed", "signature")


@dataclass(frozen=True)
class BundleSignature:
    """A verified bundle signature.

    Attributes
    ----------
    fingerprint : str
        sha256 hex of the signing key's raw 32-byte Ed25519 public key.
    public_key_pem : str
        The signing public key (PEM).
    digest : str
        The bundle digest (sha256 of manifest.json) that was signed.
    """

    fingerprint: str
    public_key_pem: str
    digest: str


@dataclass(frozen=True)
class KeyFiles:
    """Where :func:`write_keypair` put a key pair, and the key's fingerprint."""

    private: Path
    public: Path
    fingerprint: str


# -- keys ---------------------------------------------------------------------------------------
def default_key_dir() -> Path:
    """``$XDG_CONFIG_HOME/civicml/keys`` (``~/.config/civicml/keys`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "civicml" / "keys"


def default_key_path() -> Path:
    """The private key to sign with: ``$CIVICML_SIGNING_KEY``, else ``civicml-signing.key`` in
    :func:`default_key_dir`."""
    named = os.environ.get(KEY_ENV)
    return Path(named).expanduser() if named else default_key_dir() / KEY_FILE


def public_path_for(private: Path) -> Path:
    """The public key file that goes with a private key file.

    >>> public_path_for(Path("k/civicml-signing.key")).name
    'civicml-signing.pub'
    >>> public_path_for(Path("k/mine")).name
    'mine.pub'
    """
    if private.suffix == ".key":
        return private.with_suffix(".pub")
    return private.with_name(private.name + ".pub")


def generate_keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as ``(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)``.

    >>> private, public = generate_keypair()
    >>> private.startswith(b"-----BEGIN PRIVATE KEY-----"), len(fingerprint(public))
    (True, 64)
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, _public_pem(key.public_key()).encode("ascii")


def _public_pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _raw(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def _load_public(pem: bytes | str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = pem.encode("ascii", "replace") if isinstance(pem, str) else bytes(pem)
    try:
        key = serialization.load_pem_public_key(data.strip() + b"\n")
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleError.build(
            "That is not an Ed25519 public key in PEM form",
            expected="a '-----BEGIN PUBLIC KEY-----' block as 'civicml keys create' writes",
            fix="Pass the .pub file 'civicml keys create' wrote (never the private .key file)",
        )
    return key


def public_key_pem(pem: bytes | str) -> str:
    """The Ed25519 public key ``pem`` in canonical PEM form; BundleError if it is not one."""
    return _public_pem(_load_public(pem))


def fingerprint(public_pem: bytes | str) -> str:
    """sha256 hex of the raw 32-byte Ed25519 public key in ``public_pem``.

    >>> _, public = generate_keypair()
    >>> fp = fingerprint(public)
    >>> len(fp), fp == fingerprint(public.decode())
    (64, True)
    """
    return hashlib.sha256(_raw(_load_public(public_pem))).hexdigest()


def write_keypair(directory: str | Path | None = None, *, force: bool = False) -> KeyFiles:
    """Create a key pair and write it: both files mode 0600, folders it creates 0700.

    With no ``directory`` the private key goes to :func:`default_key_path` (which honours
    ``$CIVICML_SIGNING_KEY``) and the public key beside it. An existing key is never replaced
    unless ``force`` is true, and a key is never written inside a bundle folder.
    """
    private = Path(directory) / KEY_FILE if directory is not None else default_key_path()
    public = public_path_for(private)
    _refuse_inside_bundle(private.parent)
    for path in (private, public):
        if path.exists() and not force:
            raise BundleError.build(
                f"A signing key already exists at {str(path)!r}",
                fix="Keep using it, pass --out DIR for another folder, or --force to replace "
                "it (bundles it signed stay signed by the old key)",
            )
    create_private_dir(private.parent)
    private_pem, public_pem = generate_keypair()
    _write_secret(private, private_pem)
    write_private_bytes(public, public_pem)  # share it by copying; nothing here is for others
    return KeyFiles(private, public, fingerprint(public_pem))


def _write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file that only its owner can read, replacing ``path`` atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _refuse_inside_bundle(folder: Path) -> None:
    here = folder.resolve()
    for d in (here, *here.parents):
        if (d / MANIFEST).is_file():
            raise BundleError.build(
                f"{str(folder)!r} is inside the bundle {str(d)!r}",
                fix="Keep signing keys outside every bundle (the default is "
                f"{str(default_key_dir())!r})",
            )


def _load_private(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not path.is_file():
        raise BundleError.build(
            f"There is no signing key at {str(path)!r}",
            fix="Create one with 'civicml keys create', or point $CIVICML_SIGNING_KEY at yours",
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise BundleError.build(
            f"The signing key {str(path)!r} can be read by other users (mode {mode:04o})",
            fix=f"Run 'chmod 600 {path}' so that only you can read it",
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError.build(
            f"{str(path)!r} is not an unencrypted Ed25519 private key in PEM form",
            fix="Create one with 'civicml keys create'",
        )
    return key


# -- signing ------------------------------------------------------------------------------------
def sign_bundle(bundle_path: str | Path, private_key_path: str | Path) -> BundleSignature:
    """Verify a bundle, sign its manifest digest and write ``signature.json`` beside it.

    An existing signature is replaced. The key must be readable by its owner only and lie
    outside the bundle.

    Raises
    ------
    BundleError
        No usable key, or the key lies inside the bundle.
    IntegrityError
        The bundle does not verify against its manifest.
    """
    root = Path(bundle_path)
    key_path = Path(private_key_path).expanduser()
    if key_path.resolve().is_relative_to(root.resolve()):
        raise BundleError.build(
            f"The signing key {str(key_path)!r} lies inside the bundle it would sign",
            fix="Move the key out of the bundle; a bundle must never carry a private key",
        )
    key = _load_private(key_path)
    digest = verify_manifest(root).digest
    public = key.public_key()
    doc = {
        "algorithm": ALGORITHM,
        "public_key": _public_pem(public),
        "fingerprint": hashlib.sha256(_raw(public)).hexdigest(),
        "signed": digest,
        "signature": base64.b64encode(key.sign(_PREFIX + digest.encode("ascii"))).decode(),
    }
    raw = json.dumps(doc, indent=2, sort_keys=True).encode() + b"\n"
    # written beside the bundle, then moved in: a reader never sees a half-written file
    fd, tmp = tempfile.mkstemp(prefix=f".{root.name}.sig.", dir=root.resolve().parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        make_private(tmp)  # like every file of a bundle: owner only
        os.replace(tmp, root / SIGNATURE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return BundleSignature(doc["fingerprint"], doc["public_key"], digest)


def sign_with_available_key(bundle_path: str | Path) -> BundleSignature | None:
    """Sign with :func:`default_key_path` when that key file exists; ``None`` when it does not.

    A key file that exists but cannot be used (readable by others, not an Ed25519 key) raises
    BundleError rather than leaving the bundle quietly unsigned.
    """
    key = default_key_path()
    if not key.exists():
        return None
    return sign_bundle(bundle_path, key)


def read_signature(bundle: Bundle | str | Path) -> BundleSignature | None:
    """The bundle's verified signature, or ``None`` when it has no ``signature.json``.

    ``bundle`` is a :class:`~civicml.bundle.Bundle` (its verified digest is used) or a folder
    (the sha256 of its manifest.json is used; :func:`~civicml.bundle.verify_bundle` checks the
    files too).

    Raises
    ------
    IntegrityError
        ``signature.json`` is malformed, signs another manifest (manifest.json was rewritten
        after it was signed), or was not made by the key it names.
    """
    if isinstance(bundle, (str, Path)):
        root = Path(bundle)
        mpath = root / MANIFEST
        digest = sha256_bytes(mpath.read_bytes()) if mpath.is_file() else ""
    else:
        root, digest = Path(bundle.path), bundle.digest
    return check_signature(root, digest)


def check_signature(root: Path, digest: str) -> BundleSignature | None:
    """Verify ``root/signature.json`` against the manifest digest ``digest`` (see
    :func:`read_signature`)."""
    path = root / SIGNATURE
    if not path.exists() and not path.is_symlink():
        return None
    doc = _read_doc(root, path)
    try:
        public = _load_public(doc["public_key"])
    except BundleError:
        raise _malformed(root, "its public_key is not an Ed25519 public key") from None
    found = hashlib.sha256(_raw(public)).hexdigest()
    if found != doc["fingerprint"]:
        raise IntegrityError.build(
            f"The signature of bundle {str(root)!r} names key {doc['fingerprint'][:16]}… but "
            f"carries key {found[:16]}…",
            fix="Sign the bundle again with 'civicml keys sign', or rebuild it",
        )
    if doc["signed"] != digest:
        raise IntegrityError.build(
            f"Bundle {str(root)!r} is refused: manifest.json was rewritten after it was signed",
            expected=f"the signed manifest sha256 {doc['signed']}",
            got=digest,
            fix="Use the bundle as training wrote it, or retrain; never edit a bundle by hand",
        )
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(doc["_signature"], _PREFIX + digest.encode("ascii"))
    except InvalidSignature:
        raise IntegrityError.build(
            f"The signature of bundle {str(root)!r} was not made by the key it names "
            f"({found[:16]}…)",
            fix="Treat the bundle as forged: use the copy training wrote, or retrain",
        ) from None
    return BundleSignature(found, _public_pem(public), digest)


def _read_doc(root: Path, path: Path) -> dict[str, Any]:
    if path.is_symlink() or not path.is_file():
        raise _malformed(root, "it is not a plain file")
    try:
        doc = json.loads(path.read_bytes())
    except ValueError:
        raise _malformed(root, "it is not JSON") from None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in _FIELDS):
        raise _malformed(root, f"it needs the text fields {', '.join(_FIELDS)}")
    if doc["algorithm"] != ALGORITHM:
        raise _malformed(root, f"algorithm {doc['algorithm']!r} is not {ALGORITHM!r}")
    for k in ("fingerprint", "signed"):
        if len(doc[k]) != 64 or not set(doc[k]) <= _HEX:
            raise _malformed(root, f"its {k} is not a sha256 hex digest")
    try:
        doc["_signature"] = base64.b64decode(doc["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise _malformed(root, "its signature is not base64") from None
    return doc


def _malformed(root: Path, why: str) -> IntegrityError:
    return IntegrityError.build(
        f"The {SIGNATURE} of bundle {str(root)!r} is malformed: {why}",
        fix="Sign the bundle again with 'civicml keys sign BUNDLE', or rebuild it",
    )
