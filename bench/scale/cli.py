"""Larger than memory from the command line: one CSV through ``civicml contract``,
``civicml validate --contract``, ``civicml run`` and ``civicml predict``, each in its own
process, with its peak memory (RSS, from ``os.wait4``) and wall time.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/cli.py --rows 30000000 --work /tmp/civicml-cli

Writes ``data.csv`` (about 105 bytes a row: 8 numbers, 4 categories, a yes/no column and a
binary target; 30M rows is 3.2 GB) under ``--work``, runs the four commands, prints one JSON
line per command and deletes the work folder unless ``--keep``. Results go to
docs/benchmarks.md ("Larger than memory, from the command line").
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

PART = 1_000_000


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    with open(path, "w", encoding="utf-8", newline="") as fh:
        for i, start in enumerate(range(0, rows, PART)):
            n = min(PART, rows - start)
            rng = np.random.default_rng([seed, i])
            x = np.round(rng.normal(size=(n, 8)), 3)
            frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(8)])
            frame.loc[rng.random(n) < 0.02, "x3"] = np.nan
            region = rng.integers(0, 6, size=n)
            frame["region"] = np.array(["north", "south", "east", "west", "wales", "scot"])[region]
            frame["band"] = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, size=n)]
            frame["channel"] = np.array(["web", "phone", "post"])[rng.integers(0, 3, size=n)]
            frame["paid"] = np.array(["yes", "no"])[rng.integers(0, 2, size=n)]
            logit = x[:, 0] + 0.5 * x[:, 1] - 0.3 * x[:, 2] + (region == 1) * 0.5
            frame["y"] = (logit + rng.logistic(size=n) > 0).astype(np.int64)
            frame.to_csv(fh, index=False, header=i == 0)


def timed(cmd: list[str], env: dict[str, str], logs: Path) -> dict:
    """Run one command; its exit code, wall seconds and peak RSS (MiB, from ``os.wait4``)."""
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    t0 = time.perf_counter()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe)
        _, status, usage = os.wait4(proc.pid, 0)
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(time.perf_counter() - t0, 1),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "stderr_tail": err.read_text(errors="replace").strip().splitlines()[-2:],
        "stdout_tail": out.read_text(errors="replace").strip().splitlines()[-2:],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--work", default="/tmp/civicml-cli")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", nargs="*", default=["contract", "validate", "run", "predict"])
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data.csv"
    if not data.exists():
        t0 = time.perf_counter()
        write_csv(data, args.rows)
        print(json.dumps({"stage": "generate", "rows": args.rows,
                          "bytes": data.stat().st_size,
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)  # fmt: skip
    (work / "civicml.yaml").write_text(
        "name: scale-cli\ndata: {path: data.csv}\ntarget: y\ntask: binary\nmax_trials: 2\n"
        "cv_folds: 2\nmodels: [lightgbm]\npersonal_data: {scan: false}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "CIVICML_REGISTRY": f"sqlite:///{work / 'registry.db'}"}
    civicml = [sys.executable, "-m", "civicml"]
    commands = {
        "contract": [*civicml, "contract", str(data), "-o", str(work / "contract.json"),
                     "--target", "y"],
        "validate": [*civicml, "validate", str(data), "-c", str(work / "contract.json")],
        "run": [*civicml, "run", str(work / "civicml.yaml"), "-o", str(work / "out"),
                "--no-pdf", "--no-register", "--json"],
        "predict": [*civicml, "predict", str(work / "out" / "bundle"), str(data), "-o",
                    str(work / "scored"), "--keep", "y", "--out-of-range", "allow",
                    "--unknown-category", "allow", "--extra-columns", "allow"],
    }  # fmt: skip
    try:
        for name in args.only:
            result = timed(commands[name], env, work / name)
            print(json.dumps({"stage": name, "rows": args.rows, **result}), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
