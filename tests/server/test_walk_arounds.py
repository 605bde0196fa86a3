"""The issue's walk-arounds, tried against the server as the person trying them would."""

from __future__ import annotations

import pytest

from server._support import Site, bundle_tar
from server.test_api import _error, _register, _team


@pytest.mark.parametrize("alias", ["Production", "prod", "live", "pr0duction"])
def test_an_unapproved_version_takes_no_serving_alias(site: Site, alias: str) -> None:
    _team(site)
    _register(site, oversight="human-in-the-loop")
    r = site.call("PUT", f"/models/benefits/aliases/{alias}", "alice", json={"version": 1})
    assert r.status_code == 403 and "approv" in _error(r), r.text
    r = site.call("PUT", "/models/benefits/aliases/staging", "alice", json={"version": 1})
    assert r.status_code == 200, r.text  # a non-serving alias still moves


def test_no_name_in_a_request_is_believed(site: Site) -> None:
    _team(site)
    _register(site, oversight="human-in-the-loop")
    site.call(
        "POST",
        "/models/benefits/versions/1/request-approval",
        "alice",
        json={"reason": "ready", "lawful_basis": "public-task"},
    )
    for field in ("by", "actor"):
        r = site.call(
            "POST",
            "/models/benefits/versions/1/approve",
            "bob",
            json={"reason": "fine", field: "carol@example.gov.uk"},
        )
        assert r.status_code == 422 and field in _error(r), r.text
    r = site.call(
        "POST",
        "/models/benefits/versions/1/approve?by=carol@example.gov.uk",
        "bob",
        json={"reason": "fine"},
    )
    assert r.status_code == 422


def test_only_an_admin_issues_tokens(site: Site) -> None:
    _team(site)
    for who in ("alice", "bob"):
        r = site.call("POST", "/tokens", who, json={"name": f"{who}-x", "scopes": ["admin"]})
        assert r.status_code == 403, r.text
    r = site.call("POST", "/tokens", json={"name": "anon", "scopes": ["admin"]})
    assert r.status_code == 401


def test_a_bundle_rewritten_with_its_manifest_is_refused(site: Site) -> None:
    """Files and manifest.json forged together (better checks, better metrics) keep every
    hash consistent, but the signature no longer matches, and an unsigned one is refused."""
    import hashlib
    import json

    _team(site)
    b = site.bundle(signer="alice")
    checks = b.path / "checks.json"
    checks.write_text(json.dumps({"checks": [{"name": "fairness", "passed": True}]}))
    manifest = json.loads((b.path / "manifest.json").read_text())
    manifest["files"]["checks.json"]["sha256"] = hashlib.sha256(checks.read_bytes()).hexdigest()
    manifest["files"]["checks.json"]["bytes"] = checks.stat().st_size
    (b.path / "manifest.json").write_text(json.dumps(manifest))
    r = site.upload("alice", bundle_tar(b.path))
    assert r.status_code == 422 and "rewritten after it was signed" in _error(r), r.text
    (b.path / "signature.json").unlink()
    r = site.upload("alice", bundle_tar(b.path))
    assert r.status_code == 403 and "is not signed" in _error(r), r.text
    assert "/tmp" not in _error(r) and "the uploaded bundle" in _error(r)
