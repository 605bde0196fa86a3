"""The storage tests use the shared backend suite's fixtures (see ``suite.py``)."""

from __future__ import annotations

from storage.suite import backend_fixture, pg_schema_fixture, pg_shared_schema_fixture  # noqa: F401
