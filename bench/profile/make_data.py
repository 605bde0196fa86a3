"""Write the benchmark file: 1,000,000 rows × 20 columns (10 numeric, 6 categorical, 2 dates,
1 boolean target, 1 integer count), about 5% missing in some columns, as Parquet and CSV.

Usage: python bench/profile/make_data.py OUT_DIR [ROWS]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(10):
        x = rng.normal(50 + i, 10 + i, rows)
        if i % 3 == 0:
            x[rng.random(rows) < 0.05] = np.nan
        cols[f"num_{i}"] = x
    for i in range(6):
        k = [3, 5, 8, 12, 20, 40][i]
        cats = np.array([f"cat{i}_{j}" for j in range(k)], dtype=object)
        v = cats[rng.integers(0, k, rows)]
        if i % 2 == 0:
            v[rng.random(rows) < 0.05] = None
        cols[f"cat_{i}"] = v
    start = np.datetime64("2015-01-01")
    cols["date_0"] = start + rng.integers(0, 3650, rows).astype("timedelta64[D]")
    cols["date_1"] = start + rng.integers(0, 365, rows).astype("timedelta64[D]")
    cols["count_0"] = rng.poisson(3, rows)
    cols["target"] = rng.random(rows) < 0.3
    return pd.DataFrame(cols)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    out.mkdir(parents=True, exist_ok=True)
    df = frame(rows)
    df.to_parquet(out / "bench.parquet", index=False)
    df.to_csv(out / "bench.csv", index=False)
    print(f"wrote {out}/bench.parquet and bench.csv: {len(df):,} rows × {df.shape[1]} columns")
