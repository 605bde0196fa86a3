"""One lifespan helper: the ASGI ``lifespan`` protocol for raw apps, and the same hooks as an
async context manager for Starlette apps.

Examples
--------
>>> import asyncio
>>> inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
>>> sent, calls = [], []
>>> async def receive(): return inbox.pop(0)
>>> async def send(msg): sent.append(msg["type"])
>>> asyncio.run(run_lifespan(receive, send, startup=lambda: calls.append("up")))
>>> sent, calls
(['lifespan.startup.complete', 'lifespan.shutdown.complete'], ['up'])
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

__all__ = ["Hook", "lifespan_context", "run_lifespan"]

#: a startup or shutdown hook: a plain function or a coroutine function, no arguments
Hook = Callable[[], Any]


async def _call(hook: Hook | None) -> None:
    if hook is None:
        return
    result = hook()
    if inspect.isawaitable(result):
        await result


async def run_lifespan(
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
    *,
    startup: Hook | None = None,
    shutdown: Hook | None = None,
) -> None:
    """Answer the server's lifespan messages, running ``startup`` and ``shutdown``.

    A startup hook that raises answers ``lifespan.startup.failed`` with its message (cut to
    500 characters), and the server refuses to start.
    """
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            try:
                await _call(startup)
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)[:500]})
                return
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await _call(shutdown)
            await send({"type": "lifespan.shutdown.complete"})
            return


def lifespan_context(
    *, startup: Hook | None = None, shutdown: Hook | None = None
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The same hooks as a Starlette ``lifespan=`` (an async context manager factory)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await _call(startup)
        try:
            yield
        finally:
            await _call(shutdown)

    return lifespan
