"""The artifact store on a local folder and on S3 (a moto server on 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from civicml._errors import IntegrityError, RegistryError
from civicml.registry import ArtifactStore, open_registry


@pytest.fixture(scope="module")
def s3_options() -> Iterator[dict[str, Any]]:
    """A moto S3 server on 127.0.0.1 (a free port), stopped after the module."""
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install s3fs)")
    server_mod = pytest.importorskip(
        "moto.server", reason="moto[server] is not installed (pip install 'moto[server]')"
    )
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "eu-west-2"},
        "skip_instance_cache": True,
    }
    try:
        yield options
    finally:
        server.stop()


def _write(store: ArtifactStore, key: str, name: str, data: bytes) -> None:
    path = f"{store._base}/{key}/{name}"
    if store._local:
        store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    store.fs.pipe_file(path, data)


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path) -> ArtifactStore:
    if request.param == "file":
        return ArtifactStore(str(tmp_path / "artifacts"))
    options = request.getfixturevalue("s3_options")
    bucket = f"civicml-{uuid.uuid4().hex[:12]}"
    import s3fs

    s3fs.S3FileSystem(**options).mkdir(bucket)
    return ArtifactStore(f"s3://{bucket}/registry", options)


def test_put_is_content_addressed_and_idempotent(store, make_bundle, tmp_path):
    b = make_bundle()
    assert not store.has(b.digest)
    key = store.put(b)
    assert key == f"{b.digest[:2]}/{b.digest}" and store.has(b.digest)
    assert store.put(b) == key
    store.check(b.digest)
    got = store.fetch(b.digest, tmp_path / "cache")
    assert got.digest == b.digest and got.read_bytes("model.bin") == b.read_bytes("model.bin")
    assert store.fetch(b.digest, tmp_path / "cache").digest == b.digest  # from the cache


def test_tampered_blob_is_refused_on_load(store, make_bundle, tmp_path):
    b = make_bundle()
    key = store.put(b)
    _write(store, key, "model.bin", b"swapped model")
    with pytest.raises(IntegrityError, match="has changed"):
        store.check(b.digest)
    with pytest.raises(IntegrityError):
        store.fetch(b.digest, tmp_path / "cache2")
    assert not (tmp_path / "cache2" / b.digest).exists()


def test_missing_blob_and_partial_upload(store, make_bundle):
    b = make_bundle()
    with pytest.raises(IntegrityError, match="missing from the artifact store"):
        store.manifest(b.digest)
    key = store.key_for(b.digest)
    # an interrupted upload: files but no manifest yet -> not present, and put() completes it
    _write(store, key, "model.bin", b"partial")
    assert not store.has(b.digest)
    store.put(b)
    store.check(b.digest)


def test_stored_manifest_cannot_name_paths_outside(store, make_bundle, tmp_path):
    import hashlib
    import json

    evil = json.dumps({"format": "civicml.bundle", "files": {"../../escape": {"sha256": "0"}}})
    digest = hashlib.sha256(evil.encode()).hexdigest()
    _write(store, store.key_for(digest), "manifest.json", evil.encode())
    with pytest.raises(RegistryError, match="is not allowed"):
        store.fetch(digest, tmp_path / "cache")
    assert not (tmp_path / "escape").exists()


def test_bad_digest_is_refused(tmp_path):
    store = ArtifactStore(str(tmp_path))
    for bad in ("../" * 20 + "x" * 4, "A" * 64, "a" * 63):
        with pytest.raises(RegistryError):
            store.key_for(bad)


def test_registry_on_s3_end_to_end(s3_options, make_bundle, tmp_path):
    import s3fs

    bucket = f"civicml-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**s3_options).mkdir(bucket)
    reg = open_registry(
        "sqlite://",
        artifacts=f"s3://{bucket}/models",
        project_dir=tmp_path,
        storage_options=s3_options,
    )
    try:
        b = make_bundle()
        v = reg.register(b.path, "benefits", actor="Rosa")
        assert reg.load_version("benefits/1").digest == v.digest
        assert s3fs.S3FileSystem(**s3_options).exists(
            f"{bucket}/models/{v.artifact_key}/manifest.json"
        )
    finally:
        reg.close()


# -- signatures travel with the bundle (issue 17, section 3) -------------------------------------
def _signed(bundle: Any, keys: Any) -> Any:
    """``bundle`` signed with ``keys``, as registration sees it (verified, signature read)."""
    from civicml.bundle import sign_bundle, verify_bundle

    sign_bundle(bundle.path, keys.private)
    return verify_bundle(bundle.path)


@pytest.fixture(scope="module")
def two_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    from civicml.bundle import write_keypair

    base = tmp_path_factory.mktemp("keys")
    return write_keypair(base / "ada"), write_keypair(base / "grace")


def test_put_keeps_the_signature_and_fetch_brings_back_the_one_asked_for(
    store, make_bundle, tmp_path, two_keys
):
    from civicml.bundle import SIGNATURE, read_signature

    ada, _ = two_keys
    b = _signed(make_bundle(), ada)
    key = store.put(b)
    assert store.has_signature(b.digest, ada.fingerprint)
    assert not store.fs.exists(f"{store._base}/{key}/{SIGNATURE}")  # beside the blob, not in it
    got = store.fetch(b.digest, tmp_path / "cache", signer=ada.fingerprint)
    assert got.signer == ada.fingerprint
    assert read_signature(got.path).fingerprint == ada.fingerprint
    assert (got.path / SIGNATURE).read_bytes() == (b.path / SIGNATURE).read_bytes()
    again = store.fetch(b.digest, tmp_path / "cache", signer=ada.fingerprint)  # from the cache
    assert again.path == got.path and again.signer == ada.fingerprint
    plain = store.fetch(b.digest, tmp_path / "cache")  # no signer asked for: an unsigned copy
    assert plain.signer is None and not (plain.path / SIGNATURE).exists()


def test_a_signature_is_added_to_a_blob_stored_unsigned_and_two_signers_coexist(
    store, make_bundle, tmp_path, two_keys
):
    import shutil

    from civicml.bundle import load_bundle

    ada, grace = two_keys
    b = make_bundle()
    store.put(b)  # stored unsigned first
    copy = load_bundle(shutil.copytree(b.path, tmp_path / "copy"))
    store.put(_signed(b, ada))
    store.put(_signed(copy, grace))  # the same bytes, signed by another person
    assert store.has_signature(b.digest, ada.fingerprint)
    assert store.has_signature(b.digest, grace.fingerprint)
    for keys in (ada, grace):
        assert store.fetch(b.digest, tmp_path / "c", signer=keys.fingerprint).signer == (
            keys.fingerprint
        )


def test_a_missing_or_replaced_signature_is_refused_on_fetch(
    store, make_bundle, tmp_path, two_keys
):
    import shutil

    from civicml.bundle import SIGNATURE, load_bundle

    ada, grace = two_keys
    b = make_bundle()
    store.put(b)  # unsigned: no signature by ada is kept
    with pytest.raises(IntegrityError, match="by key .* is missing from the artifact store"):
        store.fetch(b.digest, tmp_path / "cache", signer=ada.fingerprint)
    # grace's valid signature of the same bundle, put where ada's should be
    grace_copy = _signed(load_bundle(shutil.copytree(b.path, tmp_path / "g")), grace)
    slot = (f"{store.key_for(b.digest)}.signatures", f"{ada.fingerprint}.json")
    _write(store, *slot, (grace_copy.path / SIGNATURE).read_bytes())
    with pytest.raises(IntegrityError, match=f"was made by key {grace.fingerprint[:16]}"):
        store.fetch(b.digest, tmp_path / "cache", signer=ada.fingerprint)
    assert not list((tmp_path / "cache").glob(f"{b.digest}*"))
    # a signature of another manifest is refused by the bundle's own verification
    other = _signed(make_bundle(), ada)
    _write(store, *slot, (other.path / SIGNATURE).read_bytes())
    with pytest.raises(IntegrityError, match="rewritten after it was signed"):
        store.fetch(b.digest, tmp_path / "cache", signer=ada.fingerprint)
    with pytest.raises(RegistryError, match="fingerprint must be 64"):
        store.fetch(b.digest, tmp_path / "cache", signer="../../etc")


def test_registry_loads_a_version_signed_by_its_recorded_signer(make_bundle, tmp_path, two_keys):
    from civicml.bundle import read_signature

    ada, grace = two_keys
    with open_registry(project_dir=tmp_path) as reg:
        v = reg.register(_signed(make_bundle(), ada).path, "benefits", actor="Ada")
        assert v.signer == ada.fingerprint
        got = reg.load_version("benefits/1")
        assert got.signer == ada.fingerprint and read_signature(got.path) is not None
        unsigned = reg.register(make_bundle().path, "benefits", actor="Ada")
        assert unsigned.signer is None and reg.load_version("benefits/2").signer is None

        # the artifact store's copy of ada's signature replaced by grace's (of the same bytes)
        import shutil

        from civicml.bundle import SIGNATURE, load_bundle

        copy = _signed(load_bundle(shutil.copytree(got.path, tmp_path / "g")), grace)
        slot = reg.artifacts._signature_path(v.digest, ada.fingerprint)
        Path(slot).write_bytes((copy.path / SIGNATURE).read_bytes())
        shutil.rmtree(got.path)  # not from the cache
        with pytest.raises(IntegrityError, match="was made by key"):
            reg.load_version("benefits/1")
        Path(slot).unlink()
        with pytest.raises(IntegrityError, match="is missing from the artifact store"):
            reg.load_version("benefits/1")


def test_a_bundle_whose_signer_differs_from_the_version_is_refused(make_bundle, two_keys):
    from civicml.registry._artifacts import check_signed_by

    ada, grace = two_keys
    b = _signed(make_bundle(), ada)
    assert check_signed_by(b, ada.fingerprint, "benefits/1") is b
    with pytest.raises(
        IntegrityError,
        match=f"benefits/1 was registered signed by key {grace.fingerprint[:16]}…, but the "
        f"bundle fetched for it is signed by key {ada.fingerprint[:16]}…",
    ):
        check_signed_by(b, grace.fingerprint, "benefits/1")
    with pytest.raises(IntegrityError, match="benefits/1 was registered unsigned"):
        check_signed_by(b, None, "benefits/1")
