"""One engine per URL in a process, configured the same way for every store, closed by its last
user."""

from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from civicml.bandits import BanditStore
from civicml.registry import SQLStore
from civicml.storage import close_engine, normalise_url, open_engine, shared_engines
from civicml.tracking import SQLRunStore


def _pragma(engine: sa.Engine, name: str) -> object:
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_one_engine_per_url_until_the_last_user_closes(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    a = open_engine(url)
    b = open_engine(f"sqlite+pysqlite:///{tmp_path / 'a.db'}")  # the same database, spelt otherwise
    other = open_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        assert a is b and a is not other
        assert shared_engines()[normalise_url(url)] == 2
        close_engine(a)
        assert shared_engines()[normalise_url(url)] == 1
        assert _pragma(b, "journal_mode") == "wal"  # still usable by its other user
    finally:
        close_engine(b)
        close_engine(other)
    assert normalise_url(url) not in shared_engines()
    c = open_engine(url)  # a fresh engine once the last user closed
    try:
        assert c is not a
    finally:
        close_engine(c)


def test_in_memory_databases_are_private() -> None:
    a, b = open_engine("sqlite://"), open_engine("sqlite://")
    try:
        assert a is not b
        with a.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with b.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0
    finally:
        close_engine(a)
        close_engine(b)
    assert "sqlite://" not in shared_engines()


def test_sqlite_settings(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'x.db'}")
    durable = open_engine(f"sqlite:///{tmp_path / 'y.db'}", durable=True)
    try:
        assert (tmp_path / "sub" / "dir").is_dir()  # the folder is made on open
        assert _pragma(engine, "journal_mode") == "wal"
        assert _pragma(engine, "foreign_keys") == 1
        assert _pragma(engine, "busy_timeout") == 60_000
        assert _pragma(engine, "synchronous") == 1  # NORMAL
        assert _pragma(durable, "synchronous") == 2  # FULL: every commit synced
    finally:
        close_engine(engine)
        close_engine(durable)


def test_writes_begin_immediate_and_reads_begin(tmp_path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'x.db'}")
    seen: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql("SELECT 1")
        with engine.connect() as conn:
            conn.execution_options(civicml_write=True)
            with conn.begin():
                conn.exec_driver_sql("SELECT 1")
    finally:
        close_engine(engine)
    assert [s for s in seen if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]


def test_threads_share_one_engine(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engines: list[sa.Engine] = []
    threads = [threading.Thread(target=lambda: engines.append(open_engine(url))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len({id(e) for e in engines}) == 1
        assert shared_engines()[url] == 8
    finally:
        for e in engines:
            close_engine(e)
    assert url not in shared_engines()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_engine(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    parent = open_engine(url)
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            child = open_engine(url)
            os.write(write, b"1" if child is not parent else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"1"
    finally:
        close_engine(parent)


def test_the_stores_on_one_url_share_its_engine(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'civicml.db'}"
    registry, runs, bandits = SQLStore(url), SQLRunStore(url), BanditStore(url)
    for store in (registry, runs, bandits):
        store.connect()
    try:
        assert shared_engines()[url] == 3
        assert registry.engine is runs._database().engine
        assert bandits.engine is not registry.engine  # it syncs every commit: its own engine
    finally:
        for store in (registry, runs, bandits):
            store.close()
    assert url not in shared_engines()


def test_postgres_pool(pg_schema_url) -> None:
    engine = open_engine(pg_schema_url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.pool.size() == 5  # type: ignore[attr-defined]
        assert engine.pool._pre_ping  # type: ignore[attr-defined]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        close_engine(engine)


def test_an_engine_dropped_without_closing_is_freed(tmp_path) -> None:
    import gc
    import weakref

    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = open_engine(url)
    ref = weakref.ref(engine)
    del engine
    gc.collect()
    assert ref() is None and url not in shared_engines()
    again = open_engine(url)  # a new engine, counted afresh
    try:
        assert shared_engines()[url] == 1
    finally:
        close_engine(again)
    assert url not in shared_engines()
