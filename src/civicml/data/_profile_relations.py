"""The profile's full mode: how columns relate, computed through DuckDB (aggregates only).

* **Missingness pattern**: which columns are missing together. The most common patterns of
  missing and present values (a pattern seen in fewer than ``min_cell`` rows is counted, not
  shown), and for each pair of columns with gaps the rows where both are missing.
* **Correlations** of numeric pairs: Pearson (``corr``) and Spearman (Pearson on each column's
  average ranks; a column is ranked over its own non-missing values, then pairs use the rows
  where both are present). Ranking sorts each column, so above :data:`RANK_ROWS` rows Spearman
  is computed on a reproducible random sample of that many rows (stated in the output).
* **Associations**: Cramér's V (no bias correction) for categorical pairs, on the shown
  categories with the rest as "other"; the correlation ratio η for numeric–categorical pairs.

At most :data:`MAX_COLUMNS` numeric and :data:`MAX_COLUMNS` categorical columns take part (the
first in the file's order); the columns left out are listed. Columns whose values are never
shown (free text, identifiers, personal data) take no part.

Examples
--------
>>> cramers_v([[10, 0], [0, 10]]), cramers_v([[5, 5], [5, 5]])
(1.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from civicml.data._profile_sql import finite, group_expr, quote_name

__all__ = ["MAX_COLUMNS", "MAX_MISSING_COLUMNS", "RANK_ROWS", "cramers_v", "relations"]

#: Most numeric (and, separately, categorical) columns compared pairwise.
MAX_COLUMNS = 20
#: Most columns with gaps whose missingness pattern is reported.
MAX_MISSING_COLUMNS = 30
#: Most rows ranked for Spearman's correlation (a larger file is sampled, reproducibly).
RANK_ROWS = 100_000
_PATTERNS = 10  # most missingness patterns shown


def relations(
    con: Any,
    scan: str,
    columns: list[dict[str, Any]],
    rows: int,
    *,
    min_cell: int,
    max_columns: int = MAX_COLUMNS,
) -> dict[str, Any]:
    """Missingness pattern, correlations and associations of the profiled ``columns``."""
    numeric = [
        c
        for c in columns
        if c["role"] == "numeric"
        and not c["values_hidden"]
        and c["distinct"] > 1
        and (c.get("numeric") or {}).get("sd")
    ]
    categorical = [
        c
        for c in columns
        if c["role"] == "categorical" and not c["values_hidden"] and c["distinct"] > 1
    ]
    num, cat = numeric[:max_columns], categorical[:max_columns]
    return {
        "missing_patterns": missing_patterns(con, scan, columns, rows, min_cell=min_cell),
        "correlations": {
            "columns": [c["name"] for c in num],
            "left_out": [c["name"] for c in numeric[max_columns:]],
            "limit": max_columns,
            "pairs": _correlations(con, scan, [c["name"] for c in num], rows),
            "method": "Pearson; Spearman is Pearson on average ranks (ties share a rank)"
            + (f", on a random sample of {RANK_ROWS:,} rows" if rows > RANK_ROWS else ""),
            "spearman_rows": min(rows, RANK_ROWS),
        },
        "associations": {
            "columns": [c["name"] for c in cat],
            "left_out": [c["name"] for c in categorical[max_columns:]],
            "limit": max_columns,
            "cramers_v": _cramers(con, scan, cat),
            "correlation_ratio": _ratios(con, scan, num, cat),
            "method": (
                "Cramér's V (no bias correction) on the shown categories, the rest as "
                "'(other)'; correlation ratio η of each numeric column by category"
            ),
        },
    }


def missing_patterns(
    con: Any, scan: str, columns: list[dict[str, Any]], rows: int, *, min_cell: int
) -> dict[str, Any]:
    """The most common missing/present patterns and pairwise co-missingness."""
    gaps = [c["name"] for c in columns if c["missing"]]
    names = gaps[:MAX_MISSING_COLUMNS]
    out: dict[str, Any] = {
        "columns": names,
        "left_out": gaps[MAX_MISSING_COLUMNS:],
        "patterns": [],
        "other_count": 0,
        "co_missing": [],
    }
    if not names or not rows:
        return out
    flags = [f"{quote_name(n)} IS NULL AS m{i}" for i, n in enumerate(names)]
    keys = ", ".join(f"m{i}" for i in range(len(names)))
    found = con.execute(
        f"SELECT {keys}, count(*) AS n FROM (SELECT {', '.join(flags)} FROM {scan}) "
        f"GROUP BY ALL HAVING count(*) >= ? ORDER BY n DESC, {keys} LIMIT ?",
        [min_cell, _PATTERNS],
    ).fetchall()
    for r in found:
        n = int(r[-1])
        missing = [names[i] for i, flag in enumerate(r[:-1]) if flag]
        out["patterns"].append({"missing": missing, "count": n, "share": round(n / rows, 6)})
    out["other_count"] = rows - sum(p["count"] for p in out["patterns"])
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    if pairs:
        parts = [
            f"count(*) FILTER ({quote_name(a)} IS NULL AND {quote_name(b)} IS NULL)"
            for a, b in pairs
        ]
        both = con.execute(f"SELECT {', '.join(parts)} FROM {scan}").fetchone()
        miss = {c["name"]: c["missing"] for c in columns}
        for (a, b), n in zip(pairs, both, strict=True):
            n = int(n)
            either = miss[a] + miss[b] - n
            out["co_missing"].append(
                {
                    "a": a,
                    "b": b,
                    "both": n if n == 0 or n >= min_cell else None,
                    "jaccard": round(n / either, 6) if either and n >= min_cell else None,
                }
            )
        out["co_missing"].sort(key=lambda p: -(p["both"] or 0))
    return out


def _correlations(con: Any, scan: str, names: Sequence[str], rows: int) -> list[dict[str, Any]]:
    """Pearson on every row, in DuckDB; Spearman on every row up to :data:`RANK_ROWS`, else on
    a reproducible random sample of that many (ranking is a sort per column)."""
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    if not pairs:
        return []
    x = [f"{quote_name(n)}::DOUBLE" for n in names]
    pearson = con.execute(
        "SELECT "
        + ", ".join(f"corr({x[i]}, {x[j]}), count({x[i]} + {x[j]})" for i, j in pairs)
        + f" FROM {scan}"
    ).fetchone()
    sampled = (
        "" if rows <= RANK_ROWS else f" USING SAMPLE reservoir({RANK_ROWS} ROWS) REPEATABLE (0)"
    )
    values = con.execute(
        "SELECT " + ", ".join(f"{v} AS c{i}" for i, v in enumerate(x)) + f" FROM {scan}{sampled}"
    ).df()
    # each column's average ranks over its own values (NaN stays missing), then Pearson on
    # the rows where both are present: a bounded sample, so ranking it in memory is cheap
    rho = values.rank(method="average").corr(method="pearson").to_numpy()
    spearman = [rho[i, j] for i, j in pairs]
    out = [
        {
            "a": names[i],
            "b": names[j],
            "pearson": _round(pearson[2 * k]),
            "spearman": _round(spearman[k]),
            "n": int(pearson[2 * k + 1]),
        }
        for k, (i, j) in enumerate(pairs)
    ]
    return sorted(out, key=lambda p: -abs(p["spearman"] or p["pearson"] or 0.0))


def _round(v: Any) -> float | None:
    f = finite(v)
    return None if f is None else round(f, 6)


def cramers_v(table: Sequence[Sequence[float]]) -> float | None:
    """Cramér's V of a contingency table (rows × columns of counts); None when undefined.

    >>> round(cramers_v([[30, 10], [10, 30]]), 3)
    0.5
    """
    kept = [r for r in table if sum(r)]
    cols = [j for j in range(len(kept[0]) if kept else 0) if sum(r[j] for r in kept)]
    kept = [[r[j] for j in cols] for r in kept]
    n = sum(sum(r) for r in kept)
    k = min(len(kept), len(cols))
    if k < 2 or not n:
        return None
    row_sum = [sum(r) for r in kept]
    col_sum = [sum(r[j] for r in kept) for j in range(len(cols))]
    chi2 = sum(
        (kept[i][j] - row_sum[i] * col_sum[j] / n) ** 2 / (row_sum[i] * col_sum[j] / n)
        for i in range(len(kept))
        for j in range(len(cols))
    )
    return round(min(1.0, math.sqrt(chi2 / (n * (k - 1)))), 6)


def _grouped(cat: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """The categorical columns that can be grouped, and a select list naming their groups
    ``civicml_c0``, ``civicml_c1``, ... (names no file column can clash with)."""
    kept = [c for c in cat if group_expr(c) is not None]
    return kept, ", ".join(f"{group_expr(c)} AS civicml_c{i}" for i, c in enumerate(kept))


def _cramers(con: Any, scan: str, cat: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pair's contingency table in one scan (``GROUPING SETS``)."""
    kept, select = _grouped(cat)
    k = len(kept)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if not pairs:
        return []
    keys = [f"civicml_c{i}" for i in range(k)]
    sets = ", ".join(f"({keys[i]}, {keys[j]})" for i, j in pairs)
    found = con.execute(
        f"SELECT {', '.join(keys)}, grouping({', '.join(keys)}), count(*) "
        f"FROM (SELECT {select} FROM {scan}) GROUP BY GROUPING SETS ({sets})"
    ).fetchall()
    cells: dict[tuple[int, int], list[tuple[str, str, int]]] = {p: [] for p in pairs}
    for r in found:
        gid = int(r[k])
        pair = tuple(i for i in range(k) if not gid >> (k - 1 - i) & 1)
        if len(pair) == 2 and r[pair[0]] is not None and r[pair[1]] is not None:
            cells[(pair[0], pair[1])].append((str(r[pair[0]]), str(r[pair[1]]), int(r[-1])))
    out = []
    for (i, j), got in cells.items():
        xs = sorted({x for x, _, _ in got})
        ys = sorted({y for _, y, _ in got})
        table = [[0] * len(ys) for _ in xs]
        for x, y, n in got:
            table[xs.index(x)][ys.index(y)] = n
        value = cramers_v(table)
        n_all = sum(n for *_, n in got)
        out.append({"a": kept[i]["name"], "b": kept[j]["name"], "value": value, "n": n_all})
    return sorted(out, key=lambda p: -(p["value"] or 0.0))


