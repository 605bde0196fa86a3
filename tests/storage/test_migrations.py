"""One Alembic history for every table: from an empty database, from the previous head, and from
a bandit database that the old store created outside Alembic."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa

from civicml.bandits import BanditSpec, BanditStore
from civicml.registry import SQLStore
from civicml.storage import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    bandit_bandits,
    bandit_decisions,
    bandit_policies,
    current_revision,
    metadata,
    open_database,
    upgrade,
)
from civicml.tracking import SQLRunStore

PREVIOUS_HEAD = "0002"
BANDIT_TABLES = {"bandit_bandits", "bandit_policies", "bandit_decisions"}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database: a new SQLite file or a fresh PostgreSQL schema."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("pg_schema_url"))
    return f"sqlite:///{tmp_path / 'civicml.db'}"


def _engine(url: str) -> sa.Engine:
    from civicml.storage import normalise_url

    return sa.create_engine(normalise_url(url))


def _tables(url: str) -> set[str]:
    engine = _engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _upgrade_to(url: str, revision: str) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            upgrade(conn, revision)
    finally:
        engine.dispose()


def test_the_history_is_one_line_with_the_old_revision_ids() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [HEAD_REVISION] == ["0007"]
    chain = [(r.revision, r.down_revision) for r in script.walk_revisions()]
    assert chain == [
        ("0007", "0006"),
        ("0006", "0005"),
        ("0005", "0004"),
        ("0004", "0003"),
        ("0003", "0002"),
        ("0002", "0001"),
        ("0001", None),
    ]


def test_the_migrations_ship_inside_the_package() -> None:
    import civicml.storage

    assert MIGRATIONS_DIR.parent == __import__("pathlib").Path(civicml.storage.__file__).parent
    for name in ("env.py", "script.py.mako", "versions/__init__.py", "versions/0003_bandits.py"):
        assert (MIGRATIONS_DIR / name).is_file(), name


def test_from_empty_to_head_matches_the_metadata(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with open_database(empty_url) as db, db.engine.connect() as conn:
        assert current_revision(conn) == HEAD_REVISION
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert set(metadata.tables) <= _tables(empty_url)


def test_from_the_previous_head_every_store_upgrades_and_keeps_its_data(empty_url: str) -> None:
    _upgrade_to(empty_url, PREVIOUS_HEAD)
    assert not BANDIT_TABLES & _tables(empty_url)
    engine = _engine(empty_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO runs (id, project, kind, status, started_at) "
            "VALUES ('" + "ab" * 16 + "', 'p', 'train', 'finished', '2025-01-01T00:00:00.000000Z')"
        )
    engine.dispose()
    runs = SQLRunStore(empty_url)
    runs.connect()
    try:
        assert [r.id for r in runs.list_runs()] == ["ab" * 16]
    finally:
        runs.close()
    bandits = BanditStore(empty_url)
    bandits.connect()
    try:
        bandits.create_bandit(BanditSpec(name="letters", arms=["a", "b"]))
        assert bandits.list_bandits() == ["letters"]
    finally:
        bandits.close()
    with open_database(empty_url) as db, db.read() as conn:
        assert current_revision(conn) == HEAD_REVISION


def _old_bandit_tables(engine: sa.Engine) -> None:
    """What the old bandit store made: its three tables by ``create_all``, no Alembic."""
    old = sa.MetaData()
    for table in (bandit_bandits, bandit_policies, bandit_decisions):
        table.to_metadata(old)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            old.tables["bandit_bandits"]
            .insert()
            .values(
                name="old",
                spec='{"name": "old", "arms": ["a", "b"]}',
                policy_version=1,
                created_at="2025-01-01T00:00:00.000000Z",
            )
        )
        conn.execute(
            old.tables["bandit_policies"]
            .insert()
            .values(
                bandit="old",
                version=1,
                config="{}",
                reason="created",
                created_at="2025-01-01T00:00:00.000000Z",
            )
        )
        conn.execute(
            old.tables["bandit_decisions"]
            .insert()
            .values(
                decision_id="d1",
                bandit="old",
                created_at="2025-01-01T00:00:00.000000Z",
                policy_version=1,
                context="{}",
                arm="a",
                propensity=0.5,
            )
        )


def test_a_bandit_database_made_outside_alembic_joins_the_history(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = _engine(empty_url)
    _old_bandit_tables(engine)
    engine.dispose()
    store = BanditStore(empty_url)
    store.connect()
    try:
        assert store.list_bandits() == ["old"]
        assert [d.decision_id for d in store.decisions("old")] == ["d1"]
        assert store.record_reward("old", "d1", 1.0)[1] is True
        with store.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        store.close()


def test_a_registry_database_that_also_held_old_bandit_tables_upgrades(empty_url: str) -> None:
    _upgrade_to(empty_url, PREVIOUS_HEAD)
    engine = _engine(empty_url)
    _old_bandit_tables(engine)
    engine.dispose()
    registry = SQLStore(empty_url)
    registry.connect()
    try:
        assert registry.list_models() == []
        with registry.engine.connect() as conn:
            assert current_revision(conn) == HEAD_REVISION
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(bandit_decisions)).scalar() == 1
            )
    finally:
        registry.close()


def test_downgrade_to_the_previous_head_and_back(tmp_path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'civicml.db'}"
    open_database(url).close()
    engine = _engine(url)
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, PREVIOUS_HEAD)
    with engine.connect() as conn:
        assert current_revision(conn) == PREVIOUS_HEAD
    engine.dispose()
    assert not BANDIT_TABLES & _tables(url)
    open_database(url).close()
    assert _tables(url) >= BANDIT_TABLES


def test_processes_opening_a_new_database_at_once_migrate_it_once(empty_url: str) -> None:
    import subprocess

    code = (
        "import sys; from civicml.storage import open_database; "
        "open_database(sys.argv[1]).close(); print('ok')"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, empty_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    assert [p.communicate(timeout=120)[0].strip() for p in procs] == ["ok"] * 3
    with open_database(empty_url) as db, db.read() as conn:
        assert current_revision(conn) == HEAD_REVISION


def test_reopening_at_head_does_not_import_alembic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'civicml.db'}"
    open_database(url).close()
    for mod in [m for m in sys.modules if m == "alembic.command"]:
        del sys.modules[mod]
    open_database(url).close()
    assert "alembic.command" not in sys.modules
