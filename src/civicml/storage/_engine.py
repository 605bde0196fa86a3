"""Engines: one per database URL in a process, configured the same way for every store.

SQLite files run in WAL mode (readers carry on while one writer writes) with foreign keys on and
a 60-second busy timeout; a new database file is created ``0600`` in ``0700`` folders before
SQLite opens it (its ``-wal`` and ``-shm`` files take the same mode), whatever the umask; civicml issues ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for a connection
marked ``civicml_write`` (see :class:`~civicml.storage.Database`), so writers queue instead of
failing half-way. ``sqlite://`` is a private in-memory database on one shared connection.
PostgreSQL gets a small pre-pinged pool.

Stores that open the same URL share its engine (and its pool): :func:`open_engine` counts the
users and :func:`close_engine` disposes of the engine when the last one closes. The registry of
shared engines holds them weakly, so an engine whose users were dropped without closing is still
freed, as an unshared one would be. A forked child never reuses its parent's engine.

Examples
--------
>>> a = open_engine("sqlite://")
>>> b = open_engine("sqlite://")     # in memory: always a private database
>>> a is b
False
>>> close_engine(a); close_engine(b)
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine

from civicml._files import create_private_file
from civicml.storage._url import dialect_of, is_memory_url, normalise_url

__all__ = ["WRITE_OPTION", "close_engine", "open_engine", "shared_engines"]

#: the execution option that makes a SQLite transaction ``BEGIN IMMEDIATE``
WRITE_OPTION = "civicml_write"
_BUSY_MS = 60_000


@dataclass
class _Shared:
    engine: weakref.ref[Engine]
    users: int


_LOCK = threading.Lock()
_SHARED: dict[tuple[int, str, bool], _Shared] = {}


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def open_engine(url: str, *, durable: bool = False) -> Engine:
    """The process's engine for ``url``; pair every call with :func:`close_engine`.

    Parameters
    ----------
    url : str
        Any URL :func:`~civicml.storage.normalise_url` accepts.
    durable : bool
        SQLite only: sync the log to disk at every commit (``synchronous=FULL``) rather than at
        checkpoints (``NORMAL``, which a power cut, though never a crash, can roll back).

    Returns
    -------
    sqlalchemy.engine.Engine
        Shared with every other user of the same URL in this process, except ``sqlite://``
        (in memory), which is private to each call. Nothing is connected yet.
    """
    url = normalise_url(url)
    if is_memory_url(url):
        return _create(url, durable=durable)
    key = (os.getpid(), url, durable)
    with _LOCK:
        for dead in [k for k, s in _SHARED.items() if s.engine() is None]:
            del _SHARED[dead]
        shared = _SHARED.get(key)
        engine = None if shared is None else shared.engine()
        if shared is None or engine is None:  # new, or every earlier user dropped it unclosed
            engine = _create(url, durable=durable)
            shared = _SHARED[key] = _Shared(weakref.ref(engine), 0)
        shared.users += 1
        return engine


def close_engine(engine: Engine) -> None:
    """Give back one use of ``engine``; the last user's close disposes of its connections."""
    with _LOCK:
        found = next(((k, s) for k, s in list(_SHARED.items()) if s.engine() is engine), None)
        if found is not None:
            key, shared = found
            shared.users -= 1
            if shared.users > 0:
                return
            del _SHARED[key]
            if key[0] != os.getpid():  # inherited through fork: leave the parent's sockets
                engine.dispose(close=False)
                return
    engine.dispose()


def shared_engines() -> dict[str, int]:
    """``{url: users}`` of the engines this process holds open (for tests and diagnostics)."""
    out: dict[str, int] = {}
    with _LOCK:
        for (pid, url, _durable), shared in _SHARED.items():
            if pid == os.getpid() and shared.engine() is not None:
                out[url] = out.get(url, 0) + shared.users
    return out


def _create(url: str, *, durable: bool) -> Engine:
    if dialect_of(url) == "postgresql":
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    memory = is_memory_url(url)
    if memory:
        engine = sa.create_engine(
            "sqlite://", poolclass=sa.pool.StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        path = Path(sa.engine.make_url(url).database or "")
        if path.name and not str(path).startswith("file:"):
            create_private_file(path)  # registries and runs can hold personal data: owner only
        engine = sa.create_engine(
            url, connect_args={"timeout": _BUSY_MS / 1000, "check_same_thread": False}
        )
    synchronous = "FULL" if durable else "NORMAL"

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # civicml issues BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
