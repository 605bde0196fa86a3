"""JSON Schemas (OpenAPI 3.1) of what the API answers, made from the registry's own records.

``ModelVersion``, ``ModelSummary``, ``Decision``, ``AuditEvent``, ``AuditVerification`` and
``TokenInfo`` are read from the dataclasses' fields and types, so a field added to a record
appears in the document without anyone editing it.

Examples
--------
>>> from civicml.registry import Decision
>>> record_schema(Decision)["properties"]["kind"]
{'type': 'string'}
>>> type_schema(int | None)
{'type': ['integer', 'null']}
>>> type_schema(tuple[str, ...])
{'type': 'array', 'items': {'type': 'string'}}
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from civicml.registry import (
    AuditEvent,
    AuditVerification,
    Decision,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.server._table import Param

__all__ = ["component_schemas", "param_schema", "record_schema", "type_schema"]

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
#: the records the API answers with, by component name
RECORDS: dict[str, type] = {
    "ModelVersion": ModelVersion,
    "ModelSummary": ModelSummary,
    "Decision": Decision,
    "AuditEvent": AuditEvent,
    "AuditVerification": AuditVerification,
    "TokenInfo": TokenInfo,
    "KeyInfo": KeyInfo,
}


def type_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of a Python type hint (scalars, optional, list, tuple, dict, Any)."""
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = type_schema(inner[0]) if len(inner) == 1 else {}
        if type(None) in args and isinstance(schema.get("type"), str):
            return {**schema, "type": [schema["type"], "null"]}
        return schema if schema else {"anyOf": [type_schema(a) for a in args]}
    if origin in (list, tuple):
        item = args[0] if args else Any
        return {"type": "array", "items": type_schema(item)}
    if origin is dict or tp is dict:
        value = args[1] if len(args) == 2 else Any
        inner_schema = type_schema(value)
        return {"type": "object", "additionalProperties": inner_schema or True}
    return {}


def record_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a record dataclass: each field typed, those without a default
    required."""
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        props[f.name] = type_schema(hints[f.name])
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default:
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required}


def param_schema(param: Param) -> dict[str, Any]:
    """The JSON Schema of a query parameter or body field."""
    kind, _, of = param.kind.partition(":")
    schema: dict[str, Any] = {"type": kind}
    if kind == "version":  # a version number, or "none" for an empty alias
        schema = {
            "oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "enum": ["none"]}]
        }
    elif kind == "array":
        schema["items"] = {"type": of or "string"}
    elif kind == "object" and of:
        schema["additionalProperties"] = {"type": of}
    if param.description:
        schema["description"] = param.description
    return schema


def _object(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


def component_schemas() -> dict[str, Any]:
    """Every schema the document refers to."""
    schemas = {name: record_schema(cls) for name, cls in RECORDS.items()}
    text = {"type": "string"}
    schemas["NewToken"] = {
        "allOf": [
            {"$ref": "#/components/schemas/TokenInfo"},
            _object({"token": {"type": "string", "description": "Shown this once only."}}, []),
        ]
    }
    schemas["Error"] = _object(
        {
            "error": {"type": "string", "description": "What went wrong and how to fix it."},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
        ["error"],
    )
    schemas["Health"] = _object({"status": text, "version": text}, ["status", "version"])
    schemas["Me"] = _object(
        {
            "name": text,
            "verified": {"type": "boolean"},
            "via": text,
            "roles": {"type": "array", "items": text},
            "models": {
                "type": "array",
                "items": text,
                "description": "The model names or team prefixes the caller reaches (empty: all).",
            },
        },
        ["name", "verified", "via", "roles"],
    )
    maybe = {"type": ["string", "null"]}
    schemas["AuditHead"] = _object(
        {"seq": {"type": "integer"}, "hash": maybe, "mac": maybe, "time": maybe, "key_id": maybe},
        ["seq", "hash", "mac"],
    )
    schemas["AliasRemoved"] = _object(
        {"name": text, "alias": text, "removed": {"type": "boolean"}}, ["name", "alias", "removed"]
    )
    schemas["Run"] = {"type": "object", "description": "A recorded training run."}
    return schemas
