"""``civicml models audit --verify`` at 100,000 events: the keyed chain walked, every MAC
checked, the state replayed and compared with every table row.

    OMP_NUM_THREADS=1 .venv/bin/python bench/registry/audit_100k.py [--events 100000] \\
        [--backend sqlite|postgres|both] [--repeats 3]

Seeds a fresh registry in bulk (100 models, 10,000 versions of one model, an alias per model,
then governance events carrying each version's full state until the log holds ``--events``
events), checks it verifies, and times ``Registry.verify_audit()`` (median and worst of
``--repeats``) and the command ``civicml models audit --verify`` once, as a new process with
its imports. A Postgres run uses a throw-away schema. The issue's bar is under 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_registry as b

from civicml.registry import open_registry


def _one(backend: str, events: int, repeats: int, pg_url: str) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="civicml-audit-"))
    drop = None
    url = f"sqlite:///{tmp / 'registry.db'}"
    if backend == "postgres":
        url, drop = b._pg_schema(pg_url)
    reg = open_registry(url, artifacts=str(tmp / "artifacts"), project_dir=tmp)
    try:
        base = 100 + 10_000 + 101
        b.seed(reg, 100, 10_000, extra_events=max(0, events - base))
        found = reg.verify_audit()
        assert found.ok and found.keyed and not found.not_replayed, found
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            reg.verify_audit()
            samples.append(time.perf_counter() - start)
        cli = _cli_seconds(url, tmp)
        return (
            f"| {backend} | {found.events:,} | {statistics.median(samples):.2f} | "
            f"{max(samples):.2f} | {cli:.2f} |"
        )
    finally:
        reg.close()
        if drop is not None:
            drop()


def _cli_seconds(url: str, tmp: Path) -> float:
    """``civicml models audit --verify`` as a person runs it: a new process, imports included."""
    cmd = [
        sys.executable,
        "-m",
        "civicml",
        "models",
        "audit",
        "--verify",
        "--registry",
        url,
        "--artifacts",
        str(tmp / "artifacts"),
        "--project-dir",
        str(tmp),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    assert done.returncode == 0 and "Audit log verified" in done.stdout, done.stdout + done.stderr
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        "| backend | events | `verify_audit()` median, s | worst, s | `civicml models audit --verify`, s |"
    )
    print("|---|---:|---:|---:|---:|")
    for backend in backends:
        print(_one(backend, args.events, args.repeats, args.pg_url), flush=True)


if __name__ == "__main__":
    main()
