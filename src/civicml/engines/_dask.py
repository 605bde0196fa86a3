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
        return self.client.submit(fn, *args, retries=self.retries, pure=False, **kwargs)  # type: ignore[no-any-return]

    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        jobs = list(items)
        futures = [
            self.client.submit(fn, item, *args, retries=self.retries, pure=False, **kwargs)
            for item in jobs
        ]
        try:
            for i, item in enumerate(jobs):
                yield self._result(futures, i, fn, item, args, kwargs)
        finally:
            for fut in futures:
                fut.release()

    def _result(
        self,
        futures: list[Any],
        i: int,
        fn: Callable[..., Any],
        item: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """The i-th result. A worker lost at the wrong moment can make the scheduler forget a
        task instead of rerunning it (``FutureCancelledError``); submit it again, up to
        ``retries`` times, so losing a worker is never fatal."""
        from concurrent.futures import CancelledError

        for attempt in range(self.retries + 1):
            try:
                return futures[i].result()
            except CancelledError:
                if attempt == self.retries:
                    raise
                futures[i].release()
                futures[i] = self.client.submit(
                    fn, item, *args, retries=self.retries, pure=False, **kwargs
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def scatter(self, obj: Any) -> Any:
        return self.client.scatter(obj, broadcast=True, hash=False)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
