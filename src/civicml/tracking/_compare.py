"""Comparing two runs: parameters, metrics, code and packages, and their data.

:func:`diff_data` compares the data versions two runs recorded: content hash, row counts,
schema (columns added, removed, retyped) and per-column distribution shift — the standardised
mean difference for numeric columns and the total variation distance between the shares of the
most common values for the others.
"""

from __future__ import annotations

from typing import Any

from civicml.data import DataVersion
from civicml.tracking._records import Run, flatten

__all__ = [
    "NUMERIC_SHIFT",
    "CATEGORY_SHIFT",
    "NULL_SHIFT",
    "compare_runs",
    "diff_data",
    "diff_versions",
]

#: A numeric column is flagged when its mean moves by more than this many standard deviations.
NUMERIC_SHIFT = 0.2
#: A categorical column is flagged when its value shares move by more than this (TVD).
CATEGORY_SHIFT = 0.1
#: Any column is flagged when its share of missing values moves by more than this.
NULL_SHIFT = 0.05


def _column_shift(pa: dict[str, Any] | None, pb: dict[str, Any] | None) -> dict[str, Any]:
    pa, pb = pa or {}, pb or {}
    kind = pb.get("kind") or pa.get("kind")
    out: dict[str, Any] = {
        "kind": kind,
        "null_share": [pa.get("null_share"), pb.get("null_share")],
    }
    shift = None
    if kind == "numeric" and pa.get("kind") == pb.get("kind"):
        ma, mb, sa = pa.get("mean"), pb.get("mean"), pa.get("sd")
        out["mean"] = [ma, mb]
        if ma is not None and mb is not None:
            scale = sa if sa else (pb.get("sd") or 0.0)
            shift = abs(mb - ma) / scale if scale else (0.0 if ma == mb else float("inf"))
        out["measure"] = "standardised mean difference"
        flagged = shift is not None and shift > NUMERIC_SHIFT
    elif kind == "categorical" and pa.get("kind") == pb.get("kind"):
        ta, tb = pa.get("top") or {}, pb.get("top") or {}
        keys = set(ta) | set(tb)
        shift = 0.5 * sum(abs(ta.get(k, 0.0) - tb.get(k, 0.0)) for k in keys)
        moved = sorted(keys, key=lambda k: -abs(ta.get(k, 0.0) - tb.get(k, 0.0)))[:3]
        out["top_changes"] = {k: [ta.get(k, 0.0), tb.get(k, 0.0)] for k in moved}
        out["measure"] = "total variation distance"
        flagged = shift > CATEGORY_SHIFT
    else:
        out["measure"] = "kind changed"
        flagged = True
    na, nb = out["null_share"]
    if na is not None and nb is not None and abs(nb - na) > NULL_SHIFT:
        flagged = True
    out["shift"] = None if shift is None else round(shift, 4)
    out["flagged"] = bool(flagged)
    return out


def diff_versions(a: DataVersion | None, b: DataVersion | None) -> dict[str, Any]:
    """Compare two fingerprints of the same table.

    Examples
    --------
    >>> import pandas as pd
    >>> from civicml.data import fingerprint
    >>> a = fingerprint(pd.DataFrame({"x": [1.0, 2, 3, 4], "c": list("aabb")}), "t")
    >>> b = fingerprint(pd.DataFrame({"x": [3.0, 4, 5, 6], "d": list("abcd")}), "t")
    >>> d = diff_versions(a, b)
    >>> d["rows"], d["schema"]["added"], d["schema"]["removed"], d["columns"]["x"]["flagged"]
    ([4, 4, 0], ['d'], ['c'], True)
    """
    if a is None or b is None:
        present = a or b
        assert present is not None
        return {
            "name": present.name,
            "role": present.role,
            "only_in": "b" if a is None else "a",
            "rows": [a.rows if a else None, b.rows if b else None, None],
        }
    added = [c for c in b.schema if c not in a.schema]
    removed = [c for c in a.schema if c not in b.schema]
    retyped = {
        c: [a.schema[c], b.schema[c]]
        for c in a.schema
        if c in b.schema and a.schema[c] != b.schema[c]
    }
    columns = {
        c: _column_shift(a.profile.get(c), b.profile.get(c)) for c in a.schema if c in b.schema
    }
    return {
        "name": b.name,
        "role": b.role,
        "same_content": a.sha256 == b.sha256,
        "sha256": [a.sha256, b.sha256],
        "rows": [a.rows, b.rows, b.rows - a.rows],
        "schema": {"added": added, "removed": removed, "retyped": retyped},
        "columns": columns,
        "flagged": sorted(c for c, d in columns.items() if d["flagged"]),
    }


def diff_data(a: Run, b: Run) -> dict[str, Any]:
    """Compare every data version two runs recorded (sources by name, then the table)."""
    va = {(v.role, v.name): v for v in a.data_versions}
    vb = {(v.role, v.name): v for v in b.data_versions}
    keys = list(dict.fromkeys([*va, *vb]))
    keys.sort(key=lambda k: (k[0] == "table", k[1]))
    return {
        "runs": [a.id, b.id],
        "tables": [diff_versions(va.get(k), vb.get(k)) for k in keys],
    }


def compare_runs(a: Run, b: Run) -> dict[str, Any]:
    """Side by side: status, code, packages, parameters, metrics and the data diff.

    Returns a JSON-ready mapping with ``params`` and ``packages`` (only what changed),
    ``metrics`` (every metric with ``[a, b, b - a]``) and ``data`` (:func:`diff_data`).
    """
    pa, pb = flatten(a.params), flatten(b.params)
    params = {
        k: [pa.get(k), pb.get(k)] for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)
    }
    packages = {
        k: [a.packages.get(k), b.packages.get(k)]
        for k in sorted(set(a.packages) | set(b.packages))
        if a.packages.get(k) != b.packages.get(k)
    }
    metrics: dict[str, list[Any]] = {}
    for k in sorted(set(a.metrics) | set(b.metrics)):
        x, y = a.metrics.get(k), b.metrics.get(k)
        delta = y - x if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None
        metrics[k] = [x, y, None if delta is None else round(delta, 6)]
    summary = {
        key: [getattr(a, key), getattr(b, key)]
        for key in (
            "id",
            "project",
            "kind",
            "status",
            "started_at",
            "seconds",
            "git_commit",
            "bundle_digest",
            "error",
        )
    }
    return {
        "runs": summary,
        "params": params,
        "packages": packages,
        "metrics": metrics,
        "timings": {
            k: [a.timings.get(k), b.timings.get(k)] for k in sorted(set(a.timings) | set(b.timings))
        },
        "data": diff_data(a, b),
    }
