"""The local engine: tasks run in this process, on a small thread pool with capped BLAS/OpenMP."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from civicml.engines._base import Engine

__all__ = ["LocalEngine"]


def _capped(fn: Callable[..., Any], threads: int) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=threads):
            return fn(*args, **kwargs)

    return run


class LocalEngine(Engine):
    """Run tasks in this process.

    With ``max_workers=1`` (the default) tasks run one after another in the calling thread, the
    cheapest choice on a small machine. With more, a thread pool runs them; each task's
    OpenMP/BLAS pools are capped at ``threads_per_task`` so the cores are not oversubscribed
    (LightGBM and scikit-learn release the GIL while they fit).

    Parameters
    ----------
    max_workers : int, default 1
        Tasks run at once.
    threads_per_task : int, default 1
        OpenMP/BLAS threads each task may use.

    Examples
    --------
    >>> with LocalEngine(max_workers=2) as engine:
    ...     list(engine.map(pow, [2, 3], 2))
    [4, 9]
    """

    def __init__(self, max_workers: int = 1, threads_per_task: int = 1) -> None:
        self.max_workers = max(1, int(max_workers))
        self.threads_per_task = max(1, int(threads_per_task))
        self.uri = "local" if self.max_workers == 1 else f"local:{self.max_workers}"
        self._pool: ThreadPoolExecutor | None = None

    @property
    def parallelism(self) -> int:
        return self.max_workers

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="civicml")
        return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        task = _capped(fn, self.threads_per_task)
        if self.max_workers == 1:
            fut: Future[Any] = Future()
            try:
                fut.set_result(task(*args, **kwargs))
            except BaseException as exc:  # handed to the caller through the future
                fut.set_exception(exc)
            return fut
        return self._executor().submit(task, *args, **kwargs)

    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        if self.max_workers == 1:
            task = _capped(fn, self.threads_per_task)
            for item in items:
                yield task(item, *args, **kwargs)
            return
        futures = [self.submit(fn, item, *args, **kwargs) for item in items]
        for fut in futures:
            yield fut.result()

    def scatter(self, obj: Any) -> Any:
        return obj

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
