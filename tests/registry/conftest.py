"""Fixtures for the registry's tests on the shared backend suite (tests/storage/suite.py):
in-memory, SQLite file and PostgreSQL (``backend``, ``pg_schema_url``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from atrs_gate import no_atrs_gaps
from civicml.bundle import Bundle, save_bundle
from storage.suite import backend_fixture, pg_schema_fixture, pg_shared_schema_fixture  # noqa: F401


@pytest.fixture
def registry(backend: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    from civicml.registry import open_registry

    reg = open_registry(backend[1], artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
    # these bundles have no real ATRS record; the ATRS gate has its own tests (test_atrs_gate.py)
    reg.atrs_check = no_atrs_gaps
    try:
        yield reg
    finally:
        reg.close()


GOOD_SPEC = {
    "name": "benefits",
    "owner": {
        "organisation": "DWP",
        "team": "Benefits Analytics",
        "senior_responsible_owner": "Jo Bloggs",
        "contact": "benefits-ml@example.gov.uk",
    },
    "intended_use": "Prioritise claims for a caseworker's review",
    "out_of_scope_uses": ["Deciding entitlement", "Sanctions"],
}


@pytest.fixture
def good_spec() -> dict[str, Any]:
    return GOOD_SPEC


@pytest.fixture
def make_bundle(tmp_path: Path) -> Callable[..., Bundle]:
    """Build a small, unique test bundle (no model) quickly."""
    counter = iter(range(1_000_000))

    def make(
        tag: str | None = None,
        *,
        checks: bool | None = True,
        spec: dict[str, Any] | None = GOOD_SPEC,
        extra: dict[str, Any] | None = None,
    ) -> Bundle:
        n = next(counter)
        tag = tag or f"b{n}-{uuid.uuid4().hex[:6]}"
        docs: dict[str, Any] = {"model_info.json": {"task": "binary", "target": "y", "tag": tag}}
        if checks is not None:
            docs["checks.json"] = {
                "checks": [
                    {"name": "auc_above_baseline", "passed": True, "evidence": "0.81 > 0.5"},
                    {"name": "fairness_gap", "passed": checks, "evidence": "0.03"},
                ]
            }
        if spec is not None:
            docs["spec.json"] = spec
        docs.update(extra or {})
        return save_bundle(
            tmp_path / "bundles" / tag, documents=docs, files={"model.bin": tag.encode()}
        )

    return make
