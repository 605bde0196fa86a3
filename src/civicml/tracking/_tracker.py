"""Opening the runs store, and recording one run from start to finish.

A run is created ``running`` before any work (spec, git commit, package versions), gets its data
versions as soon as the data is read, and ends ``finished`` (metrics, leaderboard, timings,
artifacts) or ``failed`` with the one-line error, whatever the exception, which is then
re-raised. A failed run is recorded, never lost.

While the block runs, a daemon thread writes the run's heartbeat every
:data:`~civicml.tracking._liveness.HEARTBEAT_SECONDS`; a process killed outright (``kill -9``,
out of memory) cannot write ``failed``, so a run whose heartbeat stops, or whose pid on this
host is gone, reads as ``failed`` instead of ``running`` forever.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from civicml._errors import CivicMLError
from civicml.data import DataVersion
from civicml.storage import utc_now
from civicml.tracking import _liveness
from civicml.tracking._liveness import this_host
from civicml.tracking._records import Run
from civicml.tracking._sql import SQLRunStore
from civicml.tracking._store import RunStore

__all__ = ["RunTracker", "default_runs_uri", "jsonable", "open_runs", "track_run"]

_log = logging.getLogger(__name__)


def default_runs_uri(uri: str | None = None, project_dir: str | Path = ".") -> str:
    """The runs live in the registry's database: ``uri``, else ``$CIVICML_REGISTRY``, else
    ``sqlite:///<project_dir>/.civicml/registry.db`` (as :func:`civicml.registry.open_registry`).

    >>> default_runs_uri("sqlite://")
    'sqlite://'
    """
    base = Path(project_dir).resolve() / ".civicml"
    return uri or os.environ.get("CIVICML_REGISTRY") or f"sqlite:///{base / 'registry.db'}"


def open_runs(uri: str | None = None, *, project_dir: str | Path = ".") -> RunStore:
    """Connect to the runs store in the registry database, migrating it to the newest schema.

    Examples
    --------
    >>> with open_runs("sqlite://") as store:
    ...     store.list_runs()
    []
    """
    store = SQLRunStore(default_runs_uri(uri, project_dir))
    store.connect()
    return store


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, tuple, frozenset)):
        return list(obj)
    return str(obj)


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON types: numpy scalars unwrapped, NaN and infinities to ``None``.

    >>> jsonable({"a": float("nan"), "b": (1, 2)})
    {'a': None, 'b': [1, 2]}
    """

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(json.loads(json.dumps(obj, default=_default)))


