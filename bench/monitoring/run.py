"""Benchmark: civicml drift report vs Evidently 0.7 DataDriftPreset on 1M rows x 20 columns.

Generates the data (make_data.py), runs civicml (this interpreter, the project's .venv) and
Evidently (bench/monitoring/.venv-evidently) each in its own process with one thread, then
compares per-column stattests, scores (to 4 decimals) and verdicts, time and peak memory.

Usage (from the repository root):
    OMP_NUM_THREADS=1 .venv/bin/python bench/monitoring/run.py [--rows 1000000] [--skip-evidently]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the columns a bundle would keep as sketches only in the "private" run: three numeric (two
#: continuous: quantile sketch; one integer with ~500 values: quantile sketch), a categorical
#: and two binary, covering the drifted and the stable ones
PRIVATE = (
    "num_05=personal,num_06=personal,num_11=personal,num_00=special,"
    "cat_region=special,cat_tenure=protected,bin_flag=protected,bin_yesno=protected"
)
EVIDENTLY_PY = HERE / ".venv-evidently" / "bin" / "python"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, env=ENV, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(ours: dict, theirs: dict) -> dict:
    """Per-column agreement of stattest, score (|diff| < 5e-5, i.e. equal to 4 decimals) and verdict."""
    rows = []
    for column, ev in theirs["columns"].items():
        cm = ours["columns"][column]
        diff = abs(cm["score"] - ev["score"])
        rows.append(
            {
                "column": column,
                "stattest": ev["stattest_name"],
                "same_test": cm["stattest_name"] == ev["stattest_name"],
                "evidently": ev["score"],
                "civicml": cm["score"],
                "abs_diff": diff,
                "same_score_4dp": diff < 5e-5,
                "evidently_drift": ev["drifted"],
                "civicml_drift": cm["drifted"],
                "same_verdict": cm["drifted"] == ev["drifted"],
            }
        )
    return {
        "columns": rows,
        "all_same_test": all(r["same_test"] for r in rows),
        "all_same_score_4dp": all(r["same_score_4dp"] for r in rows),
        "all_same_verdict": all(r["same_verdict"] for r in rows),
        "max_abs_diff": max(r["abs_diff"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "drift.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="civicml-drift-bench-") as tmp:
        subprocess.run(
            [sys.executable, str(HERE / "make_data.py"), tmp, "--rows", str(args.rows)],
            check=True,
            env=ENV,
        )
        civic = _run([sys.executable, str(HERE / "run_civicml.py"), tmp])
        civic_sampled = _run(
            [sys.executable, str(HERE / "run_civicml.py"), tmp, "--sample-size", "100000"]
        )
        civic_private = _run(
            [sys.executable, str(HERE / "run_civicml.py"), tmp, "--private", PRIVATE]
        )
        evid = None
        if not args.skip_evidently:
            if not EVIDENTLY_PY.exists():
                sys.exit(f"{EVIDENTLY_PY} is missing: see bench/monitoring/README.md to create it.")
            evid = _run([str(EVIDENTLY_PY), str(HERE / "run_evidently.py"), tmp])
    result: dict = {
        "rows": args.rows,
        "columns": 20,
        "civicml": civic,
        "civicml_sampled": civic_sampled,
        "civicml_private": civic_private,
        "private_vs_rows": compare(civic_private, civic),
    }
    if evid is not None:
        result["agreement_private"] = compare(civic_private, evid)
        result["evidently"] = evid
        result["agreement"] = compare(civic, evid)
        result["agreement_sampled"] = compare(civic_sampled, evid)
        result["speedup"] = evid["seconds"] / civic["seconds"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"rows={args.rows:,} x 20 columns (reference and current frames each)")
    print(
        f"civicml   fit+detect {civic['seconds']:.2f}s best of {civic['repeats']} "
        f"(median {civic['seconds_median']:.2f}s; fit {civic['fit_seconds']:.2f}s, "
        f"detect {civic['detect_seconds']:.2f}s), peak RSS {civic['peak_rss_mib']:.0f} MiB"
    )
    same = result["private_vs_rows"]
    print(
        f"civicml, private columns as sketches (the bundle format): fit+detect "
        f"{civic_private['seconds']:.2f}s best of {civic_private['repeats']} (median "
        f"{civic_private['seconds_median']:.2f}s; sketch+fit {civic_private['fit_seconds']:.2f}s, "
        f"detect {civic_private['detect_seconds']:.2f}s); against raw rows: same tests "
        f"{same['all_same_test']}, same scores to 4 dp {same['all_same_score_4dp']} (max |diff| "
        f"{same['max_abs_diff']:.2e}), same verdicts {same['all_same_verdict']}; "
        f"round trip {civic_private['round_trip']}"
    )
    print("| private column | test | raw rows | sketch | drift (rows / sketch) |")
    print("|---|---|---:|---:|---|")
    for r in same["columns"]:
        if r["column"] in civic_private["private"]:
            print(
                f"| {r['column']} | {r['stattest']} | {r['evidently']:.6f} | {r['civicml']:.6f} | "
                f"{'yes' if r['evidently_drift'] else 'no'} / {'yes' if r['civicml_drift'] else 'no'} |"
            )
    print(
        f"1-min load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} (2 cores, shared)"
    )
    if evid is not None:
        agree = result["agreement"]
        print(
            f"evidently {evid['seconds']:.2f}s, peak RSS {evid['peak_rss_mib']:.0f} MiB; "
            f"speed-up {result['speedup']:.1f}x"
        )
        print(
            f"same tests: {agree['all_same_test']}, same scores to 4 dp: {agree['all_same_score_4dp']} "
            f"(max |diff| {agree['max_abs_diff']:.2e}), same verdicts: {agree['all_same_verdict']}"
        )
        sampled = result["agreement_sampled"]
        print(
            f"civicml with a 100k-row reference sample: {civic_sampled['seconds']:.2f}s; same verdicts: "
            f"{sampled['all_same_verdict']}, max |diff| {sampled['max_abs_diff']:.2e}"
        )
        print("| column | test | Evidently | civicml | drift (E / c) |")
        print("|---|---|---:|---:|---|")
        for r in agree["columns"]:
            print(
                f"| {r['column']} | {r['stattest']} | {r['evidently']:.4f} | {r['civicml']:.4f} | "
                f"{'yes' if r['evidently_drift'] else 'no'} / {'yes' if r['civicml_drift'] else 'no'} |"
            )


if __name__ == "__main__":
    main()
