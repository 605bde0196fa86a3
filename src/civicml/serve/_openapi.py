"""The app's OpenAPI 3.0 document, generated from the served model's data contract."""

from __future__ import annotations

from typing import Any

from civicml.serve._runtime import ModelRuntime

__all__ = ["openapi_document"]

_ERROR = {
    "description": "An error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "errors": {"type": "array"}},
            }
        }
    },
}


def _json_ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _ERROR for c in codes}


def openapi_document(rt: ModelRuntime) -> dict[str, Any]:
    """OpenAPI for ``rt``: each row's fields, types, ranges and categories come from its contract."""
    row = {
        "type": "object",
        "properties": rt.schema.openapi_properties(),
        "required": list(rt.schema.names),
        "additionalProperties": rt.schema.extra_columns == "allow",
    }
    tensor = {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string", "enum": list(rt.schema.names)},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string"},
            "data": {"type": "array"},
        },
    }
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    auth_errors = _errors(400, 401, 403, 404, 405, 413, 422, 429)

    def post(summary: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "security": secured,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                },
                "responses": {"200": _json_ok("Predictions"), **auth_errors},
            }
        }

    def get(summary: str, secure: bool = True) -> dict[str, Any]:
        op: dict[str, Any] = {"summary": summary, "responses": {"200": _json_ok(summary)}}
        if secure:
            op["security"] = secured
            op["responses"].update(auth_errors)
        else:
            op["security"] = []
            op["responses"].update(_errors(503))
        return {"get": op}

    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    request_id = {
        "name": "request_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
    }
    infer = post(
        "Open Inference Protocol v2 inference",
        {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "inputs": {"type": "array", "items": tensor},
                "outputs": {"type": "array", "items": {"type": "object"}},
                "parameters": {"type": "object"},
            },
        },
    )
    model_get = get("Model metadata")
    paths: dict[str, Any] = {
        "/v2/health/live": get("Liveness", secure=False),
        "/v2/health/ready": get("Readiness", secure=False),
        "/v2": get("Server metadata"),
        "/v2/models/{name}": {"get": {**model_get["get"], "parameters": [name]}},
        "/v2/models/{name}/ready": {"get": {**get("Model readiness")["get"], "parameters": [name]}},
        "/v2/models/{name}/infer": {"post": {**infer["post"], "parameters": [name]}},
        "/v2/models/{name}/versions/{version}": {
            "get": {**model_get["get"], "parameters": [name, version]}
        },
        "/v2/models/{name}/versions/{version}/infer": {
            "post": {**infer["post"], "parameters": [name, version]}
        },
        "/predict": post(
            "Predict JSON records (or CSV with Content-Type text/csv)",
            {"oneOf": [row, {"type": "array", "items": row, "minItems": 1}]},
        ),
        "/invocations": post(
            "MLflow-compatible scoring",
            {
                "type": "object",
                "properties": {
                    "dataframe_split": {
                        "type": "object",
                        "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array"}},
                        },
                    },
                    "dataframe_records": {"type": "array", "items": row},
                    "instances": {"type": "array", "items": row},
                    "inputs": {"type": "array", "items": row},
                    "params": {"type": "object"},
                },
            },
        ),
        "/decisions/{request_id}": {
            "post": {
                **post(
                    "Record a reviewer's final decision",
                    {
                        "type": "object",
                        "required": ["decision"],
                        "properties": {
                            "decision": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                            "reason": {"type": "string"},
                            "reviewer": {"type": "string"},
                        },
                    },
                )["post"],
                "parameters": [request_id],
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "security": secured,
                "responses": {
                    "200": {
                        "description": "metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **auth_errors,
                },
            }
        },
        "/openapi.json": get("This document"),
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": f"civicml serving: {rt.name}", "version": str(rt.version)},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
