"""The /api/v1 OpenAPI document: valid OpenAPI 3.1, written from the route table that
dispatches (so every route is in it), and a schemathesis run over the live app: no 5xx, every
error the one JSON body."""

from __future__ import annotations

from typing import Any

import pytest

from civicml.server import API_PREFIX, ROUTES, openapi_document
from server._support import Site


def test_the_document_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    doc = openapi_document(ROUTES, "1.0")
    validator.validate(doc)
    assert doc["openapi"] == "3.1.0"


def test_every_route_is_documented_with_its_schemas() -> None:
    doc = openapi_document(ROUTES)
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert ops == {(r.method, API_PREFIX + r.path) for r in ROUTES}
    schemas = doc["components"]["schemas"]
    for name in ("ModelVersion", "ModelSummary", "Decision", "AuditEvent", "TokenInfo", "Error"):
        assert name in schemas
    assert "signer" in schemas["ModelVersion"]["properties"]  # read from the record itself
    approve = doc["paths"]["/api/v1/models/{name}/versions/{v}/approve"]["post"]
    assert approve["description"] == "Needs the role: approver."
    body = approve["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["reason"] and body["additionalProperties"] is False
    assert "by" not in body["properties"]
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []
    upload = doc["paths"]["/api/v1/models/{name}/versions"]["post"]
    assert "application/x-tar" in upload["requestBody"]["content"]


def test_the_served_document_is_the_table(site: Site) -> None:
    served = site.call("GET", "/openapi.json").json()
    assert served["paths"] == openapi_document(ROUTES)["paths"]


def test_schemathesis_finds_no_server_error(site: Site) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schemathesis.serializer.alias("application/x-tar", "application/octet-stream")
    site.person("alice", "trainer", "approver")
    schema = schemathesis.openapi.from_dict(site.call("GET", "/openapi.json").json())
    schema.app = site.app
    headers = site.auth("alice")
    seen: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            response = case.call(app=site.app, headers=headers)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            assert response.status_code < 500, (case.method, case.path, response.text)
            if response.status_code >= 400:
                body = response.json()
                assert isinstance(body, dict) and isinstance(body.get("error"), str), response.text

        check()
    assert sum(seen.values()) >= 2 * len(ROUTES)
    assert any(code < 300 for code in seen) and any(400 <= code < 500 for code in seen)


def test_docs_list_every_route_with_its_role() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text()
    for route in ROUTES:
        roles = (
            "public"
            if route.roles is None
            else " or ".join(route.roles)
            if route.roles
            else "any signed-in caller"
        )
        assert f"| `{route.method} {API_PREFIX}{route.path}` | {roles} |" in text, route.path
