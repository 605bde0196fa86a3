"""Fixtures for the registry's shared backend suite: in-memory, SQLite file and PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432, database ``test`` (trust auth, user ``postgres`` or
``root``). Each test gets a fresh schema, dropped afterwards. Without the server the Postgres
cases skip, unless ``CIVICML_REQUIRE_POSTGRES=1`` (set by .ci/run), when they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from civicml.bundle import Bundle, save_bundle

PG_HOST = os.environ.get("CIVICML_TEST_PG_HOST", "127.0.0.1:5432")
PG_DB = os.environ.get("CIVICML_TEST_PG_DB", "test")
BACKENDS = ["memory", "sqlite", "postgres"]

_pg_cache: dict[str, str | None] = {}


def postgres_url() -> str | None:
    """The base URL of the test server, or None when it cannot be reached."""
    if "url" in _pg_cache:
        return _pg_cache["url"]
    url = None
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        psycopg = None  # type: ignore[assignment]
    if psycopg is not None:
        for user in ("postgres", "root"):
            candidate = f"postgresql://{user}@{PG_HOST}/{PG_DB}"
            try:
                with psycopg.connect(candidate, connect_timeout=3):
                    url = candidate
                    break
            except Exception:
                continue
    _pg_cache["url"] = url
    return url


def require_postgres() -> str:
    url = postgres_url()
    if url is None:
        message = f"PostgreSQL is not reachable at {PG_HOST}/{PG_DB}"
        if os.environ.get("CIVICML_REQUIRE_POSTGRES", "") not in ("", "0"):
            pytest.fail(message + " and CIVICML_REQUIRE_POSTGRES=1 demands it", pytrace=False)
        pytest.skip(message)
    return url


def _exec_pg(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A registry URL on a fresh PostgreSQL schema, dropped after the test."""
    base = require_postgres()
    schema = f"civicml_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _exec_pg(base, f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        _exec_pg(base, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def _pg_shared_schema() -> Iterator[str]:
    """One migrated schema for the shared suite's Postgres cases, emptied before each test."""
    base = require_postgres()
    schema = f"civicml_suite_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    _exec_pg(base, f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        _exec_pg(base, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _empty_pg(url: str) -> str:
    from civicml.registry import SQLStore
    from civicml.registry._schema import metadata

    store = SQLStore(url)
    store.connect()  # migrates on first use
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql(
                "INSERT INTO registry_audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')"
            )
    finally:
        store.close()
    return url


def backend_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "sqlite://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return _empty_pg(request.getfixturevalue("_pg_shared_schema"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """``(kind, url)`` for each backend of the shared suite."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return request.param, backend_url(request.param, tmp_path, request)


@pytest.fixture
def registry(backend: tuple[str, str], tmp_path: Path) -> Iterator[Any]:
    from civicml.registry import open_registry

    reg = open_registry(backend[1], artifacts=str(tmp_path / "artifacts"), project_dir=tmp_path)
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
