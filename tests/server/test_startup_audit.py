"""A server started over a registry whose tables were edited while it was down refuses writes
from its first request (409), says why, and takes them again after an admin's repair."""

from __future__ import annotations

import sqlite3

from starlette.testclient import TestClient


def test_an_edit_made_while_the_server_was_down_blocks_writes_from_the_start(make_site):
    from civicml.server import create_server_app

    site = make_site()
    site.person("alice", "trainer")
    site.person("ada", "admin")
    site.client.__exit__(None, None, None)  # the server stops
    with sqlite3.connect(site.root / "registry.db") as conn:
        conn.execute("UPDATE registry_tokens SET scopes = 'admin' WHERE name = 'alice-token'")

    with TestClient(create_server_app(site.options)) as client:
        alice = {"Authorization": f"Bearer {site.tokens['alice']}"}
        ada = {"Authorization": f"Bearer {site.tokens['ada']}"}
        refused = client.post(
            "/api/v1/tokens", headers=alice, json={"name": "mine", "scopes": ["admin"]}
        )
        assert refused.status_code == 409, refused.text
        assert "audit log is broken" in refused.json()["error"]
        found = client.get("/api/v1/audit/verify", headers=ada).json()
        assert not found["ok"] and any(
            "alice-token" in d or "scopes" in d for d in found["differences"]
        )
        repaired = client.post(
            "/api/v1/audit/repair", headers=ada, json={"reason": "Scope change confirmed"}
        )
        assert repaired.status_code == 200, repaired.text
        assert client.get("/api/v1/audit/verify", headers=ada).json()["ok"]
        again = client.post(
            "/api/v1/tokens", headers=ada, json={"name": "after", "scopes": ["viewer"]}
        )
        assert again.status_code == 201, again.text
