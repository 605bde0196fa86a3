"""Generate the scale benchmark's dataset: N rows x 30 columns of Parquet, deterministic.

    OMP_NUM_THREADS=1 .venv/bin/python bench/scale/generate.py --rows 10000000 --out /tmp/civicml-scale

Writes ``part-NNN.parquet`` files of 1M rows (row groups of 250k): 26 numeric features, 3
categorical (string) features and a binary target ``y``. Never committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PART = 1_000_000


def make_part(i: int, n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng([seed, i])
    cols: dict[str, object] = {}
    logit = np.zeros(n)
    for j in range(26):
        x = rng.normal(size=n).astype(np.float64)
        if j % 7 == 3:
            x[rng.random(n) < 0.02] = np.nan
        cols[f"x{j:02d}"] = x
        if j < 8:
            logit += np.nan_to_num(x) * (0.8 / (j + 1))
    regions = np.array(["north", "south", "east", "west", "wales", "scotland"])
    r = rng.integers(0, len(regions), size=n)
    cols["region"] = regions[r]
    cols["band"] = np.array(["a", "b", "c", "d"])[rng.integers(0, 4, size=n)]
    cols["channel"] = np.array(["web", "phone", "post"])[rng.integers(0, 3, size=n)]
    logit += (r == 1) * 0.5
    cols["y"] = (logit + rng.logistic(size=n) > 0).astype(np.int64)
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--out", default="/tmp/civicml-scale")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, start in enumerate(range(0, args.rows, PART)):
        n = min(PART, args.rows - start)
        pq.write_table(make_part(i, n), out / f"part-{i:03d}.parquet", row_group_size=250_000)
    print(f"wrote {args.rows:,} rows to {out}")


if __name__ == "__main__":
    main()
