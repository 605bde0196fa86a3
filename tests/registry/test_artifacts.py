"""The artifact store on a local folder and on S3 (a moto server on 127.0.0.1)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
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
