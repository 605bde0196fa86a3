"""The Dask engine: tasks run on a Dask.distributed cluster (``dask scheduler`` + workers).

Tasks travel to workers with pickle/cloudpickle, as Dask always does between the trusted
processes of a team's own cluster. No artifact is ever loaded that way: bundles stay skops and
ONNX, loaded and verified by their hashes on the worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from civicml._errors import CivicMLError
from civicml.engines._base import Engine

__all__ = ["DaskEngine", "removed_workers"]


def removed_workers(since: float, dask_scheduler: Any = None) -> tuple[float, list[dict[str, Any]]]:
    """Runs on the scheduler: its clock, and each worker removed after ``since`` (scheduler
    clock) as plain data — address, tasks it was running or whose results only it held (run
    again elsewhere), scattered objects only it held, and whether the removal was asked for
    (retired) or a loss.

    (The scheduler's event log is read here and sent back as plain data: a client subscribed
    to the ``"all"`` topic is disconnected when an event holds a scheduler object.)"""
    import time as clock

    assert dask_scheduler is not None
    now = clock.time()
    out = []
    for ts, msg in dask_scheduler.get_events("all"):
        if ts <= since or not isinstance(msg, dict) or msg.get("action") != "remove-worker":
            continue
        out.append(
            {
                "worker": str(msg.get("worker")),
                "tasks_rerun": len(
                    {*(msg.get("processing-tasks") or ()), *(msg.get("lost-computed-tasks") or ())}
                ),
                "data_lost": len(msg.get("lost-scattered-tasks") or ()),
                "expected": bool(msg.get("expected")),
            }
        )
    return now, out


class EngineError(CivicMLError):
    """The engine could not be reached."""

    exit_code = 3


class DaskEngine(Engine):
    """Run tasks on a Dask.distributed cluster; connects on first use.

    Losing any worker is survived while one remains. A task whose worker dies is run again
    elsewhere (Dask's ``retries``). Scattered data is replicated to every worker present, and a
    worker that joins later fetches it from one that holds it when a task needs it; if every
    worker that held it is lost, the driver's copy (kept until :meth:`forget`) is scattered
    again and the tasks that needed it are submitted again. Each lost worker is reported by
    :meth:`worker_losses`. None of this changes a task's result.

    Parameters
    ----------
    address : str
        The scheduler, ``HOST:PORT`` or ``tcp://HOST:PORT``.
    retries : int, default 2
        How often a task is retried after its worker was lost or it raised.
    timeout : float, default 10
        Seconds to wait for the scheduler when connecting.

    Examples
    --------
    >>> engine = DaskEngine("127.0.0.1:8786")  # nothing is contacted yet
    >>> engine.uri
    'tcp://127.0.0.1:8786'
    """

    def __init__(self, address: str, *, retries: int = 2, timeout: float = 10.0) -> None:
        self.address = address if "://" in address else f"tcp://{address}"
        self.uri = self.address
        self.retries = int(retries)
        self.timeout = float(timeout)
        self._client: Any = None
        self._lock = threading.Lock()
        self._kept: dict[Any, Any] = {}  # first key of a scattered object -> driver's copy
        self._current: dict[Any, Any] = {}  # first key -> the future that stands for it now
        self._since = 0.0  # the scheduler's clock when losses were last read
        self._workers: set[str] = set()  # the workers last seen (when the log is unreadable)

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, connected on first use."""
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as exc:
                raise EngineError.build(
                    "The Dask engine needs the 'distributed' package",
                    fix="Install it with: pip install 'civicml[dask]'",
                ) from exc
            try:
                client = Client(self.address, timeout=self.timeout, set_as_default=False)
            except OSError as exc:
                raise EngineError.build(
                    f"Cannot reach the Dask scheduler at {self.address}",
                    got=str(exc)[:200],
                    fix="Start it with 'dask scheduler' (see docs/scale-out.md) or use --engine local",
                ) from None
            self._client = client
            self._workers = set(client.scheduler_info().get("workers", {}))
            self._since = self._poll_removed(float("inf"))[0]
        return self._client

    def _poll_removed(self, since: float) -> tuple[float, list[dict[str, Any]]]:
        """The scheduler's clock and the workers it removed after ``since``; where the
        scheduler cannot run civicml's function, the workers gone since the last look."""
        try:
            result: tuple[float, list[dict[str, Any]]]
            result = self._client.run_on_scheduler(removed_workers, since)
            return result
        except Exception:  # e.g. civicml is not installed beside the scheduler
            now = set(self._client.scheduler_info().get("workers", {}))
            gone, self._workers = sorted(self._workers - now), now
            lost = [
                {"worker": w, "tasks_rerun": 0, "data_lost": 0, "expected": False} for w in gone
            ]
            return since, lost

    def worker_losses(self) -> list[dict[str, Any]]:
        """Workers the scheduler removed since the last call (see :class:`Engine`), read from
        its event log."""
        if self._client is None:
            return []
        with self._lock:
            self._since, losses = self._poll_removed(self._since)
        return losses

    @property
    def parallelism(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info["workers"].values()))

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        return _Task(self, fn, args, kwargs)  # type: ignore[return-value]

    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        tasks = [_Task(self, fn, (item, *args), kwargs) for item in items]
        try:
            for task in tasks:
                yield task.result()
        finally:
            for task in tasks:
                task.release()

    def scatter(self, obj: Any) -> Any:
        ref = self._scatter(obj)
        with self._lock:
            self._kept[ref.key] = obj
            self._current[ref.key] = ref
        return ref

    def _scatter(self, obj: Any) -> Any:
        # in a list, so the object travels whole under a fresh random key: a dict given to
        # Client.scatter is split and its own keys ("X", "y", ...) become the cluster's keys,
        # which a second search on the same client then collides with (and hangs)
        return self.client.scatter([obj], broadcast=True, hash=False)[0]

    def _fresh(self, arg: Any) -> Any:
        """``arg``, or, for a scattered reference, the future that holds its data now: the
        driver's copy scattered again when the cluster lost every replica."""
        key = getattr(arg, "key", None)
        try:
            kept = key in self._kept
        except TypeError:  # an unhashable argument is no reference
            return arg
        if not kept:
            return arg
        with self._lock:
            current = self._current[key]
            if current.status != "finished":
                current = self._scatter(self._kept[key])
                self._current[key] = current
        return current

    def forget(self, ref: Any) -> None:
        key = getattr(ref, "key", None)
        with self._lock:
            self._kept.pop(key, None)
            current = self._current.pop(key, None)
        if current is not None and current is not ref:
            current.release()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        with self._lock:
            self._kept.clear()
            self._current.clear()


