"""Run civicml's DriftDetector on the benchmark frames; print per-column results as JSON.

Runs in the project's own .venv (pandas 3). Fit + detect is timed ``--repeat`` times (the
machine is shared: the fastest run is the least disturbed one; the median is reported too).
With ``--private COL=REASON,...`` the reference is kept the way a bundle now keeps it: those
columns as sketches only (``civicml.monitor.private_sketches``; value counts or a quantile
sketch, category shares), the rest as rows. The timed run sketches, profiles and detects; the
profile is also saved and loaded once (``reference.parquet`` + ``reference.json``) and its
report must equal the in-memory one.

Usage: python run_civicml.py DATA_DIR [--sample-size N] [--repeat 5] [--private COL=REASON,...]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from civicml.monitor import DriftDetector, private_sketches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument(
        "--sample-size", type=int, default=None, help="reference rows kept (default all)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the fastest is reported")
    parser.add_argument(
        "--private", default="", help="COL=REASON,... kept as sketches only (the bundle format)"
    )
    args = parser.parse_args()
    reference = pd.read_parquet(args.data / "reference.parquet")
    current = pd.read_parquet(args.data / "current.parquet")
    private = dict(item.split("=", 1) for item in args.private.split(",") if item)
    totals, fits, detects = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        public, sketches = private_sketches(reference, private) if private else (reference, {})
        detector = DriftDetector(
            sample_size=args.sample_size, prediction_columns=(), columns=list(reference.columns)
        ).fit(public, sketches=sketches)
        fitted = time.perf_counter()
        report = detector.detect(current)
        done = time.perf_counter()
        totals.append(done - start)
        fits.append(fitted - start)
        detects.append(done - fitted)
    round_trip = None
    if private:
        with tempfile.TemporaryDirectory() as tmp:
            detector.save(tmp)
            kept = pd.read_parquet(Path(tmp) / "reference.parquet").columns
            loaded = DriftDetector.load(tmp).detect(current)
        round_trip = {
            "private_columns_in_parquet": sorted(set(kept) & set(private)),
            "same_report_after_load": [c.to_dict() for c in loaded.columns]
            == [c.to_dict() for c in report.columns],
        }
    columns = {
        c.column: {
            "stattest_name": c.stattest_name,
            "threshold": c.threshold,
            "score": c.score,
            "drifted": c.drifted,
            "psi": c.psi,
            "kind": c.kind,
        }
        for c in report.columns
    }
    print(
        json.dumps(
            {
                "tool": "civicml",
                "seconds": min(totals),
                "seconds_median": statistics.median(totals),
                "fit_seconds": min(fits),
                "detect_seconds": min(detects),
                "repeats": args.repeat,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "dataset": {"count": report.n_drifted, "share": report.share_drifted},
                "columns": columns,
                "private": private,
                "round_trip": round_trip,
            }
        )
    )


if __name__ == "__main__":
    main()
