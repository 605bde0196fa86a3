"""Validate a document against the official CycloneDX 1.6 JSON schema, offline (the schema
files are vendored in tests/bundle/schemas/, see its README)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent / "schemas"
_BASE = "http://cyclonedx.org/schema/"


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    def load(name: str) -> Any:
        return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))

    registry: Registry = Registry()
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        registry = registry.with_resource(
            _BASE + name, Resource.from_contents(load(name), default_specification=DRAFT7)
        )
    schema = load("bom-1.6.SNAPSHOT.schema.json")
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


def cyclonedx_errors(doc: Any) -> list[str]:
    """Every schema violation of ``doc`` as ``path: message`` (empty: valid CycloneDX 1.6)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.path)))
    ]
