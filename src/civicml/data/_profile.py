"""A data profile computed through DuckDB: the statistics behind a dataset card.

:func:`profile_data` scans a CSV or Parquet file (or a folder or glob of them) in a sandboxed
DuckDB connection (see :mod:`civicml.data._sandbox`), so a file larger than memory works: only
aggregates come back. Per column it reports the count, missing values, distinct values and a
role (numeric, categorical, text, date, identifier); numeric columns get the mean, standard
deviation, minimum, maximum, quantiles, a histogram and an outlier count (1.5 × IQR);
categorical columns their top categories with shares; text columns only their lengths. Given a
target, it also reports the target against each feature (rate of each class, or the mean, by
category or by bin); numeric outliers are also counted by |z| > 4, and the group
representation sets protected or special-category groups beside reference shares (see
:mod:`civicml.data._profile_groups`). The default full mode adds the missingness pattern,
correlations and associations (:mod:`civicml.data._profile_relations`); ``minimal=True`` skips
them and costs what the benchmarked statistics cost.

No raw value of free text, identifiers or personal data ever leaves this module: a column whose
sample the personal-data scan flags, a free-text column and an identifier-like column (mostly
distinct values) are profiled without values, and a category seen in fewer than
:data:`MIN_CELL` rows is never shown (it is counted under "other"), so a rare value cannot
single anyone out.

Examples
--------
>>> import shutil, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("x,g\\n1,a\\n2,a\\n3,b\\n,a\\n3,b\\n")
>>> p = profile_data(folder / "a.csv", min_cell=1)
>>> p["rows"], p["duplicate_rows"], [c["missing"] for c in p["columns"]]
(5, 1, [1, 0])
>>> p["columns"][0]["numeric"]["mean"], p["columns"][1]["categories"]["top"][0]
(2.25, {'value': 'a', 'count': 3, 'share': 0.6})
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from civicml._errors import CivicMLError, DataError
from civicml.data._contract import looks_like_id_name, looks_like_text
from civicml.data._outofcore import MEMORY_LIMIT
from civicml.data._pii import (
    is_driving_licence,
    is_email,
    is_nhs_number,
    is_nino,
    is_postcode,
    is_uk_phone,
    scan_personal_data,
)
from civicml.data._profile_groups import check_reference_shares, representation
from civicml.data._profile_relations import MAX_COLUMNS, relations
from civicml.data._profile_sql import bin_expr as _bin_expr
from civicml.data._profile_sql import finite as _finite
from civicml.data._profile_sql import group_expr as _group_expr
from civicml.data._profile_sql import literal as _lit
from civicml.data._profile_sql import quote_name as _q
from civicml.data._sandbox import sandbox
from civicml.data._special import find_special_categories

__all__ = ["MIN_CELL", "PROFILE_VERSION", "profile_data"]

#: Version of the ``profile.json`` layout.
PROFILE_VERSION = 1
#: Least number of rows a category needs to be shown by name (smaller ones count as "other").
MIN_CELL = 5

_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
_SAMPLE_ROWS = 20_000  # rows the personal-data scan and the text check read
_BINS = 10
_EXACT_DISTINCT_ROWS = 200_000  # above this, distinct counts are HyperLogLog estimates (a few %)
_FEW_VALUES = 10  # a numeric column with at most this many values is also shown by value
_CLASS_LIMIT = 20  # a target with at most this many values is a classification target
_Z_LIMIT = 4.0  # a value this many standard deviations from the mean is an outlier too


def _scan(source: Path) -> tuple[str, Path, str]:
    """The DuckDB table expression, the folder the sandbox allows, and the format."""
    text = str(source)
    if source.is_dir():
        has_parquet = any(source.rglob("*.parquet"))
        folder, text = source, str(source / "**" / ("*.parquet" if has_parquet else "*.csv"))
    else:
        cut = min((text.find(c) for c in "*?[{" if c in text), default=-1)
        folder = Path(os.path.dirname(text[:cut])) if cut >= 0 else source.parent
        if cut < 0 and not source.is_file():
            raise DataError.build(
                f"The data file {text!r} does not exist",
                fix="Check the path (a CSV or Parquet file, a folder or a glob)",
            )
    low = text.lower()
    if low.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return f"read_csv({_lit(text)})", folder, "csv"
    if low.endswith(".parquet"):
        return f"read_parquet({_lit(text)}, union_by_name=true)", folder, "parquet"
    raise DataError.build(
        f"civicml cannot profile {source.name!r}",
        expected="a .csv, .tsv, .csv.gz or .parquet file, a folder or a glob of them",
        got=source.suffix or text,
        fix="Convert the file to CSV or Parquet first",
    )


def _kind(dtype: str) -> str:
    base = dtype.split("(")[0].upper()
    if base in _NUMERIC:
        return "numeric"
    if base == "BOOLEAN":
        return "boolean"
    if base.startswith(("DATE", "TIMESTAMP", "TIME")):
        return "date"
    return "string"


def profile_data(
    source: str | Path,
    *,
    target: str | None = None,
    top: int = 10,
    min_cell: int = MIN_CELL,
    threads: int | None = None,
    minimal: bool = False,
    protected: Mapping[str, str] | None = None,
    reference_shares: Mapping[str, Mapping[str, float]] | None = None,
    max_columns: int = MAX_COLUMNS,
) -> dict[str, Any]:
    """Profile a CSV or Parquet file (or a folder or glob of them) through DuckDB.

    Parameters
    ----------
    source : str or Path
    target : str, optional
        A column to compare every other column against.
    top : int, default 10
        Most categories shown per column.
    min_cell : int, default :data:`MIN_CELL`
        Least rows a category needs to be shown by name.
    threads : int, optional
        DuckDB's worker threads (default: all cores).
    minimal : bool, default False
        Only the per-column statistics, duplicates, outliers and the target comparison; skip
        the missingness pattern, correlations and associations (the full mode's extra scans).
    protected : mapping, optional
        Protected characteristic to column (the spec's ``protected:``), for the group
        representation; a column this file lacks is listed as not in it (a spec's protected
        column may come from another source).
    reference_shares : mapping, optional
        Column to ``{group: share}`` of the population served, set beside each group's share.
    max_columns : int, default :data:`MAX_COLUMNS`
        Most numeric (and categorical) columns compared pairwise in full mode.

    Returns
    -------
    dict
        JSON-ready statistics (the content of ``profile.json``).

    Raises
    ------
    DataError
        The file is missing, of a format DuckDB cannot read, empty, lacks ``target``, or the
        reference shares name a missing column or are not shares.
    """
    start = time.perf_counter()
    path = Path(os.path.realpath(Path(source).expanduser()))
    scan, folder, fmt = _scan(path)
    folders = [Path(os.path.realpath(folder))]
    # a file larger than memory is profiled within DuckDB's cap, spilling beyond it
    with sandbox(folders, threads=threads, memory_limit=MEMORY_LIMIT) as con:
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
            rows = int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])
        except Exception as exc:  # duckdb raises IOException, InvalidInputException, ...
            raise DataError.build(
                f"DuckDB cannot read {path.name!r}",
                got=str(exc).splitlines()[0][:200],
                fix="Check the file is UTF-8 CSV or Parquet (re-save it as UTF-8 CSV if needed)",
            ) from None
        try:
            if fmt == "csv":  # parse the text once; DuckDB's columnar copy spills to disk if large
                con.execute(f"CREATE TEMP TABLE civicml_profile AS SELECT * FROM {scan}")
                scan = "civicml_profile"
            names = [str(r[0]) for r in described]
            kinds = {str(r[0]): _kind(str(r[1])) for r in described}
            if target is not None and target not in kinds:
                raise DataError.build(
                    f"The target column {target!r} is not in {path.name!r}",
                    expected=f"one of {names[:20]}",
                    got=target,
                    fix="Pass --target with one of the file's columns",
                )
            reference = check_reference_shares(reference_shares or {}, names)
            sample = _sample(con, scan, rows)
            hidden = _hidden_columns(sample, names, kinds)
            base = _base_stats(con, scan, names, kinds, exact=rows <= _EXACT_DISTINCT_ROWS)
            columns = []
            for name in names:
                col = {"name": name, "dtype": next(str(r[1]) for r in described if r[0] == name)}
                col.update(base[name])
                col.update(_role(name, kinds[name], col, sample, hidden))
                col.update(_detail(con, scan, col, rows, top, min_cell))
                columns.append(col)
            dups = _duplicates(con, scan, names, rows)
            missing_rows = _rows_with_missing(con, scan, names)
            by_target = _target(con, scan, columns, target, min_cell) if target else None
            more = (
                {}
                if minimal
                else relations(con, scan, columns, rows, min_cell=min_cell, max_columns=max_columns)
            )
        except CivicMLError:
            raise
        except Exception as exc:  # duckdb: a query that could not finish within the cap
            raise DataError.build(
                f"The profile of {path.name!r} could not be computed",
                got=str(exc).splitlines()[0][:200],
                fix="Profile a sample of the file, or raise DuckDB's memory cap",
            ) from None
    return {
        "profile_version": PROFILE_VERSION,
        "source": _source_info(path, fmt),
        "engine": "duckdb",
        "distinct_method": "exact" if rows <= _EXACT_DISTINCT_ROWS else "approximate (HyperLogLog)",
        "quantile_method": "exact" if rows <= _EXACT_DISTINCT_ROWS else "approximate (t-digest)",
        "rows": rows,
        "n_columns": len(names),
        "mode": "minimal" if minimal else "full",
        "duplicate_rows": dups,
        "duplicate_share": round(dups / rows, 6) if rows else 0.0,
        "rows_with_missing": missing_rows,
        "min_cell": min_cell,
        "columns": columns,
        "personal_data": hidden["findings"],
        "special_category": hidden["special"],
        "personal_scan_rows": len(sample),
        "target": by_target,
        "representation": representation(
            columns, hidden["special"], protected, reference, min_cell=min_cell
        ),
        **more,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _source_info(path: Path, fmt: str) -> dict[str, Any]:
    from civicml.data._hashing import file_sha256

    info: dict[str, Any] = {"name": path.name, "format": fmt}
    if path.is_file():
        info["bytes"] = path.stat().st_size
        info["sha256"] = file_sha256(path)
    return info


def _sample(con: Any, scan: str, rows: int) -> pd.DataFrame:
    """A reproducible sample for the personal-data scan and the free-text check."""
    if rows <= _SAMPLE_ROWS:
        return con.execute(f"SELECT * FROM {scan}").df()
    return con.execute(
        f"SELECT * FROM {scan} USING SAMPLE reservoir({_SAMPLE_ROWS} ROWS) REPEATABLE (0)"
    ).df()


def _hidden_columns(sample: pd.DataFrame, names: Sequence[str], kinds: dict[str, str]) -> dict:
    """Columns whose values are never shown, with the personal-data and special findings."""
    strings = [n for n in names if kinds[n] in ("string", "numeric")]
    found = scan_personal_data(sample[strings]) if strings else []
    special = find_special_categories(sample)
    return {
        "personal": {f.column: f.label for f in found},
        "findings": [
            {k: v for k, v in f.to_dict().items() if k in ("column", "kind", "label", "share")}
            for f in found
        ],
        "special": [
            {"column": s.column, "category": s.category, "label": s.label} for s in special
        ],
    }


def _base_stats(
    con: Any, scan: str, names: Sequence[str], kinds: dict[str, str], *, exact: bool
) -> dict:
    """Count, missing and distinct of every column; moments and quantiles of numeric ones;
    lengths of string ones, in one scan."""
    parts: list[str] = []
    qs = "[" + ", ".join(str(q) for q in _QUANTILES) + "]"
    for i, n in enumerate(names):
        c = _q(n)
        distinct = f"count(DISTINCT {c})" if exact else f"approx_count_distinct({c})"
        # exact quantiles hold every value in memory (DuckDB cannot spill them); a large
        # table gets t-digest estimates, stated as ``quantile_method``
        quantile = "quantile_cont" if exact else "approx_quantile"
        parts += [f"count({c}) AS n{i}", f"{distinct} AS d{i}"]
        if kinds[n] == "numeric":
            x = f"{c}::DOUBLE"
            parts += [
                f"avg({x}) AS m{i}",
                f"stddev_samp({x}) AS s{i}",
                f"min({x}) AS lo{i}",
                f"max({x}) AS hi{i}",
                f"{quantile}({x}, {qs}) AS q{i}",
                f"count(*) FILTER ({c} = 0) AS z{i}",
            ]
        elif kinds[n] == "string":
            ln = f"length({c})"
            parts += [f"min({ln}) AS lo{i}", f"avg({ln}) AS m{i}", f"max({ln}) AS hi{i}"]
        elif kinds[n] == "date":
            parts += [f"min({c})::VARCHAR AS lo{i}", f"max({c})::VARCHAR AS hi{i}"]
    cur = con.execute(f"SELECT count(*) AS total, {', '.join(parts)} FROM {scan}")
    row = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    total = int(row["total"])
    out: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(names):
        count = int(row[f"n{i}"])
        stats: dict[str, Any] = {
            "count": count,
            "missing": total - count,
            "missing_share": round((total - count) / total, 6) if total else 0.0,
            "distinct": min(int(row[f"d{i}"]), count),
        }
        if kinds[n] == "numeric":
            stats["numeric"] = {
                "mean": _finite(row[f"m{i}"]),
                "sd": _finite(row[f"s{i}"]),
                "min": _finite(row[f"lo{i}"]),
                "max": _finite(row[f"hi{i}"]),
                "quantiles": {
                    f"p{round(q * 100):02d}": _finite(v)
                    for q, v in zip(_QUANTILES, row[f"q{i}"] or [None] * 7, strict=True)
                },
                "zeros": int(row[f"z{i}"]),
            }
        elif kinds[n] == "string":
            stats["length"] = {
                "min": row[f"lo{i}"],
                "mean": _finite(row[f"m{i}"]),
                "max": row[f"hi{i}"],
            }
        elif kinds[n] == "date":
            stats["date"] = {"min": row[f"lo{i}"], "max": row[f"hi{i}"]}
        out[n] = stats
    return out


def _role(
    name: str, kind: str, col: dict[str, Any], sample: pd.DataFrame, hidden: dict
) -> dict[str, Any]:
    """The column's role and, when its values are never shown, why."""
    reason = None
    if name in hidden["personal"]:
        reason = f"the personal-data scan found {hidden['personal'][name]}"
    if kind == "numeric":
        role = "numeric"
        if looks_like_id_name(name) and col["distinct"] >= 0.9 * max(col["count"], 1):
            role, reason = "id", reason or "an identifier (its name, and every value distinct)"
    elif kind == "boolean":
        role = "categorical"
    elif kind == "date":
        role = "date"
    elif looks_like_text(sample[name]):
        role, reason = "text", reason or "free text (only lengths are shown)"
    elif looks_like_id_name(name) or (
        col["distinct"] > 50 and col["distinct"] > 0.5 * col["count"]
    ):
        role, reason = "id", reason or "an identifier (mostly distinct values)"
    else:
        role = "categorical"
    out: dict[str, Any] = {"role": role, "values_hidden": reason is not None}
    if reason is not None:
        out["hidden_reason"] = reason
        if "numeric" in col:  # extremes and quantiles are values too
            keep = {"mean", "sd", "zeros"}
            out["numeric"] = {k: v for k, v in col["numeric"].items() if k in keep}
    return out


def _detail(
    con: Any, scan: str, col: dict[str, Any], rows: int, top: int, min_cell: int
) -> dict[str, Any]:
    """Histogram and outliers of a numeric column; top categories of a categorical one."""
    c = _q(col["name"])
    if col["values_hidden"] or col["count"] == 0:
        return {}
    if col["role"] == "numeric":
        num = col["numeric"]
        lo, hi, qs = num["min"], num["max"], num["quantiles"]
        extra: dict[str, Any] = {}
        if lo is not None and hi is not None and qs.get("p25") is not None:
            iqr = qs["p75"] - qs["p25"]
            a, b = qs["p25"] - 1.5 * iqr, qs["p75"] + 1.5 * iqr
            z = (num["mean"], num["sd"]) if num.get("sd") else None
            extra["histogram"], n, nz = _histogram(con, scan, c, lo, hi, (a, b), z)
            extra["outliers"] = {
                "rule": "outside 1.5 × IQR",
                "low": a,
                "high": b,
                "count": n,
                "z_rule": f"|z| > {_Z_LIMIT:g} (z from the mean and standard deviation)",
                "z_count": nz,
            }
        out: dict[str, Any] = {"numeric": {**num, **extra}}
        if col["distinct"] <= _FEW_VALUES:  # a code or a count: its values are categories too
            out["categories"] = _top_categories(con, scan, c, col["count"], top, min_cell)
        return out
    if col["role"] == "categorical":
        return {"categories": _top_categories(con, scan, c, col["count"], top, min_cell)}
    return {}


def _histogram(
    con: Any,
    scan: str,
    c: str,
    lo: float,
    hi: float,
    fences: tuple[float, float],
    z: tuple[float, float] | None,
) -> tuple[list[dict[str, Any]], int, int]:
    """Equal-width bins of a numeric column, the rows outside ``fences`` and the rows with
    |z| above :data:`_Z_LIMIT` (``z`` is the mean and sd), in one scan."""
    bins = _BINS if hi > lo else 1
    width = (hi - lo) / bins if hi > lo else 0.0
    x = f"{c}::DOUBLE"
    mean, sd = z if z else (0.0, math.inf)
    rows = con.execute(
        f"SELECT {_bin_expr(c, lo, hi, bins)} AS civicml_b, count(*), "
        f"count(*) FILTER ({x} < ? OR {x} > ?), "
        f"count(*) FILTER (abs({x} - ?) > ?) FROM {scan} "
        f"WHERE {c} IS NOT NULL AND isfinite({x}) GROUP BY civicml_b",
        [*fences, mean, _Z_LIMIT * sd if z else 1e308],
    ).fetchall()
    got = {b: int(n) for b, n, _, _ in rows}
    hist = [
        {"low": lo + i * width, "high": lo + (i + 1) * width, "count": got.get(i, 0)}
        for i in range(bins)
    ]
    return hist, sum(int(o) for _, _, o, _ in rows), sum(int(o) for *_, o in rows)


def _top_categories(
    con: Any, scan: str, c: str, count: int, top: int, min_cell: int
) -> dict[str, Any]:
    found = con.execute(
        f"SELECT {c}::VARCHAR AS civicml_v, count(*) AS civicml_n FROM {scan} "
        f"WHERE {c} IS NOT NULL GROUP BY civicml_v HAVING count(*) >= ? "
        "ORDER BY civicml_n DESC, civicml_v LIMIT ?",
        [min_cell, top],
    ).fetchall()
    shown: list[dict[str, Any]] = [
        {"value": str(v), "count": int(n), "share": round(int(n) / count, 6)}
        for v, n in found
        if not _identifier(str(v))
    ]
    other = count - sum(s["count"] for s in shown)
    out: dict[str, Any] = {
        "top": shown,
        "other_count": other,
        "other_share": round(other / count, 6),
    }
    if len(shown) < len(found):  # the scan read a sample; a value it missed is still withheld
        out["withheld_personal"] = len(found) - len(shown)
    return out


_VALIDATORS = (is_email, is_nino, is_nhs_number, is_postcode, is_uk_phone, is_driving_licence)


def _identifier(value: str) -> bool:
    """True when a single value is a UK personal identifier (it is then never shown).

    >>> _identifier("jo@example.com"), _identifier("SW1A 1AA"), _identifier("North")
    (True, True, False)
    """
    return any(check(value) for check in _VALIDATORS)


def _duplicates(con: Any, scan: str, names: Sequence[str], rows: int) -> int:
    cols = ", ".join(_q(n) for n in names)
    distinct = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {scan})")
    return rows - int(distinct.fetchone()[0])


def _rows_with_missing(con: Any, scan: str, names: Sequence[str]) -> int:
    cond = " OR ".join(f"{_q(n)} IS NULL" for n in names)
    return int(con.execute(f"SELECT count(*) FROM {scan} WHERE {cond}").fetchone()[0])


def _target(
    con: Any, scan: str, columns: list[dict[str, Any]], target: str, min_cell: int
) -> dict[str, Any]:
    """The target against each feature: the share of each class (classification) or the mean
    (regression) by category, or by the histogram's bins for a numeric feature."""
    col = next(c for c in columns if c["name"] == target)
    t = _q(target)
    regression = col["role"] == "numeric" and col["distinct"] > _CLASS_LIMIT
    out: dict[str, Any] = {"column": target, "kind": "regression" if regression else "classes"}
    if not regression:
        if col["values_hidden"] or col["role"] in ("text", "id"):
            return {**out, "skipped": "the target's values are not shown", "by_feature": {}}
        classes = con.execute(
            f"SELECT {t}::VARCHAR AS civicml_v, count(*) FROM {scan} WHERE {t} IS NOT NULL "
            "GROUP BY civicml_v ORDER BY civicml_v"
        ).fetchall()
        out["classes"] = [str(v) for v, _ in classes]
    by: dict[str, Any] = {}
    for f in columns:
        if f["name"] == target:
            continue
        group = _group_expr(f)
        if group is None:
            by[f["name"]] = {"skipped": _skip_reason(f)}
            continue
        found = _by_group(con, scan, group, t, regression, min_cell)
        if f["role"] == "numeric" and "categories" not in f:
            hist = f["numeric"]["histogram"]
            for g in found["groups"]:
                if g["group"] != "(missing)":
                    b = hist[int(g["group"])]
                    g["group"] = f"{b['low']:.4g} to {b['high']:.4g}"
        by[f["name"]] = found
    out["by_feature"] = by
    return out


def _skip_reason(f: dict[str, Any]) -> str:
    if f["values_hidden"]:
        return "its values are not shown"
    return f"{f['role']} columns are not compared with the target"


def _by_group(
    con: Any, scan: str, group: str, t: str, regression: bool, min_cell: int
) -> dict[str, Any]:
    if regression:
        rows = con.execute(
            f"SELECT {group} AS civicml_g, count(*), avg({t}::DOUBLE) FROM {scan} "
            f"WHERE {t} IS NOT NULL GROUP BY civicml_g ORDER BY civicml_g NULLS LAST"
        ).fetchall()
        groups: list[dict[str, Any]] = [
            {"group": _label(g), "count": int(n), "mean": _finite(m)}
            for g, n, m in rows
            if n >= min_cell
        ]
        return {"measure": "mean", "groups": groups}
    rows = con.execute(
        f"SELECT {group} AS civicml_g, {t}::VARCHAR AS civicml_y, count(*) FROM {scan} "
        f"WHERE {t} IS NOT NULL GROUP BY civicml_g, civicml_y"
    ).fetchall()
    totals: dict[Any, int] = {}
    for g, _, n in rows:
        totals[g] = totals.get(g, 0) + int(n)
    shares: dict[Any, dict[str, float]] = {g: {} for g in totals}
    for g, y, n in rows:
        shares[g][str(y)] = round(int(n) / totals[g], 6)
    order = sorted(totals, key=lambda g: (g is None, _sort(g)))
    groups = [
        {"group": _label(g), "count": totals[g], "shares": dict(sorted(shares[g].items()))}
        for g in order
        if totals[g] >= min_cell
    ]
    return {"measure": "shares", "groups": groups}


def _sort(g: Any) -> tuple[int, float, str]:
    try:
        return (0, float(g), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(g))


def _label(g: Any) -> str:
    return "(missing)" if g is None else str(g)
