"""Time ``civicml.data.profile_data`` and (when installed) ydata-profiling's minimal mode on the
same file, and check that the shared statistics agree (count, missing, distinct, mean, sd,
quantiles).

ydata-profiling pulls in its own pins of pandas, numpy and scipy, so it lives in its own venv:

    python3 -m venv /tmp/ydvenv && /tmp/ydvenv/bin/pip install ydata-profiling pyarrow
    .venv/bin/python bench/profile/make_data.py /tmp/bench            # 1M rows × 20 columns
    .venv/bin/python bench/profile/bench_profile.py /tmp/bench/bench.parquet
    /tmp/ydvenv/bin/python bench/profile/bench_profile.py /tmp/bench/bench.parquet --ydata

Each run prints one JSON line (seconds and the statistics of each column); give both lines to
``--compare A.json B.json`` to check agreement and print the speed-up. civicml's line times its
minimal mode (the statistics ydata-profiling's minimal mode also computes: ``seconds``) and
then its default full mode (adding the missingness pattern, Pearson and Spearman correlations,
Cramér's V and correlation ratios: ``seconds_full``) on the same file.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def civicml_stats(path: str) -> dict[str, Any]:
    from civicml.data import profile_data

    start = time.perf_counter()
    p = profile_data(path, minimal=True)
    took = time.perf_counter() - start
    start = time.perf_counter()
    full = profile_data(path)
    took_full = time.perf_counter() - start
    cols = {}
    for c in p["columns"]:
        num = c.get("numeric") or {}
        q = num.get("quantiles") or {}
        cols[c["name"]] = {
            "count": c["count"],
            "missing": c["missing"],
            "distinct": c["distinct"],
            "mean": num.get("mean"),
            "sd": num.get("sd"),
            "p05": q.get("p05"),
            "p25": q.get("p25"),
            "p50": q.get("p50"),
            "p75": q.get("p75"),
            "p95": q.get("p95"),
        }
    return {
        "tool": "civicml (minimal)",
        "seconds": took,
        "seconds_full": took_full,
        "full": {
            "numeric_pairs": len(full["correlations"]["pairs"]),
            "categorical_pairs": len(full["associations"]["cramers_v"]),
            "correlation_ratios": len(full["associations"]["correlation_ratio"]),
            "missing_patterns": len(full["missing_patterns"]["patterns"]),
        },
        "rows": p["rows"],
        "columns": cols,
    }


def ydata_stats(path: str) -> dict[str, Any]:
    import pandas as pd
    from ydata_profiling import ProfileReport

    start = time.perf_counter()
    df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    report = ProfileReport(df, minimal=True, progress_bar=False)
    desc = report.get_description()
    took = time.perf_counter() - start
    cols = {}
    for name, v in desc.variables.items():
        cols[name] = {
            "count": int(v.get("count", 0)),
            "missing": int(v.get("n_missing", 0)),
            "distinct": int(v.get("n_distinct", 0)),
            "mean": v.get("mean"),
            "sd": v.get("std"),
            **{f"p{int(q * 100):02d}": v.get(f"{int(q * 100)}%") for q in (0.05, 0.25, 0.5)},
            **{f"p{int(q * 100):02d}": v.get(f"{int(q * 100)}%") for q in (0.75, 0.95)},
        }
    return {"tool": "ydata-profiling (minimal)", "seconds": took, "rows": len(df), "columns": cols}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def compare(a_path: str, b_path: str) -> None:
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    worst: dict[str, float] = {}
    for name, ca in a["columns"].items():
        cb = b["columns"].get(name, {})
        for k, va in ca.items():
            x, y = _num(va), _num(cb.get(k))
            if x is None or y is None:
                continue
            rel = abs(x - y) / max(abs(x), abs(y), 1e-12)
            worst[k] = max(worst.get(k, 0.0), rel)
    print(f"{a['tool']}: {a['seconds']:.2f} s; {b['tool']}: {b['seconds']:.2f} s")
    print(f"speed-up: {b['seconds'] / a['seconds']:.1f}×")
    if a.get("seconds_full") is not None:
        print(f"civicml full mode: {a['seconds_full']:.2f} s ({a['full']})")
    print("largest relative difference per statistic:", {k: f"{v:.2g}" for k, v in worst.items()})


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    elif "--ydata" in sys.argv:
        print(json.dumps(ydata_stats(sys.argv[1])))
    else:
        print(json.dumps(civicml_stats(sys.argv[1])))
