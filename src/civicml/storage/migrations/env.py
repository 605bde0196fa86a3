"""Alembic environment: civicml passes an open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context

from civicml.storage._schema import metadata

target_metadata = metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # pragma: no cover - only when run by the alembic CLI
        from sqlalchemy import create_engine

        url = context.config.get_main_option("sqlalchemy.url") or ""
        with create_engine(url).begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _inside_alembic() -> bool:
    try:
        context.config  # noqa: B018 - fails outside an Alembic run
    except (NameError, AttributeError):
        return False
    return True


if _inside_alembic():  # importing this file elsewhere (e.g. doctest collection) does nothing
    if context.is_offline_mode():  # pragma: no cover
        raise SystemExit("civicml's migrations run online only")
    run_migrations_online()
