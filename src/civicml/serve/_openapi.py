"""The app's OpenAPI 3.0 document, generated from the served model's data contract.

Served at ``GET /openapi.json`` (a ``predict`` token). It lists every route the app answers:
the Open Inference Protocol v2 routes, ``/predict``, ``/invocations`` (JSON or ``text/csv``),
``/explain``, the case routes, ``/metrics``, and MLflow's ``/ping``, ``/health`` and
``/version``. Every POST body may be sent with ``Content-Encoding: gzip`` (or ``deflate``); a
media type or coding a route does not read is 415.

Any predict-token holder may read it, so a personal-data or special-category input is
published as its type only: its categories and range stay in the contract (see
:func:`~civicml.serve._validate.personal_inputs`).
"""

from __future__ import annotations

from typing import Any

from civicml.serve._runtime import ModelRuntime
from civicml.serve._validate import personal_inputs

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


_SECURED: list[dict[str, list[str]]] = [{"bearer": []}]
_AUTH_ERRORS = _errors(400, 401, 403, 404, 405, 413, 415, 422, 429)
#: what every POST says about compression (a header parameter would make property-based
#: clients send a coding with an uncompressed body)
_COMPRESSION = (
    " The body may be compressed (Content-Encoding gzip or deflate); it is refused with 413 "
    "once it passes the size limit, compressed or not."
)
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_VERSION = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
#: the case id the server gives each decision (``X-Case-Id``)
_CASE_ID = {
    "name": "case_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"},
}


def _post(
    summary: str,
    schema: dict[str, Any],
    *,
    ok: str = "200",
    answer: str = "Predictions",
    csv: bool = False,
    binary: bool = False,
) -> dict[str, Any]:
    """A secured POST operation reading JSON (and CSV or binary tensors when told), answering
    predictions unless told otherwise."""
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if csv:
        content["text/csv"] = {
            "schema": {"type": "string", "description": "A header row, then one row per record."}
        }
    if binary:
        content["application/octet-stream"] = {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "The binary tensor extension: a JSON header of "
                "Inference-Header-Content-Length bytes, then the raw tensors.",
            }
        }
    return {
        "post": {
            "summary": summary,
            "description": summary + "." + _COMPRESSION,
            "security": _SECURED,
            "requestBody": {"required": True, "content": content},
            "responses": {ok: _json_ok(answer), **_AUTH_ERRORS},
        }
    }


def _text_get(summary: str, description: str, *, probe: bool = True) -> dict[str, Any]:
    """An unauthenticated GET answering plain text (MLflow's scoring-server probes; a probe
    answers 503 until the model is loaded and warmed)."""
    ok = {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}
    responses: dict[str, Any] = {"200": ok, **_errors(405)}
    if probe:
        responses["503"] = {**ok, "description": "The model is not ready yet"}
    return {"get": {"summary": summary, "security": [], "responses": responses}}


def _get(summary: str, secure: bool = True) -> dict[str, Any]:
    """A GET operation; the health probes (``secure=False``) need no token."""
    op: dict[str, Any] = {"summary": summary, "responses": {"200": _json_ok(summary)}}
    if secure:
        op["security"] = _SECURED
        op["responses"].update(_AUTH_ERRORS)
    else:
        op["security"] = []
        op["responses"].update(_errors(503))
    return {"get": op}


