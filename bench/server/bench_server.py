"""The team server's API against embedded mode: resolve, register and approve at 10,000 versions
with 50 concurrent clients.

    OMP_NUM_THREADS=1 .venv/bin/python bench/server/bench_server.py \\
        [--backend postgres|sqlite] [--versions 10000] [--clients 50] [--calls 1000] [--write]

One registry database is seeded in bulk (100 models and ``--versions`` versions of one model,
keyed full-state audit chain). Then, on the same database:

- **server**: ``civicml server`` runs as a separate process (uvicorn, one worker) and
  ``--clients`` concurrent HTTP clients (httpx, asyncio) authenticate with bearer tokens an
  admin issued: alice (trainer) registers signed 2 KB bundles and asks for approval, bob
  (approver) approves, everyone resolves ``big@production``.
- **embedded**: the same calls on the Python API (``civicml.registry``) from ``--clients``
  threads in one process, which is what the CLI does without a server.

Each call's latency is measured at the client, from send to full reply (so the server figures
include HTTP, authentication, role checks, the tar upload and its safety checks, and the
signature check). Prints a Markdown table of p50/p99 and throughput; ``--write`` replaces the
``## Team server`` section of docs/benchmarks.md. Both sides share 2 cores with the load
generator: read the figures as costs on the same machine, not as capacity.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

import bench_registry as seeding
import httpx

from civicml.bundle import save_bundle, sign_bundle, write_keypair
from civicml.registry import Actor, open_registry

ROOT = Path(__file__).resolve().parents[2]
SPEC = seeding.SPEC | {"name": "big"}
ALICE = Actor("alice@example.gov.uk", verified=True, via="token:alice", roles=("trainer",))
BOB = Actor("bob@example.gov.uk", verified=True, via="token:bob", roles=("approver",))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tar(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(path, arcname=path.relative_to(folder).as_posix())
    return buf.getvalue()


def _bundles(tmp: Path, n: int, key: Path, tag: str) -> list[Path]:
    out = []
    for i in range(n):
        b = save_bundle(
            tmp / f"{tag}-{i}",
            documents={
                "model_info.json": {"task": "binary", "tag": f"{tag}-{i}"},
                "spec.json": SPEC,
                "checks.json": {"checks": [{"name": "auc", "passed": True, "evidence": "0.8"}]},
            },
            files={"model.bin": os.urandom(2048)},
        )
        sign_bundle(b.path, key)
        out.append(b.path)
    return out


def _summary(samples: list[float], wall: float) -> tuple[float, float, float]:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return statistics.median(samples) * 1000, p99 * 1000, len(samples) / wall


# -- server ------------------------------------------------------------------------------------
async def _drive(base: str, clients: int, jobs: list[tuple[str, str, dict[str, Any]]]) -> Any:
    """Run ``jobs`` (method, path, request kwargs) on ``clients`` concurrent connections."""
    queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    samples: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            method, path, kw = queue.get_nowait()
            start = time.perf_counter()
            r = await client.request(method, path, **kw)
            samples.append(time.perf_counter() - start)
            if r.status_code >= 400:
                errors.append(f"{r.status_code} {r.text[:200]}")

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{len(errors)} calls failed, e.g. {errors[0]}")
    return _summary(samples, wall)


def _server_run(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    from civicml.server import ServerOptions, issue_admin_token

    opts = ServerOptions(registry=url, artifacts=str(tmp / "artifacts"), project_dir=tmp)
    root, _ = issue_admin_token(opts, "bench-root", "root@example.gov.uk")
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1", CIVICML_REGISTRY=url)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "civicml",
            "server",
            "--port",
            str(port),
            "--registry",
            url,
            "--artifacts",
            str(tmp / "artifacts"),
            "--project-dir",
            str(tmp),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        admin = {"Authorization": f"Bearer {root}"}
        tokens = {}
        for who, scope in (("alice", "trainer"), ("bob", "approver")):
            r = httpx.post(
                base + "/tokens",
                headers=admin,
                json={"name": f"{who}-bench", "scopes": [scope], "owner": f"{who}@example.gov.uk"},
            )
            r.raise_for_status()
            tokens[who] = {"Authorization": f"Bearer {r.json()['token']}"}
        keys = write_keypair(tmp / "keys-server")
        httpx.post(
            base + "/keys", headers=tokens["alice"], json={"public_key": keys.public.read_text()}
        ).raise_for_status()
        tars = [_tar(p) for p in _bundles(tmp / "b-server", 2 * args.registers, keys.private, "s")]
        tar_headers = tokens["alice"] | {"Content-Type": "application/x-tar"}
        results: dict[str, Any] = {}
        first = args.versions + 1
        for label, clients, batch in (
            ("", args.clients, tars[: args.registers]),
            (" (1 client)", 1, tars[args.registers :]),
        ):
            calls = args.calls if clients > 1 else max(1, args.calls // 4)
            results["resolve" + label] = asyncio.run(
                _drive(
                    base,
                    clients,
                    [
                        (
                            "GET",
                            "/resolve",
                            {"params": {"ref": "big@production"}, "headers": tokens["bob"]},
                        )
                    ]
                    * calls,
                )
            )
            results["register" + label] = asyncio.run(
                _drive(
                    base,
                    clients,
                    [
                        ("POST", "/models/big/versions", {"content": t, "headers": tar_headers})
                        for t in batch
                    ],
                )
            )
            numbers = range(first, first + len(batch))
            first += len(batch)
            for n in numbers:
                httpx.post(
                    f"{base}/models/big/versions/{n}/request-approval",
                    headers=tokens["alice"],
                    json={"reason": "ready", "oversight": "human-in-the-loop"},
                    timeout=60,
                ).raise_for_status()
            results["approve" + label] = asyncio.run(
                _drive(
                    base,
                    clients,
                    [
                        (
                            "POST",
                            f"/models/big/versions/{n}/approve",
                            {"json": {"reason": "read the report"}, "headers": tokens["bob"]},
                        )
                        for n in numbers
                    ],
                )
            )
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- embedded ----------------------------------------------------------------------------------
def _threads(clients: int, calls: list[Any]) -> tuple[float, float, float]:
    def timed(fn: Any) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    with ThreadPoolExecutor(clients) as pool:
        start = time.perf_counter()
        samples = list(pool.map(timed, calls))
        wall = time.perf_counter() - start
    return _summary(samples, wall)


def _embedded_run(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    reg = open_registry(url, artifacts=str(tmp / "artifacts"), project_dir=tmp)
    try:
        keys = write_keypair(tmp / "keys-embedded")
        reg.register_key(keys.public.read_text(), ALICE.name)
        paths = _bundles(tmp / "b-embedded", args.registers, keys.private, "e")
        start_n = reg.get_model("big").latest_version + 1
        results = {
            "resolve": _threads(args.clients, [lambda: reg.resolve("big@production")] * args.calls),
            "register": _threads(
                args.clients,
                [(lambda p=p: reg.register(p, "big", actor=ALICE.name)) for p in paths],
            ),
        }
        numbers = range(start_n, start_n + args.registers)
        for n in numbers:
            reg.request_approval(
                "big", n, actor=ALICE.name, reason="ready", oversight="human-in-the-loop"
            )
        results["approve"] = _threads(
            args.clients,
            [
                (lambda n=n: reg.approve("big", n, by=BOB.name, reason="read the report"))
                for n in numbers
            ],
        )
        return results
    finally:
        reg.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--versions", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--calls", type=int, default=1000, help="resolve calls")
    ap.add_argument("--registers", type=int, default=200, help="register and approve calls")
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()
    rows = {}
    for mode in ("embedded", "server"):
        tmp = Path(tempfile.mkdtemp(prefix=f"civicml-bench-{mode}-"))
        drop = None
        url = f"sqlite:///{tmp / 'registry.db'}"
        if args.backend == "postgres":
            url, drop = seeding._pg_schema(args.pg_url)
        try:
            with open_registry(url, artifacts=str(tmp / "artifacts"), project_dir=tmp) as reg:
                seeding.seed(reg, 100, args.versions)
            run = _embedded_run if mode == "embedded" else _server_run
            rows[mode] = run(url, tmp, args)
        finally:
            if drop is not None:
                drop()
        print(f"[{mode}] done", file=sys.stderr)
    table = _table(rows, args)
    print(table)
    if args.write:
        _write(table, args)


def _table(rows: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"| call | embedded, {args.clients} threads: p50 / p99, ms | server, {args.clients} "
        "HTTP clients: p50 / p99, ms | server ÷ embedded (p50) | embedded / server calls/s "
        "| server, 1 client: p50 / p99, ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for call in ("resolve", "register", "approve"):
        e, s, one = (
            rows["embedded"][call],
            rows["server"][call],
            rows["server"][call + " (1 client)"],
        )
        lines.append(
            f"| {call} | {e[0]:.1f} / {e[1]:.1f} | {s[0]:.1f} / {s[1]:.1f} | "
            f"{s[0] / e[0]:.1f}× | {e[2]:.0f} / {s[2]:.0f} | {one[0]:.1f} / {one[1]:.1f} |"
        )
    return "\n".join(lines)


def _write(table: str, args: argparse.Namespace) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text(encoding="utf-8")
    command = (
        "OMP_NUM_THREADS=1 .venv/bin/python bench/server/bench_server.py "
        f"--backend {args.backend} --versions {args.versions} --clients {args.clients} "
        f"--calls {args.calls} --registers {args.registers} --write"
    )
    section = (
        "## Team server\n\n"
        f"`{command}` on {platform.machine()}, {os.cpu_count()} cores, {args.backend}, "
        f"{args.versions:,} versions of one model, {args.clients} concurrent clients "
        f"({args.calls} resolves, {args.registers} registers and approvals each side). "
        "Embedded: the Python API from threads; server: `civicml server` (uvicorn, one worker) "
        "over HTTP with bearer tokens, signed 2 KB bundles as tar. Same database, same "
        "machine, load generator included: with 50 clients the Python load generator (httpx) "
        "and the server share 2 cores, so the last column, one client calling in turn, is "
        "the server's own cost per call over loopback HTTP.\n\n" + table + "\n"
    )
    start = text.find("## Team server")
    if start == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        end = text.find("\n## ", start + 3)
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