def _ratios(
    con: Any, scan: str, num: list[dict[str, Any]], cat: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """η = sqrt(between-group sum of squares / total), from each group's count, sum and sum
    of squares, for every numeric–categorical pair in one scan (``GROUPING SETS``)."""
    kept, select = _grouped(cat)
    if not num or not kept:
        return []
    k = len(kept)
    keys = [f"civicml_c{i}" for i in range(k)]
    x = [f"civicml_x{i}" for i in range(len(num))]
    values = ", ".join(
        f"{quote_name(c['name'])}::DOUBLE AS {v}" for c, v in zip(num, x, strict=True)
    )
    aggs = ", ".join(f"count({v}), sum({v}), sum({v} * {v})" for v in x)
    found = con.execute(
        f"SELECT {', '.join(keys)}, grouping({', '.join(keys)}), {aggs} "
        f"FROM (SELECT {select}, {values} FROM {scan}) "
        f"GROUP BY GROUPING SETS ({', '.join(f'({key})' for key in keys)})"
    ).fetchall()
    by_cat: dict[int, list[Any]] = {i: [] for i in range(k)}
    for r in found:
        gid = int(r[k])
        i = next(i for i in range(k) if not gid >> (k - 1 - i) & 1)
        if r[i] is not None:
            by_cat[i].append(r[k + 1 :])
    out: list[dict[str, Any]] = []
    for i, c in enumerate(kept):
        for m, f in enumerate(num):
            eta, n = _eta([(int(g[3 * m]), g[3 * m + 1], g[3 * m + 2]) for g in by_cat[i]])
            if eta is not None or n >= 2:
                out.append({"numeric": f["name"], "categorical": c["name"], "value": eta, "n": n})
    return sorted(out, key=lambda p: -(p["value"] or 0.0))


def _eta(groups: list[tuple[int, Any, Any]]) -> tuple[float | None, int]:
    """The correlation ratio from ``(count, sum, sum of squares)`` per group, and the rows.

    >>> _eta([(2, 2.0, 2.0), (2, 6.0, 18.0)])
    (1.0, 4)
    """
    kept = [(n, float(s), float(q)) for n, s, q in groups if n]
    n = sum(g[0] for g in kept)
    if n < 2 or len(kept) < 2:
        return None, n
    grand = sum(g[1] for g in kept)
    total = sum(g[2] for g in kept) - grand * grand / n
    between = sum(s * s / m for m, s, _ in kept) - grand * grand / n
    if total <= 0:
        return None, n
    return _round(math.sqrt(max(0.0, min(1.0, between / total)))), n
