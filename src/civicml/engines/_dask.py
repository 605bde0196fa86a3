"""The Dask engine: tasks run on a Dask.distributed cluster (``dask scheduler`` + workers).

Tasks travel to workers with pickle/cloudpickle, as Dask always does between the trusted
processes of a team's own cluster. No artifact is ever loaded that way: bundles stay skops and
ONNX, loaded and verified by their hashes on the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from civicml._errors import CivicMLError
from civicml.engines._base import Engine

__all__ = ["DaskEngine"]


class EngineError(CivicMLError):
    """The engine could not be reached."""

    exit_code = 3


class DaskEngine(Engine):
    """Run tasks on a Dask.distributed cluster; connects on first use.

    A task whose worker dies is run again elsewhere (``retries`` times), so losing a worker
    mid-search slows it down but does not change its result.

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
                self._client = Client(self.address, timeout=self.timeout, set_as_default=False)
            except OSError as exc:
                raise EngineError.build(
                    f"Cannot reach the Dask scheduler at {self.address}",
                    got=str(exc)[:200],
                    fix="Start it with 'dask scheduler' (see docs/scale-out.md) or use --engine local",
                ) from None
        return self._client

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
        # in a list, so the object travels whole under a fresh random key: a dict given to
        # Client.scatter is split and its own keys ("X", "y", ...) become the cluster's keys,
        # which a second search on the same client then collides with (and hangs)
        return self.client.scatter([obj], broadcast=True, hash=False)[0]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class _Task:
    """A task on the cluster whose ``result()`` survives a lost worker.

    Dask reruns a task whose worker died (``retries``), but a worker lost at the wrong moment
    can make the scheduler forget the task instead (``FutureCancelledError``): then it is
    submitted again, up to ``retries`` times, so losing a worker is never fatal.
    """

    def __init__(
        self, engine: DaskEngine, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> None:
        self._engine, self._fn, self._args, self._kwargs = engine, fn, args, kwargs
        self._future = self._submit()

    def _submit(self) -> Any:
        return self._engine.client.submit(
            self._fn, *self._args, retries=self._engine.retries, pure=False, **self._kwargs
        )

    def result(self, timeout: float | None = None) -> Any:
        from concurrent.futures import CancelledError

        for attempt in range(self._engine.retries + 1):
            try:
                return self._future.result(timeout=timeout)
            except CancelledError:
                if attempt == self._engine.retries:
                    raise
                self._future.release()
                self._future = self._submit()
        raise AssertionError("unreachable")  # pragma: no cover

    def done(self) -> bool:
        return bool(self._future.done())

    def cancel(self) -> None:
        self._future.cancel()

    def release(self) -> None:
        self._future.release()
