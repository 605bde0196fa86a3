"""The read and write helpers every store uses: transactions, serialised writes, retries, and
clear errors when a database cannot be opened."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from civicml._errors import ConflictError, RegistryError
from civicml.storage import (
    HEAD_REVISION,
    current_revision,
    open_database,
    registry_models,
    shared_engines,
    utc_now,
)


def _model(name: str) -> sa.Insert:
    return registry_models.insert().values(name=name, created_at=utc_now(), created_by="Ada")


def _names(db) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(sa.select(registry_models.c.name).order_by("name")).scalars())


def test_open_migrates_and_close_gives_the_engine_back(backend) -> None:
    db = open_database(backend[1])
    with db.read() as conn:
        assert current_revision(conn) == HEAD_REVISION
    assert db.dialect == ("postgresql" if backend[0] == "postgres" else "sqlite")
    db.close()
    db.close()  # idempotent
    assert backend[1] not in shared_engines()
    with pytest.raises(RegistryError, match="is closed"):
        db.engine  # noqa: B018


def test_write_commits_and_a_refusal_rolls_back(backend) -> None:
    with open_database(backend[1]) as db:
        assert db.write(lambda conn: conn.execute(_model("a")).inserted_primary_key[0]) == 1

        def refuse(conn: sa.Connection) -> None:
            conn.execute(_model("b"))
            raise ConflictError.build("No")

        with pytest.raises(ConflictError):
            db.write(refuse)
        with db.transaction() as conn:
            conn.execute(_model("c"))
        with pytest.raises(ZeroDivisionError), db.transaction() as conn:
            conn.execute(_model("d"))
            1 / 0  # noqa: B018
        assert _names(db) == ["a", "c"]


def test_write_retries_a_locked_database_then_says_so() -> None:
    locked = sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
    calls: list[int] = []

    def flaky(conn: sa.Connection) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise locked
        return "done"

    def always(conn: sa.Connection) -> None:
        raise locked

    with open_database("sqlite://", what="test database") as db:
        assert db.write(flaky) == "done" and len(calls) == 3
        with pytest.raises(RegistryError, match="The test database stayed locked"):
            db.write(always)
        other = sa.exc.OperationalError("SELECT", {}, Exception("no such column: x"))
        calls.clear()

        def broken(conn: sa.Connection) -> None:
            calls.append(1)
            raise other

        with pytest.raises(sa.exc.OperationalError):
            db.write(broken)
        assert len(calls) == 1  # only lock timeouts are retried


def test_integrity_errors_are_retried_only_when_asked() -> None:
    with open_database("sqlite://") as db:
        db.write(lambda conn: conn.execute(_model("a")))
        calls: list[int] = []

        def duplicate(conn: sa.Connection) -> None:
            calls.append(1)
            conn.execute(_model("a"))

        with pytest.raises(sa.exc.IntegrityError):
            db.write(duplicate)
        assert len(calls) == 1
        with pytest.raises(sa.exc.IntegrityError):
            db.write(duplicate, retry_integrity=True)
        assert len(calls) == 9


def test_concurrent_writers_are_serialised(backend) -> None:
    if backend[0] == "memory":
        pytest.skip("one shared connection: nothing runs concurrently")
    head = registry_models.c
    with open_database(backend[1]) as db:
        db.write(lambda conn: conn.execute(_model("counter")))

        def bump(conn: sa.Connection) -> None:  # a read-then-write that must not interleave
            n = conn.execute(sa.select(head.latest_version).where(head.name == "counter")).scalar()
            conn.execute(
                registry_models.update().where(head.name == "counter").values(latest_version=n + 1)
            )

        lock = sa.select(head.id).where(head.name == "counter").with_for_update()
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                for _ in range(10):
                    db.write(bump, lock=lock)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with db.read() as conn:
            total = conn.execute(sa.select(head.latest_version).where(head.name == "counter"))
            assert total.scalar() == 40


def test_a_database_that_cannot_open_names_it_without_the_password() -> None:
    url = "postgresql://ann:s3cret@127.0.0.1:1/nothing?connect_timeout=2"
    with pytest.raises(RegistryError) as err:
        open_database(url, what="bandit store", setting="CIVICML_BANDITS_DB")
    text = str(err.value)
    assert text.startswith("Cannot open the bandit store 'postgresql://ann:***@127.0.0.1:1/")
    assert "s3cret" not in text and "CIVICML_BANDITS_DB" in text
    assert "postgresql+psycopg://ann@127.0.0.1:1/nothing" not in str(shared_engines())


def test_an_unsupported_url_is_refused_before_any_io() -> None:
    with pytest.raises(RegistryError, match="The runs database URL 'mysql://h/db'"):
        open_database("mysql://h/db", what="runs database")