def one_line(exc: BaseException) -> str:
    """The error as one line: a CivicMLError's message, else ``Type: first line``."""
    if isinstance(exc, KeyboardInterrupt):
        return "Interrupted"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, CivicMLError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RunTracker:
    """Records one run: created by :func:`track_run`, filled in by the job."""

    def __init__(
        self, store: RunStore, run: Run, *, heartbeat_seconds: float | None = None
    ) -> None:
        self.store = store
        self.run = run
        self._started = time.monotonic()
        self._stage: tuple[str, float] | None = None
        self.timings: dict[str, float] = {}
        self.pending: dict[str, Any] = {}
        #: seconds between heartbeats (default :data:`~civicml.tracking._liveness.HEARTBEAT_SECONDS`)
        self.heartbeat_seconds = (
            _liveness.HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
        )
        self._lock = threading.Lock()  # one write at a time on the store's connection
        self._stop = threading.Event()
        self._beater: threading.Thread | None = None

    @property
    def id(self) -> str:
        return self.run.id

    def start_heartbeat(self) -> None:
        """Write the heartbeat every ``heartbeat_seconds`` from a daemon thread until the run
        ends (a failed write is logged and retried at the next beat)."""
        if self._beater is not None or self.heartbeat_seconds <= 0:
            return

        def beat() -> None:
            while not self._stop.wait(self.heartbeat_seconds):
                try:
                    with self._lock:
                        self.store.heartbeat(self.run.id)
                except Exception as exc:  # a busy database must not stop the run
                    _log.debug("run %s: heartbeat not written (%s)", self.run.short_id, exc)

        self._beater = threading.Thread(
            target=beat, name=f"civicml-run-{self.run.short_id}-heartbeat", daemon=True
        )
        self._beater.start()

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat thread (idempotent)."""
        self._stop.set()
        if self._beater is not None:
            self._beater.join(timeout=5)
            self._beater = None

    def add_data_versions(self, versions: Sequence[DataVersion]) -> None:
        """Record the data the run read (written at once, so a later failure keeps them).

        Versions already recorded on this run (same role, name and hash) are skipped."""
        seen = {(v.role, v.name, v.sha256) for v in self.run.data_versions}
        new = [v for v in versions if (v.role, v.name, v.sha256) not in seen]
        if new:
            with self._lock:
                self.run = self.store.update_run(self.run.id, {}, data_versions=new)

    def set(self, **fields: Any) -> None:
        """Stage fields (metrics, params, leaderboard, artifacts, bundle_digest, energy) to
        write when the run ends; dict fields are merged."""
        for key, value in fields.items():
            if isinstance(value, dict) and isinstance(self.pending.get(key), dict):
                self.pending[key] = {**self.pending[key], **value}
            else:
                self.pending[key] = value

    def stage(self, name: str) -> None:
        """Mark the start of a stage; the previous one's seconds go into ``timings``."""
        now = time.monotonic()
        if self._stage is not None:
            prev, since = self._stage
            self.timings[prev] = round(self.timings.get(prev, 0.0) + now - since, 4)
        self._stage = (name, now)

    def wrap(self, on_event: Callable[..., None] | None) -> Callable[..., None]:
        """An event handler that times ``stage`` events, then calls ``on_event``."""

        def handler(kind: str, **kw: Any) -> None:
            if kind == "stage" and "name" in kw:
                self.stage(str(kw["name"]))
            if on_event is not None:
                on_event(kind, **kw)

        return handler

    def _end(self, status: str, error: str | None) -> None:
        self.stop_heartbeat()
        self.stage("")  # close the open stage
        self.timings.pop("", None)
        seconds = round(time.monotonic() - self._started, 3)
        changes: dict[str, Any] = {
            k: jsonable(v) for k, v in self.pending.items() if k not in ("status", "error")
        }
        changes["timings"] = {**changes.get("timings", {}), **self.timings, "total": seconds}
        changes.update(status=status, finished_at=utc_now(), seconds=seconds, error=error)
        with self._lock:
            self.run = self.store.update_run(self.run.id, changes)

    def finish(self) -> None:
        """Mark the run ``finished`` with everything staged."""
        self._end("finished", None)

    def fail(self, exc: BaseException) -> None:
        """Mark the run ``failed`` with the one-line error."""
        self._end("failed", one_line(exc)[:2000])


@contextmanager
def track_run(
    *,
    project: str,
    kind: str,
    spec: dict[str, Any],
    uri: str | None = None,
    project_dir: str | Path = ".",
    actor: str | None = None,
    git_commit: str | None = None,
    packages: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    store: RunStore | None = None,
) -> Iterator[RunTracker]:
    """Record a run around a block: ``running`` at once, then ``finished`` or ``failed``.

    Any exception (a CivicMLError, a bug, Ctrl-C) marks the run failed with its one-line
    message and is re-raised. The run's heartbeat is written every
    :data:`~civicml.tracking._liveness.HEARTBEAT_SECONDS` while the block runs.

    Examples
    --------
    >>> store = open_runs("sqlite://")
    >>> try:
    ...     with track_run(project="demo", kind="train", spec={}, store=store) as tracker:
    ...         raise ValueError("boom")
    ... except ValueError:
    ...     pass
    >>> run = store.list_runs()[0]
    >>> run.status, run.error
    ('failed', 'ValueError: boom')
    >>> store.close()
    """
    owned = store is None
    if store is None:
        store = open_runs(uri, project_dir=project_dir)
    try:
        started = utc_now()
        run = Run(
            id=uuid.uuid4().hex,
            project=project,
            kind=kind,
            status="running",
            started_at=started,
            actor=actor,
            git_commit=git_commit,
            spec=jsonable(spec),
            packages=dict(packages or {}),
            params=jsonable(params or {}),
            heartbeat_at=started,
            host=this_host(),
            pid=os.getpid(),
        )
        store.create_run(run)
        tracker = RunTracker(store, run)
        tracker.start_heartbeat()
        try:
            yield tracker
        except BaseException as exc:
            tracker.fail(exc)
            raise
        finally:
            tracker.stop_heartbeat()
        tracker.finish()
    finally:
        if owned:
            store.close()
