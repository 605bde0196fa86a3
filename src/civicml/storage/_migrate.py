"""Migrations: one Alembic history for every civicml table, run when a store opens.

Opening a database at the newest revision costs one ``SELECT`` (Alembic is not even imported);
otherwise the upgrade runs in one write transaction, serialised between processes
(``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so two processes opening a new
database at once migrate it once.

Examples
--------
>>> from civicml.storage import close_engine, open_engine
>>> engine = open_engine("sqlite://")
>>> migrate(engine)
>>> with engine.connect() as conn:
...     current_revision(conn) == HEAD_REVISION
True
>>> close_engine(engine)
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from civicml.storage._engine import WRITE_OPTION
from civicml.storage._schema import HEAD_REVISION

__all__ = ["MIGRATIONS_DIR", "current_revision", "migrate", "upgrade"]

#: the Alembic script directory (``env.py``, ``versions/``), shipped inside the package
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 7_236_110  # pg_advisory_xact_lock key for migrations


def current_revision(conn: Connection) -> str | None:
    """The database's Alembic revision, or ``None`` before the first migration."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except sa.exc.DBAPIError:
        return None
    return None if value is None else str(value)


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on ``conn``, inside its current transaction."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def migrate(engine: Engine) -> None:
    """Bring the database behind ``engine`` to :data:`HEAD_REVISION` (cheap when it is there)."""
    with engine.connect() as conn:
        if current_revision(conn) == HEAD_REVISION:
            return  # the fast path: no Alembic import
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            upgrade(conn, "head")
