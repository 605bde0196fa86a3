"""The runs store on the registry's database (SQLite or PostgreSQL), tables from revision 0002
(the heartbeat columns from 0006).

Runs are not governance events, so they do not enter the registry's hash-chained audit log;
they share its database through :mod:`civicml.storage`: the engine, the migrations and the
serialised writers. Each write touches one run (random ids), so no lock row is needed.

A ``running`` run that is dead (stale heartbeat, or its pid gone on this host: see
:mod:`civicml.tracking._liveness`) is read as ``failed`` with the reason as its error, and is
written so when the next run is created.

Examples
--------
>>> from civicml.tracking import Run
>>> store = SQLRunStore("sqlite://")
>>> store.connect()
>>> store.create_run(Run(id="ab" * 16, project="demo", kind="train", status="running",
...                      started_at="2025-01-01T00:00:00.000000Z"))
>>> store.update_run("abab", {"status": "finished"}).status
'finished'
>>> [r.short_id for r in store.list_runs()]
['abababab']
>>> store.close()
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from civicml._errors import ConflictError, NotFoundError, RegistryError, SpecError
from civicml.data import DataVersion
from civicml.registry import canonical_json
from civicml.storage import (
    Database,
    normalise_url,
    open_database,
    run_data_versions,
    runs,
    utc_now,
)
from civicml.tracking._liveness import STALE_AFTER_SECONDS, why_dead
from civicml.tracking._records import RUN_STATUSES, Run
from civicml.tracking._store import RUN_FIELDS, RunStore

__all__ = ["SQLRunStore"]

_JSON = ("spec", "packages", "params", "metrics", "leaderboard", "timings", "energy", "artifacts")
_REF = re.compile(r"^[0-9a-f]{4,32}$")
_WHAT = "registry database"
_SETTING = "--registry (or CIVICML_REGISTRY)"


def _dump(value: Any) -> str:
    return canonical_json(value)


def _load(text: str | None, default: Any) -> Any:
    return json.loads(text) if text else default


class SQLRunStore(RunStore):
    """Runs in the registry database at ``url`` (``sqlite:///PATH``, ``sqlite://``,
    ``postgresql://USER@HOST/DB``). Nothing is opened until :meth:`connect`."""

    def __init__(self, url: str, *, stale_after: float = STALE_AFTER_SECONDS) -> None:
        self._url = normalise_url(url, what=_WHAT, setting=_SETTING)
        self._db: Database | None = None
        self.stale_after = stale_after

    @property
    def url(self) -> str:
        return self._url

    def connect(self) -> None:
        if self._db is None:
            self._db = open_database(self._url, what=_WHAT, setting=_SETTING)

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def _database(self) -> Database:
        if self._db is None:
            raise RegistryError.build(
                "The runs store is not connected", fix="Open it with open_runs(uri)"
            )
        return self._db

    # -- writes -------------------------------------------------------------------------------
    def create_run(self, run: Run) -> None:
        if run.status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {run.status!r}")
        row = {
            "id": run.id,
            "project": run.project,
            "kind": run.kind,
            "status": run.status,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "seconds": run.seconds,
            "actor": run.actor,
            "git_commit": run.git_commit,
            "bundle_digest": run.bundle_digest,
            "error": run.error,
            "heartbeat_at": run.heartbeat_at,
            "host": run.host,
            "pid": run.pid,
        }
        for key in _JSON:
            value = getattr(run, key)
            row[key] = None if value is None and key == "energy" else _dump(value or {})

        def write(conn: Connection) -> None:
            exists = conn.execute(sa.select(runs.c.id).where(runs.c.id == run.id)).scalar()
            if exists is not None:
                raise ConflictError.build(f"A run with id {run.id!r} already exists")
            self._record_dead(conn)
            conn.execute(runs.insert().values(**row))
            self._insert_versions(conn, run.id, run.data_versions)

        self._database().write(write, retry_integrity=True)

    def heartbeat(self, run_id: str) -> None:
        """Note that a ``running`` run's process is alive now."""

        def write(conn: Connection) -> None:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id, runs.c.status == "running")
                .values(heartbeat_at=utc_now())
            )

        self._database().write(write)

    def record_dead_runs(self) -> list[str]:
        """Write every dead ``running`` run as ``failed`` (with why); their ids."""
        return self._database().write(self._record_dead)

    def _record_dead(self, conn: Connection) -> list[str]:
        now = utc_now()
        live = list(conn.execute(sa.select(runs).where(runs.c.status == "running")))
        dead = []
        for run in self._runs(conn, live, now=now, stale_after=None):
            reason = why_dead(run, now=now, stale_after=self.stale_after)
            if reason is None:
                continue
            last = run.heartbeat_at or run.started_at
            conn.execute(
                runs.update()
                .where(runs.c.id == run.id, runs.c.status == "running")
                .values(status="failed", finished_at=last, error=reason)
            )
            dead.append(run.id)
        return dead

    @staticmethod
    def _insert_versions(conn: Connection, run_id: str, versions: Sequence[DataVersion]) -> None:
        if not versions:
            return
        conn.execute(
            run_data_versions.insert(),
            [
                {
                    "run_id": run_id,
                    "role": v.role,
                    "name": v.name[:100],
                    "sha256": v.sha256,
                    "rows": v.rows,
                    "columns": v.columns,
                    "schema": _dump(v.schema),
                    "profile": _dump(v.profile),
                    "location": v.location,
                    "file_sha256": v.file_sha256,
                }
                for v in versions
            ],
        )

    def update_run(
        self,
        run_id: str,
        changes: Mapping[str, Any],
        *,
        data_versions: Sequence[DataVersion] = (),
    ) -> Run:
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in RUN_FIELDS:
                raise ValueError(f"{key!r} is not a run field that may change")
            if key == "status" and value not in RUN_STATUSES:
                raise ValueError(f"unknown run status {value!r}")
            values[key] = _dump(value) if key in _JSON and value is not None else value

        def write(conn: Connection) -> None:
            full = self._resolve(conn, run_id)
            if values:
                conn.execute(runs.update().where(runs.c.id == full).values(**values))
            self._insert_versions(conn, full, data_versions)

        self._database().write(write, retry_integrity=True)
        return self.get_run(run_id)

    # -- reads --------------------------------------------------------------------------------
    def _resolve(self, conn: Connection, ref: str) -> str:
        text = (ref or "").strip().lower()
        if not _REF.match(text):
            raise SpecError.build(
                "A run id is 4 to 32 hexadecimal characters",
                got=ref,
                fix="Copy it from 'civicml runs list'",
            )
        ids = (
            conn.execute(sa.select(runs.c.id).where(runs.c.id.like(text + "%")).limit(3))
            .scalars()
            .all()
        )
        if not ids:
            raise NotFoundError.build(
                f"There is no run {ref!r} in this registry database",
                fix="Run 'civicml runs list' to see the recorded runs (and check --registry)",
            )
        if len(ids) > 1:
            raise ConflictError.build(
                f"The run id prefix {ref!r} matches several runs",
                got=[i[:12] for i in ids],
                fix="Give more characters of the id",
            )
        return str(ids[0])

    def get_run(self, ref: str) -> Run:
        with self._database().read() as conn:
            full = self._resolve(conn, ref)
            row = conn.execute(sa.select(runs).where(runs.c.id == full)).one()
            return self._runs(conn, [row], stale_after=self.stale_after)[0]

    def list_runs(
        self,
        *,
        project: str | None = None,
        status: str | None = None,
        limit: int = 50,
    ) -> list[Run]:
        query = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc())
        if project is not None:
            query = query.where(runs.c.project == project)
        kw: dict[str, Any] = {"stale_after": self.stale_after}
        limit = max(1, min(int(limit), 10_000))
        with self._database().read() as conn:
            if status not in ("running", "failed"):
                query = query.where(runs.c.status == status) if status else query
                return self._runs(conn, list(conn.execute(query.limit(limit))), **kw)
            # a dead running run reads as failed: fetch both, decide, then cut to the limit
            running = conn.execute(
                sa.select(sa.func.count()).select_from(runs).where(runs.c.status == "running")
            ).scalar_one()
            query = query.where(runs.c.status.in_(("running", "failed")))
            found = self._runs(conn, list(conn.execute(query.limit(limit + running))), **kw)
            return [r for r in found if r.status == status][:limit]

    @staticmethod
    def _runs(
        conn: Connection, rows: list[Any], *, now: str | None = None, stale_after: float | None
    ) -> list[Run]:
        """Rows as runs; with ``stale_after``, a dead running run reads as failed."""
        ids = [r._mapping["id"] for r in rows]
        versions: dict[str, list[DataVersion]] = {i: [] for i in ids}
        if ids:
            dv = run_data_versions
            for v in conn.execute(
                sa.select(dv).where(dv.c.run_id.in_(ids)).order_by(dv.c.run_id, dv.c.id)
            ):
                m = v._mapping
                versions[m["run_id"]].append(
                    DataVersion(
                        name=m["name"],
                        role=m["role"],
                        sha256=m["sha256"],
                        rows=m["rows"],
                        columns=m["columns"],
                        schema=_load(m["schema"], {}),
                        profile=_load(m["profile"], {}),
                        location=m["location"],
                        file_sha256=m["file_sha256"],
                    )
                )
        out = []
        for r in rows:
            m = r._mapping
            out.append(
                Run(
                    id=m["id"],
                    project=m["project"],
                    kind=m["kind"],
                    status=m["status"],
                    started_at=m["started_at"],
                    finished_at=m["finished_at"],
                    seconds=m["seconds"],
                    actor=m["actor"],
                    git_commit=m["git_commit"],
                    spec=_load(m["spec"], {}),
                    packages=_load(m["packages"], {}),
                    params=_load(m["params"], {}),
                    metrics=_load(m["metrics"], {}),
                    leaderboard=_load(m["leaderboard"], {}),
                    timings=_load(m["timings"], {}),
                    energy=_load(m["energy"], None),
                    artifacts=_load(m["artifacts"], {}),
                    bundle_digest=m["bundle_digest"],
                    error=m["error"],
                    data_versions=versions[m["id"]],
                    heartbeat_at=m["heartbeat_at"],
                    host=m["host"],
                    pid=m["pid"],
                )
            )
        if stale_after is None:
            return out
        now = now or utc_now()
        for run in out:
            reason = why_dead(run, now=now, stale_after=stale_after)
            if reason is not None:
                run.status, run.error = "failed", reason
                run.finished_at = run.heartbeat_at or run.started_at
        return out
