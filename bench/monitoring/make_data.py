"""Write the benchmark's reference and current frames (deterministic) as Parquet.

20 columns: 12 numeric (float, one with missing values, one integer with many values), 5
categorical (text and small-integer codes), 3 binary (bool, text, 0/1). Some columns are shifted
in the current frame by a known amount, so both drifted and stable verdicts are compared.

Usage: python make_data.py OUT_DIR [--rows 1000000] [--ref-rows N] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

#: column -> shift applied to the current frame (numeric: in reference sd; shares: new weights)
NUMERIC_SHIFTS = {
    f"num_{i:02d}": s for i, s in enumerate([0, 0, 0, 0, 0.05, 0.2, 0.5, 0, 0, 0.15, 0, 0])
}


def _frame(n: int, rng: np.random.Generator, current: bool) -> pd.DataFrame:
    cols: dict[str, object] = {}
    for i, (name, shift) in enumerate(NUMERIC_SHIFTS.items()):
        s = shift if current else 0.0
        kind = i % 4
        if kind == 0:
            x = rng.normal(10 + s, 1.0, n)
        elif kind == 1:
            x = rng.lognormal(0.0, 0.5, n) + s * 0.5
        elif kind == 2:
            x = rng.exponential(2.0, n) + s * 2.0
        else:
            x = rng.uniform(0, 1, n) + s * 0.29
        cols[name] = x
    cols["num_07"] = np.where(rng.random(n) < 0.03, np.nan, cols["num_07"])  # missing values
    cols["num_11"] = rng.integers(0, 500 + (60 if current else 0), n)  # integer, many values
    regions = np.array(
        ["North East", "North West", "Yorkshire", "Midlands", "London", "South", "Wales"]
    )
    w_region = np.array([0.1, 0.15, 0.1, 0.2, 0.25, 0.15, 0.05])
    if current:
        w_region = np.array([0.04, 0.12, 0.1, 0.2, 0.36, 0.13, 0.05])
    cols["cat_region"] = rng.choice(regions, n, p=w_region)
    cols["cat_channel"] = rng.choice(
        np.array(["web", "phone", "post", "office"]), n, p=[0.5, 0.3, 0.1, 0.1]
    )
    cols["cat_band"] = rng.integers(1, 9, n)  # small integer codes: categorical
    tenure_p = [0.3, 0.3, 0.2, 0.1, 0.1] if not current else [0.2, 0.3, 0.2, 0.15, 0.15]
    cols["cat_tenure"] = rng.choice(
        np.array(["<1y", "1-2y", "2-5y", "5-10y", "10y+"]), n, p=tenure_p
    )
    cols["cat_office"] = rng.choice(np.array([f"office_{k:02d}" for k in range(40)]), n)
    cols["bin_flag"] = rng.random(n) < (0.3 if not current else 0.36)
    cols["bin_yesno"] = rng.choice(np.array(["yes", "no"]), n, p=[0.5, 0.5])
    cols["bin_01"] = (rng.random(n) < 0.1).astype(np.int64)
    return pd.DataFrame(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the current frame")
    parser.add_argument(
        "--ref-rows", type=int, default=None, help="reference rows (default: --rows)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    _frame(args.ref_rows or args.rows, rng, current=False).to_parquet(
        args.out / "reference.parquet"
    )
    _frame(args.rows, rng, current=True).to_parquet(args.out / "current.parquet")


if __name__ == "__main__":
    main()
