"""One ``/invocations`` request through civicml's ASGI app in-process: no socket, no uvicorn.

    python bench/serving/in_process.py WORK_DIR [--rounds 12] [--requests 2000]

``WORK_DIR`` is a folder that ``bench/serving/run.py`` left behind (``/tmp/civicml-bench-*``:
it holds ``civicml-bundle`` and ``body.json``). Prints microseconds per request for each round,
then the best and the median; pin it to one core (``taskset -c 0``) and compare two source trees
with ``PYTHONPATH=OTHER/src`` in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from civicml.serve import HashedTokenVerifier, ServeOptions, create_app, hash_token

TOKEN = "bench-in-process-token"


async def _measure(work: Path, rounds: int, requests: int) -> list[float]:
    verifier = HashedTokenVerifier.from_env(hash_token(TOKEN, salt="ab" * 16))
    app = create_app(
        str(work / "civicml-bundle"),
        verifier=verifier,
        options=ServeOptions(),
        decision_log=tempfile.mkdtemp(prefix="civicml-in-process-log-"),
        poll_seconds=10,
    )
    life_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    life_out: list[dict[str, Any]] = []

    async def life_send(msg: dict[str, Any]) -> None:
        life_out.append(msg)

    await life_in.put({"type": "lifespan.startup"})
    life = asyncio.create_task(app({"type": "lifespan"}, life_in.get, life_send))
    while not life_out:
        await asyncio.sleep(0.01)
    body = (work / "body.json").read_bytes()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/invocations",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {TOKEN}".encode()),
            (b"content-type", b"application/json"),
        ],
    }
    statuses: set[int] = set()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            statuses.add(msg["status"])

    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(requests):
            await app(scope, receive, send)
        out.append((time.perf_counter() - start) / requests * 1e6)
    await life_in.put({"type": "lifespan.shutdown"})
    await life
    if statuses != {200}:
        raise SystemExit(f"unexpected statuses {sorted(statuses)}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path, help="a /tmp/civicml-bench-* folder from run.py")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    us = asyncio.run(_measure(args.work, args.rounds, args.requests))
    print("µs/request by round:", " ".join(f"{x:.0f}" for x in us))
    print(f"best {min(us):.1f} µs, median {statistics.median(us):.1f} µs")


if __name__ == "__main__":
    main()
