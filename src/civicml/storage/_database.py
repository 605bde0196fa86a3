"""An open database: its shared engine, migrated, and the read and write helpers every store uses.

Writers are serialised so that a read-then-write transaction can never interleave with another:
SQLite opens every write transaction with ``BEGIN IMMEDIATE`` (WAL mode, so readers carry on);
on PostgreSQL a store passes ``lock``, a ``SELECT … FOR UPDATE`` of a row every writer of its
kind locks first. A write that finds the database locked is retried with a short back-off.

Examples
--------
>>> import sqlalchemy as sa
>>> from civicml.storage import registry_models as models, utc_now
>>> db = open_database("sqlite://")
>>> db.write(lambda conn: conn.execute(models.insert().values(
...     name="demo", created_at=utc_now(), created_by="Ada")).rowcount)
1
>>> with db.read() as conn:
...     conn.execute(sa.select(models.c.name)).scalars().all()
['demo']
>>> db.close()
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from civicml._errors import RegistryError
from civicml.storage._engine import WRITE_OPTION, close_engine, open_engine
from civicml.storage._migrate import migrate as _migrate
from civicml.storage._url import dialect_of, display_url, normalise_url

__all__ = ["Database", "open_database"]

T = TypeVar("T")
_ATTEMPTS = 8


class Database:
    """One store's handle on an open database (made by :func:`open_database`).

    Parameters
    ----------
    url : str
        The normalised URL.
    engine : sqlalchemy.engine.Engine
        Its engine, from :func:`~civicml.storage.open_engine`; :meth:`close` gives it back.
    what : str
        What the database is, for messages (``"registry database"``).
    """

    def __init__(self, url: str, engine: Engine, *, what: str = "database") -> None:
        self.url = url
        self.what = what
        self._engine: Engine | None = engine

    @property
    def dialect(self) -> str:
        """``"postgresql"`` or ``"sqlite"``."""
        return dialect_of(self.url)

    @property
    def engine(self) -> Engine:
        """The engine; a :class:`~civicml.RegistryError` once closed."""
        if self._engine is None:
            raise RegistryError.build(f"The {self.what} is closed", fix="Open it again")
        return self._engine

    def close(self) -> None:
        """Give the engine back (idempotent)."""
        if self._engine is not None:
            engine, self._engine = self._engine, None
            close_engine(engine)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (one consistent snapshot), rolled back after."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def transaction(self, *, lock: sa.Executable | None = None) -> Iterator[Connection]:
        """A connection in one serialised write transaction, committed when the block ends.

        ``lock`` runs first on PostgreSQL (see :meth:`write`); there are no retries here.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                if lock is not None and self.dialect == "postgresql":
                    conn.execute(lock)
                yield conn

    def write(
        self,
        fn: Callable[[Connection], T],
        *,
        lock: sa.Executable | None = None,
        retry_integrity: bool = False,
    ) -> T:
        """Run ``fn`` in a serialised write transaction and commit; retry lock timeouts.

        Parameters
        ----------
        fn : callable
            ``fn(conn)`` reads and writes; whatever it raises rolls everything back. It may run
            more than once, so it must not have effects outside the transaction.
        lock : sqlalchemy statement, optional
            Run first on PostgreSQL, e.g. ``SELECT … FOR UPDATE`` of the row that every writer
            of this kind locks, so that a check and the change it guards cannot be split.
        retry_integrity : bool
            Also retry a unique-constraint race (``IntegrityError``), raising the last one.
        """
        for attempt in range(_ATTEMPTS):
            last = attempt == _ATTEMPTS - 1
            try:
                with self.transaction(lock=lock) as conn:
                    return fn(conn)
            except sa.exc.OperationalError as exc:
                text = str(exc).lower()
                if "locked" not in text and "deadlock" not in text:
                    raise
                if last:
                    raise RegistryError.build(
                        f"The {self.what} stayed locked by another process",
                        fix="Try again; if it persists, check for a stuck civicml process",
                    ) from None
            except sa.exc.IntegrityError:
                if last or not retry_integrity:
                    raise
            time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover


def open_database(
    url: str,
    *,
    what: str = "database",
    setting: str = "the URL",
    durable: bool = False,
) -> Database:
    """Open ``url`` on its shared engine and migrate it to the newest revision.

    Parameters
    ----------
    url : str
        ``sqlite:///PATH``, a bare path, ``sqlite://`` (in memory) or ``postgresql://…``.
    what, setting : str
        For messages: what the database is and where the user sets its URL.
    durable : bool
        SQLite only: ``synchronous=FULL`` (see :func:`~civicml.storage.open_engine`).

    Raises
    ------
    RegistryError
        When the URL is not supported or the database cannot be opened or migrated; the
        message shows the URL without its password.
    """
    normal = normalise_url(url, what=what, setting=setting)
    engine = open_engine(normal, durable=durable)
    try:
        _migrate(engine)
    except sa.exc.SQLAlchemyError as exc:
        close_engine(engine)
        detail = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0][:200]
        raise RegistryError.build(
            f"Cannot open the {what} {display_url(url)!r} ({type(exc).__name__}: {detail})",
            fix=f"Check {setting} and that the database server is up",
        ) from None
    except BaseException:
        close_engine(engine)
        raise
    return Database(normal, engine, what=what)
