"""The shared backend suite's fixtures: every store runs on in-memory SQLite, a SQLite file and
PostgreSQL. Import them into a ``conftest.py`` or a test module:

    from storage.suite import backend_fixture, pg_schema_fixture, pg_shared_schema_fixture

PostgreSQL is the server at 127.0.0.1:5432, database ``test`` (trust auth, user ``postgres`` or
``root``). Each test gets an empty schema: ``pg_schema_url`` a fresh one, dropped afterwards;
``backend`` one migrated schema per session, emptied before each test. Without the server the
Postgres cases skip, unless ``CIVICML_REQUIRE_POSTGRES=1`` (set by .ci/run), when they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    """The server's base URL; skips the test (fails under CIVICML_REQUIRE_POSTGRES=1) without."""
    url = postgres_url()
    if url is None:
        message = f"PostgreSQL is not reachable at {PG_HOST}/{PG_DB}"
        if os.environ.get("CIVICML_REQUIRE_POSTGRES", "") not in ("", "0"):
            pytest.fail(message + " and CIVICML_REQUIRE_POSTGRES=1 demands it", pytrace=False)
        pytest.skip(message)
    return url


def exec_pg(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql)


def _schema_url(prefix: str) -> Iterator[str]:
    base = require_postgres()
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    exec_pg(base, f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        exec_pg(base, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(name="pg_schema_url")
def pg_schema_fixture() -> Iterator[str]:
    """A database URL on a fresh, empty PostgreSQL schema, dropped after the test."""
    yield from _schema_url("civicml_test")


@pytest.fixture(name="pg_shared_schema", scope="session")
def pg_shared_schema_fixture() -> Iterator[str]:
    """One migrated schema for the shared suite's Postgres cases, emptied before each test."""
    yield from _schema_url("civicml_suite")


def empty_pg(url: str) -> str:
    """Migrate ``url`` to the newest revision and empty every table (a fresh audit chain)."""
    from civicml.storage import metadata, open_database

    with open_database(url) as db, db.engine.begin() as conn:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        conn.exec_driver_sql(
            "INSERT INTO registry_audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')"
        )
    return url


def backend_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of ``kind`` (``memory``, ``sqlite`` or ``postgres``) for one test."""
    if kind == "memory":
        return "sqlite://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'civicml.db'}"
    return empty_pg(request.getfixturevalue("pg_shared_schema"))


@pytest.fixture(name="backend", params=BACKENDS)
def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """``(kind, url)`` for each backend of the shared suite."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return request.param, backend_url(request.param, tmp_path, request)