def _with(item: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    """A path item whose one operation takes ``params`` as path parameters."""
    ((method, op),) = item.items()
    return {method: {**op, "parameters": list(params)}}


def unpublished_inputs(rt: ModelRuntime) -> frozenset[str]:
    """The inputs of ``rt`` whose categories and range are not published: what the runtime
    treats as personal data, and what the bundle marks as personal or special category."""
    bundle = rt.bundle
    spec = bundle.read_json("spec.json") if bundle.has("spec.json") else {}
    marked = personal_inputs(rt.contract, spec if isinstance(spec, dict) else {}, bundle.info)
    return marked | frozenset(getattr(rt, "personal_columns", ())) | rt.schema.personal


def _row_schema(rt: ModelRuntime) -> dict[str, Any]:
    """One row: each field's type, range and categories come from the data contract (not the
    categories or range of a personal-data column)."""
    return {
        "type": "object",
        "properties": rt.schema.openapi_properties(personal=unpublished_inputs(rt)),
        "required": list(rt.schema.names),
        "additionalProperties": rt.schema.extra_columns == "allow",
    }


def _v2_paths(rt: ModelRuntime) -> dict[str, Any]:
    """The Open Inference Protocol v2 paths: health, server and model metadata, infer."""
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
    infer = _post(
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
        binary=True,
    )
    model_get = _get("Model metadata")
    return {
        "/v2/health/live": _get("Liveness", secure=False),
        "/v2/health/ready": _get("Readiness", secure=False),
        "/v2": _get("Server metadata"),
        "/v2/models/{name}": _with(model_get, _NAME),
        "/v2/models/{name}/ready": _with(_get("Model readiness"), _NAME),
        "/v2/models/{name}/infer": _with(infer, _NAME),
        "/v2/models/{name}/versions/{version}": _with(model_get, _NAME, _VERSION),
        "/v2/models/{name}/versions/{version}/infer": _with(infer, _NAME, _VERSION),
    }


def _scoring_paths(row: dict[str, Any]) -> dict[str, Any]:
    """``/predict`` (records or CSV), ``/invocations`` (MLflow's formats), ``/explain`` and
    MLflow's probes."""
    records = {"oneOf": [row, {"type": "array", "items": row, "minItems": 1}]}
    return {
        "/predict": _post(
            "Predict JSON records (or CSV with Content-Type text/csv)", records, csv=True
        ),
        "/explain": _post(
            "Predictions with each row's reasons: the features that moved its score most "
            "(at most 100 rows)",
            records,
            answer="Predictions, each with 'reasons'",
        ),
        "/ping": _text_get("Readiness, as MLflow's scoring server answers it", "A newline"),
        "/health": _text_get("The same as /ping", "A newline"),
        "/version": _text_get(
            "The server's version (MLflow's client asks)", "The version", probe=False
        ),
        "/invocations": _post(
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
            csv=True,
        ),
    }


def _operations_paths() -> dict[str, Any]:
    """Cases (contest, review, the queue), metrics and this document."""
    review = _post(
        "A reviewer's final outcome for a case (the 'review' scope; the reviewer is the token's "
        "identity)",
        {
            "type": "object",
            "required": ["decision"],
            "properties": {
                "decision": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                "reason": {"type": "string", "maxLength": 2000},
            },
            "additionalProperties": False,
        },
        answer="The case after the review",
    )
    contest = _post(
        "Contest a decision: opens its case for a person",
        {
            "type": "object",
            "required": ["reason"],
            "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
            "additionalProperties": False,
        },
        ok="201",
        answer="The case is open for a person",
    )
    return {
        "/decisions/queue": _get("Open cases, oldest first, with their age ('review' scope)"),
        "/decisions/{case_id}": _with(_get("One case and its events ('review' scope)"), _CASE_ID),
        "/decisions/{case_id}/review": _with(review, _CASE_ID),
        "/decisions/{case_id}/contest": _with(contest, _CASE_ID),
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "security": _SECURED,
                "responses": {
                    "200": {
                        "description": "metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_AUTH_ERRORS,
                },
            }
        },
        "/openapi.json": _get("This document"),
    }


def openapi_document(rt: ModelRuntime) -> dict[str, Any]:
    """OpenAPI for ``rt``: each row's fields, types, ranges and categories come from its contract
    (a personal-data column's categories and range are not published)."""
    paths = {**_v2_paths(rt), **_scoring_paths(_row_schema(rt)), **_operations_paths()}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"civicml serving: {rt.name}", "version": str(rt.version)},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
