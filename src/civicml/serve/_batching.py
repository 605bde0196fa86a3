"""Adaptive micro-batching: rows from concurrent requests scored in one model call.

Off by default. When on, the first request to arrive opens a batch; the batch is scored as soon
as it holds ``max_batch_size`` rows or ``max_batch_time_ms`` has passed, whichever is first, so a
quiet server adds at most ``max_batch_time_ms`` and a busy one amortises the model's per-call
overhead across many rows. Requests are batched only with requests for the same runtime, so a
hot reload never mixes versions in one call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from civicml.serve._runtime import ModelRuntime

__all__ = ["MicroBatcher"]


class MicroBatcher:
    """Collect validated rows and score them together.

    Parameters
    ----------
    max_batch_size : int
        Rows that close a batch at once.
    max_batch_time_ms : float
        The longest a row waits for others.
    """

    def __init__(self, max_batch_size: int, max_batch_time_ms: float) -> None:
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_batch_time_ms)) / 1000.0
        self._pending: list[
            tuple[ModelRuntime, dict[str, list[Any]], int, asyncio.Future[Any]]
        ] = []
        self._rows = 0
        self._timer: asyncio.TimerHandle | None = None

    async def predict(
        self, runtime: ModelRuntime, columns: dict[str, list[Any]], n_rows: int
    ) -> dict[str, list[Any]]:
        """Score ``columns`` as part of the next batch."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((runtime, columns, n_rows, fut))
        self._rows += n_rows
        if self._rows >= self.max_batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return await fut

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        items, self._pending, self._rows = self._pending, [], 0
        groups: dict[int, list[Any]] = {}
        for item in items:
            groups.setdefault(id(item[0]), []).append(item)
        for group in groups.values():
            runtime = group[0][0]
            names = runtime.schema.names
            merged: dict[str, list[Any]] = {n: [] for n in names}
            for _, cols, _, _ in group:
                for n in names:
                    merged[n].extend(cols[n])
            try:
                out = runtime.predict_columns(merged)
            except Exception as exc:
                for *_, fut in group:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            start = 0
            for _, _, n, fut in group:
                if not fut.done():
                    fut.set_result({k: v[start : start + n] for k, v in out.items()})
                start += n
