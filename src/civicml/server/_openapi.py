"""The OpenAPI 3.1 document of ``/api/v1``, written from the same route table that dispatches
requests (so it cannot drift from what the server does)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from civicml.server._schemas import component_schemas, param_schema
from civicml.server._table import Route

__all__ = ["API_PREFIX", "openapi_document"]

#: where the API is mounted
API_PREFIX = "/api/v1"
_ERRORS = {
    "401": "No valid credentials (a bearer token or a dashboard session).",
    "403": "Authenticated, but without the role, or a governance rule refused it.",
    "404": "No such model, version, alias, token or key.",
    "409": "The request conflicts with the current state.",
    "422": "The request is not valid (a field, a name, a refused 'by', an unsafe tar).",
    "429": "The token went over its rate limit.",
}
_DESCRIPTION = (
    "civicml's team server: models, versions, approvals, aliases, audit, tokens, keys and "
    "runs. Every write's actor is the authenticated caller (a bearer API token acts as its "
    "owner; a dashboard session as the signed-in person); a body field 'by' or 'actor' is "
    'refused. Errors are one JSON body: {"error": "..."}.'
)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(route: Route) -> dict[str, Any]:
    if route.download:
        content = {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}}
        return {"description": "The verified bundle as an uncompressed tar.", "content": content}
    schema: dict[str, Any] = _ref(route.response) if route.response else {"type": "object"}
    if route.many:
        schema = {"type": "array", "items": schema}
    return {"description": route.summary, "content": {"application/json": {"schema": schema}}}


def _request_body(route: Route) -> dict[str, Any] | None:
    if route.upload:
        binary = {"type": "string", "format": "binary"}
        return {
            "required": True,
            "description": "The bundle folder as an uncompressed POSIX tar.",
            "content": {"application/x-tar": {"schema": binary}},
        }
    if route.body is None:
        return None
    props = {p.name: param_schema(p) for p in route.body}
    required = [p.name for p in route.body if p.required]
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return {
        "required": bool(required),
        "content": {"application/json": {"schema": schema}},
    }


def _operation(route: Route) -> dict[str, Any]:
    params = [
        {"name": p.name, "in": "path", "required": True, "schema": param_schema(p)}
        for p in route.path_params()
    ]
    params += [
        {"name": p.name, "in": "query", "required": p.required, "schema": param_schema(p)}
        for p in route.query
    ]
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "responses": {str(route.status): _response(route)},
    }
    if params:
        op["parameters"] = params
    body = _request_body(route)
    if body is not None:
        op["requestBody"] = body
    if route.roles is None:
        op["security"] = []
    else:
        if route.roles:
            op["description"] = f"Needs the role: {' or '.join(route.roles)}."
        for code, text in _ERRORS.items():
            content = {"application/json": {"schema": _ref("Error")}}
            op["responses"][code] = {"description": text, "content": content}
    if route.upload:
        content = {"application/json": {"schema": _ref("Error")}}
        op["responses"]["413"] = {"description": "The upload is too large.", "content": content}
    return op


def openapi_document(routes: Sequence[Route], version: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes`` (mounted under :data:`API_PREFIX`)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(API_PREFIX + route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "civicml server", "version": version or "1", "description": _DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "civicml_session"},
            },
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    }
