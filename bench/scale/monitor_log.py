"""``civicml monitor`` on a decision log larger than memory (issue 23): peak memory and time.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/monitor_log.py --rows 10000000 --work /tmp/civicml-mon

Writes a small binary bundle (with its reference sample) and a decision log of ``--rows``
decisions of it over 30 days, in Parquet parts of ``--part-rows`` rows as the server rolls
them (one in ten decisions from another model version), then runs ``civicml monitor --bundle
... --log-dir ... --json`` in its own process and prints one JSON line: exit code, wall
seconds, peak RSS (MiB, from ``os.wait4``), the period's true total and how many decisions
were monitored. ``--max-rows`` is passed on (default: the command's, 1,000,000; 0 reads every
row, the old behaviour's memory). The work folder is deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


def make_bundle(dest: Path) -> str:
    """A logistic regression on age, income and region, with the reference a trained bundle
    keeps; returns its digest."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from civicml.bundle import save_bundle
    from civicml.monitor import build_reference

    rng = np.random.default_rng(0)
    n = 5_000
    train = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(float),
            "income": rng.normal(30_000, 8_000, n).round(2),
            "region": rng.choice(["N", "S", "E", "W"], n),
        }
    )
    y = np.where(train["age"] + rng.normal(0, 10, n) > 50, "yes", "no")
    prep = ColumnTransformer(
        [("num", "passthrough", ["age", "income"]), ("cat", OneHotEncoder(), ["region"])]
    )
    pipe = Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=500))]).fit(train, y)
    proba = pipe.predict_proba(train)[:, 1]
    outputs = pd.DataFrame({"score": proba, "decision": (proba >= 0.5).astype(int)})
    roles = {"age": "numeric", "income": "numeric", "region": "categorical"}
    features = list(roles)
    public, doc = build_reference(
        train, features=features, roles=roles, private={}, outputs=outputs
    )
    contract = {
        "columns": [
            {"name": "age", "dtype": "float", "role": "numeric", "nullable": False},
            {"name": "income", "dtype": "float", "role": "numeric", "nullable": False},
            {
                "name": "region",
                "dtype": "string",
                "role": "categorical",
                "nullable": False,
                "categories": ["E", "N", "S", "W"],
            },
            {"name": "outcome", "dtype": "string", "role": "target"},
        ],
        "target": "outcome",
    }
    info = {"name": "bench", "task": "binary", "features": features, "classes": ["no", "yes"]}
    bundle = save_bundle(
        dest,
        model=pipe,
        documents={
            "model_info.json": {**info, "threshold": 0.5},
            "contract.json": contract,
            "reference.json": doc,
        },
        tables={"reference.parquet": public},
        overwrite=True,
    )
    return str(bundle.digest)


def write_log(folder: Path, rows: int, digest: str, part_rows: int, seed: int = 0) -> None:
    """``rows`` decisions over 30 days from 1 March 2025, in parts of ``part_rows``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = folder / "predictions"
    out.mkdir(parents=True, exist_ok=True)
    start = np.datetime64("2025-03-01T00:00:00", "us")
    step = int(30 * 86_400 * 1e6 // max(rows, 1))
    for k, lo in enumerate(range(0, rows, part_rows)):
        n = min(part_rows, rows - lo)
        rng = np.random.default_rng([seed, k])
        idx = np.arange(lo, lo + n)
        age = rng.integers(18, 90, n).astype(float) + (idx / rows) * 5  # a slow drift
        score = 1 / (1 + np.exp(-(age - 50) / 10))
        ids = np.char.add("r", idx.astype(str))
        table = pa.table(
            {
                "case_id": np.char.add("c", idx.astype(str)),
                "request_id": ids,
                "time": pa.array(start + idx * step, type=pa.timestamp("us", tz="UTC")),
                "model_version": np.full(n, "1"),
                "model_sha256": np.where(idx % 10 == 0, "other", digest),
                "input_hmac": np.full(n, "x" * 64),
                "age": age,
                "income": rng.normal(30_000, 8_000, n).round(2),
                "region": rng.choice(["N", "S", "E", "W"], n),
                "score": score,
                "prediction": np.where(score >= 0.5, "yes", "no"),
                "decision": (score >= 0.5).astype(np.int64),
                "latency_ms": rng.uniform(0.5, 3, n),
            }
        )
        pq.write_table(table, out / f"part-{k:06d}-bench-{os.getpid()}.parquet")


def timed(cmd: list[str], env: dict[str, str], logs: Path) -> dict:
    """Run one command; its exit code, wall seconds and peak RSS (MiB, from ``os.wait4``)."""
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "seconds": round(wall, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "stdout": out,
        "stderr_tail": err.read_text(errors="replace")[-400:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--part-rows", type=int, default=100_000)
    ap.add_argument("--max-rows", type=int, default=None)
    ap.add_argument("--work", type=Path, default=Path("/tmp/civicml-monitor-log"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        log = work / "log"
        if not (log / "predictions").exists():
            t0 = time.perf_counter()
            digest = make_bundle(work / "bundle")
            write_log(log, args.rows, digest, args.part_rows)
            print(
                f"wrote {args.rows:,} decisions in {time.perf_counter() - t0:.0f} s",
                file=sys.stderr,
            )
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        cmd = [sys.executable, "-m", "civicml", "monitor", "--bundle", str(work / "bundle")]
        cmd += ["--log-dir", str(log), "--json"]
        if args.max_rows is not None:
            cmd += ["--max-rows", str(args.max_rows)]
        found = timed(cmd, env, work / "monitor")
        doc = {}
        if found["exit_code"] in (0, 1):
            doc = json.loads(Path(found.pop("stdout")).read_text())
        else:
            found.pop("stdout")
        sample = doc.get("sample") or {}
        print(
            json.dumps(
                {
                    "command": " ".join(cmd[1:]),
                    "rows": args.rows,
                    **{k: v for k, v in found.items() if k != "stderr_tail" or v},
                    "decisions_in_period": sample.get("rows"),
                    "monitored": sample.get("rows_monitored"),
                    "n_current": (doc.get("drift") or {}).get("n_current"),
                }
            )
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
