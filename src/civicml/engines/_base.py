"""The engine interface: where trials, folds and batch jobs run.

An :class:`Engine` runs plain functions on plain arguments and hands results back in the order
the work was given. Two engines ship: :class:`~civicml.engines.LocalEngine` (in this process,
the default) and :class:`~civicml.engines.DaskEngine` (a Dask.distributed cluster). Both pass the
same test suite (``tests/engines``). Constructors do no I/O;
:func:`~civicml.engines.open_engine` builds one from a spec string and the Dask engine connects
on first use.

Examples
--------
>>> from civicml.engines import open_engine
>>> with open_engine("local") as engine:
...     list(engine.map(abs, [-1, 2, -3]))
[1, 2, 3]
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any

__all__ = ["Engine"]


class Engine(abc.ABC):
    """Runs functions somewhere and returns their results.

    Subclasses implement :meth:`submit`, :meth:`map`, :meth:`scatter` and :meth:`close` (and,
    where workers can be lost, :meth:`worker_losses` and :meth:`forget`). A
    function and its arguments must be importable/picklable for remote engines (module-level
    functions, plain data). Results are identical whichever engine runs them: nothing here
    depends on which worker ran a task.
    """

    #: the spec string this engine was opened from (``local``, ``dask://host:port``)
    uri: str = "local"

    @abc.abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Start ``fn(*args, **kwargs)``; return a future whose ``result()`` is its value."""

    @abc.abstractmethod
    def map(
        self, fn: Callable[..., Any], items: Iterable[Any], *args: Any, **kwargs: Any
    ) -> Iterator[Any]:
        """``fn(item, *args, **kwargs)`` for every item; results yielded in the items' order.

        The extra ``args`` are shared by every call (on Dask, pass the reference
        :meth:`scatter` returned so big data travels once).
        """

    @abc.abstractmethod
    def scatter(self, obj: Any) -> Any:
        """A reference to ``obj`` that tasks receive as ``obj`` itself (data sent once)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release workers and connections. Closing twice is harmless."""

    def forget(self, ref: Any) -> None:  # noqa: B027 - optional: engines with nothing kept
        """Drop what :meth:`scatter` kept for ``ref`` (the driver's copy, for a re-scatter)."""

    def worker_losses(self) -> list[dict[str, Any]]:
        """Workers lost since the last call: ``worker`` (address), ``tasks_rerun`` (tasks it
        was running, run again elsewhere) and ``data_lost`` (scattered objects it alone held,
        scattered again from the driver). A local engine loses none."""
        return []

    @property
    def parallelism(self) -> int:
        """How many tasks may run at once (threads of all workers)."""
        return 1

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"
