"""A decision log larger than memory: how many of the period's decisions the monitors saw.

:func:`civicml.serve.read_decision_log` reads the log through DuckDB for ``civicml monitor``:
the period and the model version are filtered in SQL and, above :data:`LOG_SAMPLE_ROWS` rows,
a reproducible uniform sample is drawn. The frame's ``attrs["decision_log"]`` keeps the true
counts; :func:`log_sample` turns them into what the report says.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"time": []})
>>> frame.attrs["decision_log"] = {"rows_in_period": 12_000_000, "rows": 10_000_000,
...     "rows_read": 1_000_000, "sampled": True, "method": "uniform random sample", "seed": 0}
>>> found = log_sample(frame, max_rows=1_000_000)
>>> found["rows"], found["rows_monitored"]
(10000000, 1000000)
>>> print(found["note"])
Drift and fairness were computed on a uniform sample of 1,000,000 of 10,000,000 decisions in the period (drawn by DuckDB, seed 0); so were performance and override rates, and their counts are the sample's.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOG_SAMPLE_ROWS", "log_sample"]

#: The most decisions of a period the monitors read; above it, a uniform sample of this many.
LOG_SAMPLE_ROWS = 1_000_000


def log_sample(frame: Any, *, max_rows: int | None = None) -> dict[str, Any] | None:
    """What the monitors saw of the period: ``rows`` (this model's decisions in the period,
    the true total), ``rows_in_period`` (every model's), ``rows_monitored``, ``sampled``,
    ``method``, ``seed``, ``max_rows`` and ``note`` (a sentence for the report when sampled,
    else ``None``); ``None`` for a frame not read through DuckDB."""
    counts = getattr(frame, "attrs", {}).get("decision_log")
    if not isinstance(counts, dict):
        return None
    rows, read = int(counts.get("rows", 0)), int(counts.get("rows_read", 0))
    sampled = bool(counts.get("sampled"))
    note = None
    if sampled:
        note = (
            f"Drift and fairness were computed on a uniform sample of {read:,} of {rows:,} "
            f"decisions in the period (drawn by DuckDB, seed {int(counts.get('seed', 0))}); "
            "so were performance and override rates, and their counts are the sample's."
        )
    return {
        "rows": rows,
        "rows_in_period": int(counts.get("rows_in_period", rows)),
        "rows_monitored": read,
        "sampled": sampled,
        "method": str(counts.get("method", "every row")),
        "seed": int(counts.get("seed", 0)),
        "max_rows": max_rows,
        "note": note,
    }
