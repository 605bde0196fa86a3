"""Signed bundles: the Ed25519 signature of the manifest, and every way it is refused."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from civicml._errors import BundleError, IntegrityError
from civicml.bundle import (
    MANIFEST,
    SIGNATURE,
    fingerprint,
    generate_keypair,
    load_bundle,
    read_signature,
    save_bundle,
    sign_bundle,
    sign_with_available_key,
    verify_bundle,
    write_keypair,
)
from civicml.bundle._manifest import write_manifest


@pytest.fixture(autouse=True)
def _no_personal_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read or write the real ~/.config/civicml/keys."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CIVICML_SIGNING_KEY", raising=False)


def _bundle(tmp_path: Path, name: str = "b") -> Path:
    return save_bundle(
        tmp_path / name,
        documents={
            "model_info.json": {"task": "binary"},
            "metrics.json": {"test": {"auc": 0.71}},
        },
        files={"model.bin": b"weights"},
    ).path


def _keys(tmp_path: Path, name: str = "keys") -> tuple[Path, str]:
    files = write_keypair(tmp_path / name)
    return files.private, files.fingerprint


def test_sign_and_verify_round_trip(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, fp = _keys(tmp_path)
    sig = sign_bundle(path, key)
    assert sig.fingerprint == fp
    doc = json.loads((path / SIGNATURE).read_text())
    assert set(doc) == {"algorithm", "public_key", "fingerprint", "signed", "signature"}
    assert doc["algorithm"] == "ed25519" and doc["fingerprint"] == fp
    assert doc["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    bundle = load_bundle(path)
    assert doc["signed"] == bundle.digest  # it signs the bundle digest
    assert bundle.signer == fp and bundle.signature is not None
    assert bundle.signature.digest == bundle.digest
    # signature.json is not in the manifest (it signs the manifest), and not an "extra" file
    assert SIGNATURE not in json.loads((path / MANIFEST).read_text())["files"]
    found = read_signature(path)
    assert found is not None and found.fingerprint == fp
    assert fingerprint(found.public_key_pem) == fp


def test_unsigned_bundle_reads_as_none(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    assert read_signature(path) is None
    assert verify_bundle(path).signer is None


def test_files_and_manifest_rewritten_together_are_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    sign_bundle(path, key)
    # the forger edits a metric and re-hashes everything, so the manifest itself checks out ...
    (path / "metrics.json").write_text(json.dumps({"test": {"auc": 0.99}}))
    write_manifest(path, created_at="2026-01-01T00:00:00+00:00", civicml_version="0.1.0")
    with pytest.raises(IntegrityError, match="manifest.json was rewritten after it was signed"):
        verify_bundle(path)
    with pytest.raises(IntegrityError, match="rewritten after it was signed"):
        read_signature(path)
    with pytest.raises(IntegrityError, match="rewritten after it was signed"):
        load_bundle(path)


def test_a_file_changed_after_signing_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    sign_bundle(path, key)
    (path / "model.bin").write_bytes(b"other weights")
    with pytest.raises(IntegrityError, match="has changed since the bundle was written"):
        verify_bundle(path)


def test_a_signature_from_another_key_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, fp = _keys(tmp_path, "mine")
    sign_bundle(path, key)
    # the forger keeps the named key but puts in a signature made with their own key
    other, _ = _keys(tmp_path, "theirs")
    other_path = _bundle(tmp_path, "other")
    sign_bundle(other_path, other)
    doc = json.loads((path / SIGNATURE).read_text())
    forged = json.loads((other_path / SIGNATURE).read_text())
    doc["signature"] = forged["signature"]
    (path / SIGNATURE).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="was not made by the key it names"):
        verify_bundle(path)
    # or names the victim's fingerprint while carrying their own public key
    doc = json.loads((other_path / SIGNATURE).read_text())
    doc["fingerprint"] = fp
    (other_path / SIGNATURE).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="names key .* but carries key"):
        verify_bundle(other_path)


def test_re_signed_by_another_key_reports_that_key(tmp_path: Path) -> None:
    """Re-signing with another key is valid crypto; what it shows is the other fingerprint
    (and the registry then refuses it unless that key is registered to the registrant)."""
    path = _bundle(tmp_path)
    mine, my_fp = _keys(tmp_path, "mine")
    theirs, their_fp = _keys(tmp_path, "theirs")
    sign_bundle(path, mine)
    sign_bundle(path, theirs)
    assert verify_bundle(path).signer == their_fp != my_fp


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "is not JSON"),
        (b"[1, 2]", "needs the text fields"),
        (b'{"algorithm": "ed25519"}', "needs the text fields"),
    ],
)
def test_malformed_signature_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = _bundle(tmp_path)
    (path / SIGNATURE).write_bytes(content)
    with pytest.raises(
        IntegrityError, match=f"signature.json of bundle .* is malformed: it {message}"
    ):
        verify_bundle(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("algorithm", "rsa", "algorithm 'rsa' is not 'ed25519'"),
        ("signature", "%%%not base64%%%", "not base64"),
        ("signed", "abc", "signed is not a sha256"),
        ("public_key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "public_key"),
    ],
)
def test_malformed_fields_are_refused(tmp_path: Path, field: str, value: str, message: str) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    sign_bundle(path, key)
    doc = json.loads((path / SIGNATURE).read_text())
    doc[field] = value
    (path / SIGNATURE).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match=message):
        verify_bundle(path)


def test_truncated_signature_bytes_do_not_verify(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    sign_bundle(path, key)
    doc = json.loads((path / SIGNATURE).read_text())
    doc["signature"] = base64.b64encode(base64.b64decode(doc["signature"])[:-1]).decode()
    (path / SIGNATURE).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="not made by the key it names"):
        verify_bundle(path)


def test_private_key_is_written_0600_and_not_overwritten(tmp_path: Path) -> None:
    files = write_keypair(tmp_path / "k")
    assert stat.S_IMODE(files.private.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.private.parent.stat().st_mode) & 0o077 == 0
    assert files.private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert files.public.name == "civicml-signing.pub"
    assert fingerprint(files.public.read_bytes()) == files.fingerprint
    before = files.private.read_bytes()
    with pytest.raises(BundleError, match="already exists"):
        write_keypair(tmp_path / "k")
    assert files.private.read_bytes() == before
    again = write_keypair(tmp_path / "k", force=True)
    assert again.private.read_bytes() != before
    assert stat.S_IMODE(again.private.stat().st_mode) == 0o600


def test_default_key_location_follows_xdg_and_the_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_keypair()
    assert files.private == tmp_path / "config" / "civicml" / "keys" / "civicml-signing.key"
    named = tmp_path / "elsewhere" / "team.key"
    monkeypatch.setenv("CIVICML_SIGNING_KEY", str(named))
    files = write_keypair()
    assert files.private == named and files.public == named.with_suffix(".pub")
    path = _bundle(tmp_path)
    sig = sign_with_available_key(path)
    assert sig is not None and sig.fingerprint == files.fingerprint


def test_no_key_leaves_the_bundle_unsigned(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    assert sign_with_available_key(path) is None
    assert not (path / SIGNATURE).exists()


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    os.chmod(key, 0o644)
    with pytest.raises(BundleError, match=r"can be read by other users \(mode 0644\).*chmod 600"):
        sign_bundle(path, key)
    assert not (path / SIGNATURE).exists()


def test_private_keys_never_go_inside_a_bundle(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    with pytest.raises(BundleError, match="inside the bundle"):
        write_keypair(path / "keys")
    private, _ = generate_keypair()
    with pytest.raises(BundleError, match="holds a private key"):
        save_bundle(tmp_path / "leaky", files={"signing.key": private})
    assert not (tmp_path / "leaky").exists()


def test_signing_refuses_a_tampered_bundle(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    key, _ = _keys(tmp_path)
    (path / "model.bin").write_bytes(b"changed")
    with pytest.raises(IntegrityError):
        sign_bundle(path, key)
    assert not (path / SIGNATURE).exists()


def test_not_a_key_is_refused(tmp_path: Path) -> None:
    path = _bundle(tmp_path)
    junk = tmp_path / "junk.key"
    junk.write_text("hello")
    junk.chmod(0o600)
    with pytest.raises(BundleError, match="not an unencrypted Ed25519 private key"):
        sign_bundle(path, junk)
    with pytest.raises(BundleError, match="no signing key at"):
        sign_bundle(path, tmp_path / "missing.key")
    with pytest.raises(BundleError, match="not an Ed25519 public key"):
        fingerprint(b"-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----\n")


def test_a_bundle_cannot_be_given_its_own_signature_file(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="'signature.json' is written by civicml itself"):
        save_bundle(tmp_path / "b", documents={SIGNATURE: {"algorithm": "ed25519"}})


def test_a_manifest_entry_that_is_not_an_object_is_a_clear_error(tmp_path) -> None:
    import json

    import pytest

    from civicml._errors import IntegrityError
    from civicml.bundle import save_bundle, verify_bundle

    b = save_bundle(tmp_path / "b", documents={"model_info.json": {"task": "binary"}})
    doc = json.loads((b.path / "manifest.json").read_text())
    doc["files"]["model_info.json"] = "0" * 64
    (b.path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="'model_info.json' is not an object with a sha256"):
        verify_bundle(b.path)
