"""Run Evidently's DataDriftPreset on the benchmark frames; print per-column results as JSON.

Runs inside bench/monitoring/.venv-evidently (Evidently 0.7 needs pandas < 3).
Usage: python run_evidently.py DATA_DIR
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

_NAME = re.compile(
    r"ValueDrift\(column=(?P<col>[^,]+),method=(?P<method>[^,]+),threshold=(?P<thr>[^)]+)\)"
)


def main() -> None:
    data = Path(sys.argv[1])
    reference = pd.read_parquet(data / "reference.parquet")
    current = pd.read_parquet(data / "current.parquet")
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    result = snapshot.dict()
    seconds = time.perf_counter() - start
    columns = {}
    dataset = {}
    for metric in result["metrics"]:
        match = _NAME.match(metric["metric_name"])
        if match:
            columns[match["col"]] = {
                "stattest_name": match["method"],
                "threshold": float(match["thr"]),
                "score": float(metric["value"]),
            }
        elif metric["metric_name"].startswith("DriftedColumnsCount"):
            dataset = metric["value"]
    # DataDriftPreset's ValueDrift results carry the score only; apply each stattest's own rule
    # (ks: p <= threshold; chi-square, Z: p < threshold; distances: score >= threshold).
    for entry in columns.values():
        name, score, thr = entry["stattest_name"], entry["score"], entry["threshold"]
        if name == "K-S p_value":
            entry["drifted"] = bool(score <= thr)
        elif name.endswith("p_value"):
            entry["drifted"] = bool(score < thr)
        else:
            entry["drifted"] = bool(score >= thr)
    print(
        json.dumps(
            {
                "tool": "evidently",
                "seconds": seconds,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "dataset": dataset,
                "columns": columns,
            }
        )
    )


if __name__ == "__main__":
    main()
