"""``verify_audit`` alone, repeated: a steadier figure than the main benchmark's median of 3.

    python bench/registry/verify_audit.py [--backend postgres|sqlite] [--repeats 10]

Seeds a fresh registry (100 models, 1,000 versions, ~1,100 audit events) the way
``bench_registry.py`` does, then times ``Registry.verify_audit()`` ``--repeats`` times and prints
the median and the best in milliseconds. A Postgres run uses a throw-away schema.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_registry as b

from civicml.registry import open_registry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="civicml-verify-"))
    drop = None
    if args.backend == "postgres":
        url, drop = b._pg_schema(args.pg_url)
    else:
        url = f"sqlite:///{tmp / 'registry.db'}"
    reg = open_registry(url, artifacts=str(tmp / "artifacts"), project_dir=tmp)
    try:
        b.seed(reg, 100, 1000)
        assert reg.verify_audit().ok
        samples = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            reg.verify_audit()
            samples.append((time.perf_counter() - start) * 1000)
        print(
            f"{args.backend} verify_audit: median {statistics.median(samples):.2f} ms, "
            f"best {min(samples):.2f} ms over {args.repeats}"
        )
    finally:
        reg.close()
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
