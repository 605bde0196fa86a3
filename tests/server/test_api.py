"""civicml server's /api/v1 in-process: authentication, roles, the two-person flow by two
people with their own tokens, refusals with their messages, the audit record."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from civicml.bundle import verify_bundle
from civicml.server import unpack_tar
from server._support import Site, bundle_tar


def _error(r: Any) -> str:
    body = r.json()
    assert set(body) <= {"error", "errors"} and isinstance(body["error"], str), r.text
    return str(body["error"])


def _team(site: Site) -> None:
    site.person("alice", "trainer")
    site.person("bob", "approver")
    site.register_key("alice")


def _register(site: Site, who: str = "alice", **params: str) -> dict[str, Any]:
    r = site.upload(who, bundle_tar(site.bundle(signer=who).path), **params)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_health_and_openapi_need_no_authentication(site: Site) -> None:
    r = site.call("GET", "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["version"]
    assert r.headers["x-request-id"]
    doc = site.call("GET", "/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/models/{name}/versions/{v}/approve" in doc["paths"]


def test_without_credentials_is_401_and_without_the_role_is_403(site: Site) -> None:
    r = site.call("GET", "/models")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "needs authentication" in _error(r)
    r = site.call(
        "GET", "/me", headers={"Authorization": "Bearer cml_0000000000000000_" + "x" * 43}
    )
    assert r.status_code == 401 and "not valid" in _error(r)
    site.person("pat", "predict")
    assert site.call("GET", "/me", "pat").json()["roles"] == []
    r = site.call("GET", "/models", "pat")
    assert r.status_code == 403 and "needs viewer" in _error(r)


def test_me_is_the_token_owner_verified(site: Site) -> None:
    site.person("alice", "trainer", "viewer")
    assert site.call("GET", "/me", "alice").json() == {
        "name": "alice@example.gov.uk",
        "verified": True,
        "via": "token:alice-token",
        "roles": ["viewer", "trainer"],
        "models": [],
    }


def test_two_people_register_request_approve_promote_and_resolve(site: Site) -> None:
    _team(site)
    v = _register(site, reason="first model", oversight="human-in-the-loop")
    assert (v["name"], v["version"], v["created_by"]) == ("benefits", 1, "alice@example.gov.uk")
    assert v["signer"] and v["oversight"] == "human-in-the-loop"

    r = site.call(
        "POST",
        "/models/benefits/versions/1/request-approval",
        "alice",
        json={"reason": "Beats the rules", "lawful_basis": "public-task"},
    )
    assert r.status_code == 200 and r.json()["status"] == "pending_approval", r.text

    r = site.call("POST", "/models/benefits/versions/1/approve", "alice", json={"reason": "mine"})
    assert r.status_code == 403 and "needs approver" in _error(r)
    r = site.call(
        "PUT", "/models/benefits/aliases/production", "alice", json={"version": 1}
    )  # not approved yet: the serving gate refuses
    assert r.status_code in (403, 409, 422) and "approv" in _error(r)

    r = site.call("POST", "/models/benefits/versions/1/approve", "bob", json={"reason": "Read it"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == "bob@example.gov.uk"

    # no assessment in this bundle, so no ATRS record: the server refuses a serving alias
    # until an approver (not the registrant) records an exemption with its reason
    r = site.call("PUT", "/models/benefits/aliases/Production", "alice", json={"version": 1})
    assert r.status_code == 403 and "ATRS record" in _error(r), r.text
    exemption = "/models/benefits/versions/1/atrs/exemption"
    r = site.call("PUT", exemption, "alice", json={"reason": "mine"})
    assert r.status_code == 403 and "needs approver" in _error(r), r.text
    r = site.call("PUT", exemption, "bob", json={})
    assert r.status_code == 422, r.text
    r = site.call("PUT", exemption, "bob", json={"reason": "National security"})
    assert r.status_code == 200, r.text
    assert r.json()["exemption"]["answered_by"] == "bob@example.gov.uk"
    assert site.call("GET", exemption, "alice").json()["exemption"]["answer"] == (
        "National security"
    )
    r = site.call("PUT", "/models/benefits/aliases/Production", "alice", json={"version": 1})
    assert r.status_code == 200 and r.json()["aliases"] == ["production"], r.text
    r = site.call("GET", "/resolve", "bob", params={"ref": "benefits@production"})
    assert r.status_code == 200 and r.json()["version"] == 1
    assert site.call("GET", "/models/benefits/aliases/production", "bob").json()["version"] == 1
    kinds = [
        d["kind"] for d in site.call("GET", "/models/benefits/versions/1/decisions", "bob").json()
    ]
    assert kinds == ["request", "approve"]
    assert site.call("GET", "/models/benefits", "bob").json()["aliases"] == {"production": 1}

    verified = site.call("GET", "/audit/verify", "bob").json()
    assert verified["ok"] is True, verified
    events = site.call("GET", "/audit", "bob", params={"subject": "benefits/1"}).json()
    approve = next(e for e in events if e["action"] == "approve")
    assert approve["actor"] == "bob@example.gov.uk"
    assert approve["details"]["identity"] == {"verified": True, "via": "token:bob-token"}
    head = site.call("GET", "/audit/head", "bob").json()
    assert head["seq"] >= len(events) and len(head["hash"]) == 64


def test_the_registrant_cannot_approve_even_holding_the_role(site: Site) -> None:
    site.person("alice", "trainer", "approver")
    site.register_key("alice")
    _register(site)
    r = site.call(
        "POST",
        "/models/benefits/versions/1/request-approval",
        "alice",
        json={"reason": "ready", "oversight": "human-in-the-loop", "lawful_basis": "public-task"},
    )
    assert r.status_code == 200, r.text
    r = site.call("POST", "/models/benefits/versions/1/approve", "alice", json={"reason": "ok"})
    assert r.status_code == 403 and "two-person rule" in _error(r)


def test_a_by_or_actor_field_is_refused(site: Site) -> None:
    _team(site)
    _register(site)
    for field in ("by", "actor"):
        r = site.call(
            "POST",
            "/models/benefits/versions/1/request-approval",
            "alice",
            json={"reason": "x", field: "someone else"},
        )
        assert r.status_code == 422
        assert f"The field {field!r} is not accepted" in _error(r)
    r = site.upload("alice", bundle_tar(site.bundle(signer="alice").path), by="bob")
    assert r.status_code == 422 and "'by' is not accepted" in _error(r)
    assert site.call("GET", "/models/benefits/versions", "alice").json()[0]["version"] == 1


def test_only_an_admin_issues_or_lists_tokens(site: Site) -> None:
    _team(site)
    for who in ("alice", "bob"):
        r = site.call("POST", "/tokens", who, json={"name": "mine", "scopes": ["admin"]})
        assert r.status_code == 403 and "needs admin" in _error(r)
        assert site.call("GET", "/tokens", who).status_code == 403
    r = site.call("POST", "/tokens", "root", json={"name": "ci", "scopes": ["predict"]})
    assert r.status_code == 201 and r.json()["owner"] == "root@example.gov.uk"
    assert r.json()["created_by"] == "root@example.gov.uk"
    names = {t["name"] for t in site.call("GET", "/tokens", "root").json()}
    assert {"root-token", "alice-token", "bob-token", "ci"} <= names
    r = site.call("DELETE", "/tokens/ci", "root", json={"reason": "not needed"})
    assert r.status_code == 200 and r.json()["revoked_by"] == "root@example.gov.uk"
    r = site.call("DELETE", "/tokens/alice-token", "root", json={"reason": "left"})
    assert r.status_code == 200
    assert site.call("GET", "/me", "alice").status_code == 401


def test_the_break_glass_token_is_audited_as_the_unverified_os_login(site: Site) -> None:
    from civicml.registry import os_login

    events = site.call("GET", "/audit", "root", params={"subject": "token:root-token"}).json()
    issue = events[0]
    assert issue["action"] == "token.issue" and issue["actor"] == os_login()
    assert issue["details"]["identity"] == {"verified": False, "via": "os-login"}
    assert "break-glass" in issue["reason"]


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


UNSAFE = {
    "absolute": (_tar((_member("/etc/x"), b"x")), "'/etc/x' has an absolute path"),
    "dotdot": (_tar((_member("b/../../x"), b"x")), "has a '..' part"),
    "symlink": (_tar((_member("l", tarfile.SYMTYPE, "/etc/passwd"), None)), "is a link"),
    "hardlink": (_tar((_member("h", tarfile.LNKTYPE, "/etc/passwd"), None)), "is a link"),
    "device": (_tar((_member("d", tarfile.CHRTYPE), None)), "not a regular file or folder"),
    "fifo": (_tar((_member("f", tarfile.FIFOTYPE), None)), "not a regular file or folder"),
    "duplicate": (
        _tar((_member("a.json"), b"{}"), (_member("./a.json"), b"{}")),
        "appears twice (a duplicate name)",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_tar_members_are_refused(site: Site, case: str) -> None:
    site.person("alice", "trainer")
    body, message = UNSAFE[case]
    r = site.upload("alice", body)
    assert r.status_code == 422, r.text
    assert "not safe to unpack" in _error(r) and message in _error(r)


def test_upload_refusals(make_site: Any) -> None:
    site = make_site(max_upload_bytes=20_000)
    site.person("alice", "trainer")
    r = site.upload("alice", b"\0" * 30_000)
    assert r.status_code == 413 and "limit of 20000 bytes" in _error(r)
    r = site.upload("alice", b"not a tar at all")
    assert r.status_code == 422 and "not an uncompressed tar" in _error(r)
    r = site.call("POST", "/models/benefits/versions", "alice", content=b"{}", headers={})
    assert r.status_code == 415
    r = site.upload("alice", _tar((_member("notes.txt"), b"hi")))
    assert r.status_code == 422 and "no manifest.json" in _error(r)


def test_an_unsigned_bundle_is_refused_and_a_folder_tar_is_taken(site: Site) -> None:
    _team(site)
    r = site.upload("alice", bundle_tar(site.bundle().path))
    assert r.status_code in (403, 422) and "sign" in _error(r).lower()
    b = site.bundle(signer="alice")
    r = site.upload("alice", bundle_tar(b.path, top="my-bundle"))
    assert r.status_code == 201 and r.json()["digest"] == b.digest


def test_the_bundle_downloads_verified(site: Site, tmp_path: Any) -> None:
    _team(site)
    v = _register(site)
    r = site.call("GET", "/models/benefits/versions/1/bundle", "bob")
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
    dest = tmp_path / "down"
    dest.mkdir()
    unpack_tar(io.BytesIO(r.content), dest)
    assert verify_bundle(dest).digest == v["digest"]


def test_governance_aliases_rollback_and_errors(site: Site) -> None:
    _team(site)
    _register(site)
    r = site.call(
        "POST",
        "/models/benefits/versions/1/governance",
        "alice",
        json={"oversight": "advisory", "intended_use": "Triage", "reason": "set"},
    )
    assert r.status_code == 200 and r.json()["oversight"] == "advisory"
    r = site.call(
        "POST", "/models/benefits/versions/1/governance", "alice", json={"lawful_basis": "x"}
    )
    assert r.status_code == 422 and "lawful basis" in _error(r).lower()
    r = site.call(
        "POST", "/models/benefits/versions/1/governance", "alice", json={"legal": {"x": 1}}
    )
    assert r.status_code == 422 and "legal record" in _error(r)
    r = site.call("PUT", "/models/benefits/aliases/staging", "alice", json={"version": 1})
    assert r.status_code == 200 and "staging" in r.json()["aliases"]
    r = site.call("DELETE", "/models/benefits/aliases/staging", "bob", json={"reason": "done"})
    assert r.status_code == 200 and r.json() == {
        "name": "benefits",
        "alias": "staging",
        "removed": True,
    }
    r = site.call("DELETE", "/models/benefits/aliases/staging", "bob", json={})
    assert r.status_code == 422 and "'reason' is required" in _error(r)
    r = site.call("GET", "/models/nope", "bob")
    assert r.status_code == 404 and "no model named 'nope'" in _error(r)
    r = site.call("GET", "/models/benefits/versions/x", "bob")
    assert r.status_code == 422 and "whole number" in _error(r)
    r = site.call(
        "POST", "/models/benefits/versions/1/approve", "bob", json={"reason": "x", "z": 1}
    )
    assert r.status_code == 422 and "Unknown field(s) ['z']" in _error(r)
    r = site.call("POST", "/models/benefits/versions/1/approve", "bob", content=b"[1]")
    assert r.status_code == 422 and "JSON object" in _error(r)
    r = site.call("POST", "/models/benefits/versions/1/reject", "bob", json={"reason": "no"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = site.call(
        "POST", "/models/benefits/aliases/production/rollback", "bob", json={"reason": "x"}
    )
    assert r.status_code == 404
    assert site.call("GET", "/nowhere", "bob").status_code == 404
    r = site.call("PATCH", "/models", "bob")
    assert r.status_code == 405 and "use GET" in _error(r)


def test_keys_are_yours_unless_you_are_admin(site: Site) -> None:
    from civicml.bundle import write_keypair

    _team(site)
    other = write_keypair(site.root / "keys" / "other")
    pem = other.public.read_text()
    r = site.call("POST", "/keys", "alice", json={"public_key": pem, "owner": "bob@example.gov.uk"})
    assert r.status_code == 403 and "only an admin" in _error(r)
    r = site.call("POST", "/keys", "root", json={"public_key": pem, "owner": "bob@example.gov.uk"})
    assert r.status_code == 201 and r.json()["owner"] == "bob@example.gov.uk"
    keys = site.call("GET", "/keys", "bob").json()
    assert {k["owner"] for k in keys} == {"alice@example.gov.uk", "bob@example.gov.uk"}
    r = site.call("DELETE", f"/keys/{other.fingerprint}", "alice", json={"reason": "mine now"})
    assert r.status_code == 403
    r = site.call("DELETE", f"/keys/{other.fingerprint}", "bob", json={"reason": "rotated"})
    assert r.status_code == 200 and r.json()["revoked_by"] == "bob@example.gov.uk"


def test_runs_are_listed_read_only(site: Site) -> None:
    from civicml.tracking import Run

    site.person("vic", "viewer")
    assert site.call("GET", "/runs", "vic", params={"limit": 5}).json() == []
    run = Run("ab12cd34" + "0" * 24, "benefits", "train", "finished", "2026-01-01T00:00:00Z")
    site.app.api.runs.create_run(run)
    found = site.call("GET", "/runs", "vic", params={"project": "benefits"}).json()
    assert [r["id"] for r in found] == [run.id]
    assert site.call("GET", "/runs", "vic", params={"status": "failed"}).json() == []
    assert site.call("GET", "/runs/ab12cd34", "vic").json()["project"] == "benefits"
    assert site.call("GET", "/runs/ffff0000", "vic").status_code == 404
    assert site.call("POST", "/runs", "vic").status_code == 405


def _session_cookie(site: Site, principal: Any) -> Any:
    from civicml.asgi import COOKIE, WebSession

    web = site.app.api.web
    session = WebSession(sid=web.auth.open_session(principal))
    site.client.cookies.set(COOKIE, web.codec.dumps(session))
    return session


def test_a_token_session_acts_as_the_token_owner_and_writes_need_the_csrf_token(
    site: Site,
) -> None:
    from civicml.asgi import Principal

    site.person("bob", "approver")
    info = site.app.registry.verify_token(site.tokens["bob"])
    session = _session_cookie(site, Principal.of(info, kind="session"))
    try:
        me = site.call("GET", "/me")
        assert me.status_code == 200 and me.json() == {
            "name": "bob@example.gov.uk",
            "verified": True,
            "via": "token:bob-token",
            "roles": ["approver"],
            "models": [],
        }
        r = site.call("POST", "/models/benefits/versions/1/approve", json={"reason": "x"})
        assert r.status_code == 403 and "CSRF" in _error(r)
        r = site.call(
            "POST",
            "/models/benefits/versions/1/approve",
            json={"reason": "x"},
            headers={"X-CSRF-Token": session.csrf},
        )
        assert r.status_code == 404  # authenticated and allowed: the model does not exist
    finally:
        site.client.cookies.clear()


def test_an_openid_session_acts_as_the_signed_in_person(site: Site) -> None:
    from civicml.asgi import Principal

    ann = Principal(
        "ann@example.gov.uk", ("trainer",), id="oidc:ann", kind="session", verified=True, via="oidc"
    )
    _session_cookie(site, ann)
    try:
        assert site.call("GET", "/me").json() == {
            "name": "ann@example.gov.uk",
            "verified": True,
            "via": "oidc",
            "roles": ["trainer"],
            "models": [],
        }
        r = site.call("GET", "/tokens")
        assert r.status_code == 403 and "needs admin" in _error(r)
    finally:
        site.client.cookies.clear()


def test_the_dashboard_is_mounted_at_the_root(site: Site) -> None:
    r = site.client.get("/sign-in")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]


def test_audit_head_verify_against_it_and_an_admin_repair(site: Site) -> None:
    import sqlite3

    _team(site)
    _register(site)
    head = site.call("GET", "/audit/head", "bob").json()
    assert head["seq"] > 0 and len(head["hash"]) == 64 and head["mac"]
    params = {"seq": head["seq"], "hash": head["hash"]}
    assert site.call("GET", "/audit/verify", "bob", params=params).json()["ok"] is True
    r = site.call("GET", "/audit/verify", "bob", params={"seq": 1})
    assert r.status_code == 422 and "both 'seq' and 'hash'" in _error(r)

    with sqlite3.connect(site.root / "registry.db") as db:  # someone edits the table
        db.execute("UPDATE registry_versions SET status = 'approved'")
    found = site.call("GET", "/audit/verify", "bob").json()
    assert found["ok"] is False and found["differences"]
    r = site.call("POST", "/models/benefits/versions/1/governance", "alice", json={"reason": "x"})
    assert r.status_code >= 400 and "audit" in _error(r).lower()
    r = site.call("POST", "/audit/repair", "bob", json={"reason": "looked"})
    assert r.status_code == 403 and "needs admin" in _error(r)
    r = site.call("POST", "/audit/repair", "root", json={"reason": "investigated: test edit"})
    assert r.status_code == 200 and r.json()["action"] == "audit.repair", r.text
    assert r.json()["actor"] == "root@example.gov.uk"