class _Task:
    """A task on the cluster whose ``result()`` survives a lost worker.

    Dask reruns a task whose worker died (``retries``), but a worker lost at the wrong moment
    can make the scheduler forget the task instead (``FutureCancelledError``), cancel it because
    the scattered data it needs was lost with the worker ("lost dependencies"), or give up on it
    (``KilledWorker``): then it is submitted again — with its scattered data scattered again
    from the driver when the cluster lost it — up to ``retries + 3`` times, so losing a worker
    is never fatal while one remains.
    """

    def __init__(
        self, engine: DaskEngine, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> None:
        self._engine, self._fn, self._args, self._kwargs = engine, fn, args, kwargs
        self._cancelled = False  # by the caller: then a CancelledError is the answer
        self._future = self._submit()

    def _submit(self) -> Any:
        eng = self._engine
        args = [eng._fresh(a) for a in self._args]
        kwargs = {k: eng._fresh(v) for k, v in self._kwargs.items()}
        return eng.client.submit(self._fn, *args, retries=eng.retries, pure=False, **kwargs)

    def result(self, timeout: float | None = None) -> Any:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        attempts = self._engine.retries + 3  # a lost worker is not the task's fault
        for attempt in range(attempts + 1):
            try:
                return self._future.result(timeout=timeout)
            except (CancelledError, KilledWorker):
                if attempt == attempts or self._cancelled:
                    raise
                self._future.release()
                if attempt:  # the scheduler may still be settling the loss
                    time.sleep(min(0.1 * 2**attempt, 2.0))
                self._future = self._submit()
        raise AssertionError("unreachable")  # pragma: no cover

    def done(self) -> bool:
        return bool(self._future.done())

    def cancel(self) -> None:
        self._cancelled = True
        self._future.cancel()

    def release(self) -> None:
        self._future.release()
