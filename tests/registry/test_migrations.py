"""The registry opens on the one migration history (civicml.storage), and re-opening is cheap."""

from __future__ import annotations

import sys

import pytest

from civicml.registry import SQLStore
from civicml.storage import HEAD_REVISION, MIGRATIONS_DIR, metadata


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migrated_schema_matches_metadata(kind, tmp_path, request):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = (
        request.getfixturevalue("pg_schema_url")
        if kind == "postgres"
        else f"sqlite:///{tmp_path / 'r.db'}"
    )
    store = SQLStore(url)
    store.connect()
    try:
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(conn)
            assert ctx.get_current_revision() == HEAD_REVISION
            diff = compare_metadata(ctx, metadata)
        assert diff == []
    finally:
        store.close()


def test_head_revision_constant_matches_scripts():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_constructor_does_no_io_and_reopen_skips_alembic(tmp_path):
    db = tmp_path / "sub" / "r.db"
    store = SQLStore(f"sqlite:///{db}")
    assert not db.exists()
    store.connect()
    store.close()
    assert db.exists()
    for mod in [m for m in sys.modules if m == "alembic.command"]:
        del sys.modules[mod]
    SQLStore(f"sqlite:///{db}").connect()
    assert "alembic.command" not in sys.modules


def test_wal_mode(tmp_path):
    store = SQLStore(f"sqlite:///{tmp_path / 'r.db'}")
    store.connect()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
