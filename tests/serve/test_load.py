"""Load on loopback at concurrency 64: zero errors and bounded memory.

The suite runs 10 seconds. The 60-second version is a stress run for a quiet machine, not part
of ``make test`` (on 2 shared cores it measures the neighbours): run it with
``CIVICML_LOAD_TEST=1 pytest -m slow tests/serve/test_load.py``.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

from serve._support import ROW, auth


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _load(url: str, seconds: float, concurrency: int) -> tuple[int, list[int], list[float]]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    errors: list[int] = []
    rss: list[float] = []
    done = 0
    stop = time.monotonic() + seconds
    headers = auth()

    async def worker(c: httpx.AsyncClient, i: int) -> None:
        nonlocal done
        row = {**ROW, "age": 20 + i % 60}
        while time.monotonic() < stop:
            r = await c.post("/predict", json=row, headers=headers)
            if r.status_code != 200:
                errors.append(r.status_code)
            done += 1

    async def sampler() -> None:
        while time.monotonic() < stop:
            rss.append(_rss_mb())
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as c:
        await asyncio.gather(sampler(), *(worker(c, i) for i in range(concurrency)))
    return done, errors, rss


def _run(live: Any, seconds: float) -> None:
    done, errors, rss = asyncio.run(_load(live.url, seconds, 64))
    assert errors == []
    assert done > 100
    settled = rss[len(rss) // 4 :]
    assert max(settled) - min(settled) < 150, rss  # MB: no unbounded growth


def test_load_concurrency_64_short(live: Any) -> None:
    _run(live, 6)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("CIVICML_LOAD_TEST") != "1",
    reason="the 60-second stress run is opt-in: CIVICML_LOAD_TEST=1",
)
def test_load_concurrency_64_one_minute(live: Any) -> None:
    _run(live, 60)
