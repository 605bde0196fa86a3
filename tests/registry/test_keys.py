"""Signing keys in the registry: registered, listed and revoked with audit events, and the
server registering only bundles signed by the acting person's own key."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from civicml._errors import ConflictError, GovernanceError, IntegrityError, NotFoundError
from civicml.bundle import SIGNATURE, Bundle, sign_bundle, write_keypair
from civicml.bundle._manifest import write_manifest
from civicml.registry import Actor, KeyInfo, open_registry


def _trainer(name: str, *roles: str) -> Actor:
    return Actor(name, verified=True, via=f"token:{name}", roles=roles or ("trainer",))


ADA = _trainer("ada")
BOB = _trainer("bob")
ROOT = _trainer("root", "admin")


@pytest.fixture
def keys(tmp_path: Path) -> Callable[[str], tuple[Path, str, bytes]]:
    def make(who: str) -> tuple[Path, str, bytes]:
        files = write_keypair(tmp_path / "keys" / who)
        return files.private, files.fingerprint, files.public.read_bytes()

    return make


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    reg = open_registry("sqlite://", project_dir=tmp_path, server=True)
    try:
        yield reg
    finally:
        reg.close()


# -- the key store, on every backend ------------------------------------------------------------
def test_register_list_revoke_are_audited(registry: Any, keys: Callable[..., Any]) -> None:
    _, fp, pem = keys("ada")
    info = registry.register_key(pem, "ada", reason="my laptop")
    assert isinstance(info, KeyInfo)
    assert (info.fingerprint, info.owner, info.created_by, info.active) == (fp, "ada", "ada", True)
    assert info.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert [k.fingerprint for k in registry.list_keys()] == [fp]
    assert registry.get_key(fp) == info
    assert registry.get_key(fp[:12]) == info  # a unique prefix names it too

    revoked = registry.revoke_key(fp, "ada", "laptop lost")
    assert revoked.revoked_by == "ada" and revoked.revoked_at is not None
    assert registry.get_key(fp).revoked_at == revoked.revoked_at

    events = [e for e in registry.audit_events() if e.action.startswith("key.")]
    assert [(e.action, e.subject, e.actor) for e in events] == [
        ("key.register", f"key:{fp}", "ada"),
        ("key.revoke", f"key:{fp}", "ada"),
    ]
    assert events[0].reason == "my laptop" and events[1].reason == "laptop lost"
    # each event carries the whole new state of the key, for replay
    assert events[0].details["state"] == info.state()
    assert events[1].details["state"] == revoked.state()
    assert set(events[1].details["state"]) >= {"fingerprint", "owner", "created_at", "revoked_at"}
    assert events[1].details["state"]["revoked_at"] == revoked.revoked_at
    assert events[0].details["public_key"] == info.public_key  # the key itself can be rebuilt
    assert events[0].details["fingerprint"] == fp
    assert events[0].details["identity"] == {"verified": False, "via": "api"}
    assert registry.verify_audit().ok


def test_key_refusals(registry: Any, keys: Callable[..., Any]) -> None:
    _, fp, pem = keys("ada")
    registry.register_key(pem, "ada")
    with pytest.raises(ConflictError, match="is registered to ada already"):
        registry.register_key(pem, "bob")
    registry.revoke_key(fp, "ada", "rotated")
    with pytest.raises(ConflictError, match="already revoked"):
        registry.revoke_key(fp, "ada", "again")
    with pytest.raises(ConflictError, match="was revoked already.*cannot come back"):
        registry.register_key(pem, "ada")  # a revoked key can never be registered again
    with pytest.raises(NotFoundError, match="No signing key has the fingerprint"):
        registry.get_key("0" * 64)
    with pytest.raises(NotFoundError, match="64 hex characters"):
        registry.revoke_key("xyz", "ada", "r")
    from civicml._errors import BundleError

    with pytest.raises(BundleError, match="not an Ed25519 public key"):
        registry.register_key(b"-----BEGIN PRIVATE KEY-----\nx\n", "ada")


def test_embedded_register_records_the_signer(
    registry: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    unsigned = registry.register(make_bundle().path, "benefits", actor="ada")
    assert unsigned.signer is None
    key, fp, _ = keys("ada")
    b = make_bundle()
    sign_bundle(b.path, key)
    v = registry.register(b.path, "benefits", actor="ada")  # a key nobody registered: recorded
    assert v.signer == fp and registry.get_version("benefits", 2).signer == fp
    event = registry.audit_events(subject="benefits/2")[0]
    assert event.action == "register" and event.details["signer"] == fp


def test_embedded_refuses_a_revoked_key_and_a_rewritten_manifest(
    registry: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    key, fp, pem = keys("ada")
    registry.register_key(pem, "ada")
    registry.revoke_key(fp, "ada", "lost")
    b = make_bundle()
    sign_bundle(b.path, key)
    with pytest.raises(GovernanceError, match="which ada revoked at .*civicml keys create"):
        registry.register(b.path, "benefits", actor="ada")
    forged = make_bundle()
    sign_bundle(forged.path, key)
    (forged.path / "checks.json").write_text(json.dumps({"checks": []}))
    write_manifest(forged.path, created_at="2026-01-01T00:00:00+00:00", civicml_version="0")
    with pytest.raises(IntegrityError, match="manifest.json was rewritten after it was signed"):
        registry.register(forged.path, "benefits", actor="ada")
    assert registry.list_models() == []


# -- server mode ----------------------------------------------------------------------------------
def test_server_accepts_a_bundle_signed_by_the_actors_registered_key(
    server: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    key, fp, pem = keys("ada")
    server.register_key(pem, ADA, reason="new laptop")
    b = make_bundle()
    sign_bundle(b.path, key)
    v = server.register(b.path, "benefits", actor=ADA)
    assert v.signer == fp and v.created_by == "ada"
    event = server.audit_events(subject="benefits/1")[0]
    assert event.details["signer"] == fp
    assert event.details["identity"] == {"verified": True, "via": "token:ada"}


def test_server_refuses_an_unsigned_bundle(server: Any, make_bundle: Callable[..., Bundle]) -> None:
    with pytest.raises(GovernanceError, match="is not signed.*civicml keys create.*keys register"):
        server.register(make_bundle().path, "benefits", actor=ADA)
    assert server.list_models() == []


def test_server_refuses_a_key_not_registered_to_the_actor(
    server: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    key, fp, pem = keys("bob")
    b = make_bundle()
    sign_bundle(b.path, key)
    with pytest.raises(GovernanceError, match="which is not registered, not to ada.*keys register"):
        server.register(b.path, "benefits", actor=ADA)
    server.register_key(pem, BOB)
    with pytest.raises(GovernanceError, match="which is registered to bob, not to ada"):
        server.register(b.path, "benefits", actor=ADA)
    assert server.register(b.path, "benefits", actor=BOB).signer == fp


def test_server_refuses_a_revoked_key(
    server: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    key, fp, pem = keys("ada")
    server.register_key(pem, ADA)
    server.revoke_key(fp, ADA, "laptop stolen")
    b = make_bundle()
    sign_bundle(b.path, key)
    with pytest.raises(GovernanceError, match="which ada revoked at"):
        server.register(b.path, "benefits", actor=ADA)


def test_server_refuses_a_forged_signature(
    server: Any, make_bundle: Callable[..., Bundle], keys: Callable[..., Any]
) -> None:
    key, _, pem = keys("ada")
    server.register_key(pem, ADA)
    b = make_bundle()
    sign_bundle(b.path, key)
    doc = json.loads((b.path / SIGNATURE).read_text())
    doc["signed"] = "0" * 64
    (b.path / SIGNATURE).write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="rewritten after it was signed"):
        server.register(b.path, "benefits", actor=ADA)


def test_server_key_rules(server: Any, keys: Callable[..., Any]) -> None:
    _, fp, pem = keys("bob")
    with pytest.raises(GovernanceError, match="only an admin registers a key for someone else"):
        server.register_key(pem, ADA, owner="bob")
    with pytest.raises(GovernanceError, match="was not signed in"):
        server.register_key(pem, Actor("bob"))  # unverified
    info = server.register_key(pem, ROOT, owner="bob")  # an admin may
    assert (info.owner, info.created_by) == ("bob", "root")
    with pytest.raises(GovernanceError, match="belongs to bob, so ada cannot revoke it"):
        server.revoke_key(fp, ADA, "not mine")
    assert server.get_key(fp).active
    assert server.revoke_key(fp, BOB, "rotating").revoked_by == "bob"


def test_a_key_row_edited_behind_the_registry_is_detected(
    registry: Any, keys: Callable[..., Any]
) -> None:
    import sqlalchemy as sa

    _, fp, pem = keys("ada")
    registry.register_key(pem, "ada")
    assert registry.verify_audit().ok
    with registry.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE registry_keys SET owner = 'mallory'"))
    result = registry.verify_audit()
    assert not result.ok
    assert any(d.startswith(f"registry_keys {fp[:12]}") or fp[:12] in d for d in result.differences)
