"""Data larger than memory, through DuckDB: sampling for the search, contract inference by SQL,
and LightGBM trained from an Arrow stream on as many rows as fit.

Every function takes a path, a folder of Parquet/CSV files, or a glob, and never loads the whole
file: DuckDB scans it and returns only the sample or the aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.data._contract import (
    MAX_CATEGORIES,
    ColumnContract,
    DataContract,
    _sort_key,
    infer_contract,
    value_key,
)
from civicml.data._validate import ValidationReport, validate_chunks

__all__ = [
    "MEMORY_LIMIT",
    "STREAM_BYTES",
    "infer_contract_duckdb",
    "is_csv",
    "is_large",
    "iter_batches",
    "partition_plan",
    "rows_that_fit",
    "sample_for_search",
    "scan_sql",
    "train_lightgbm_stream",
    "typed_scan",
    "validate_source",
]


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def scan_sql(source: str | Path) -> str:
    """The DuckDB table expression that scans ``source`` (file, folder or glob).

    >>> scan_sql("data/*.parquet")
    "read_parquet('data/*.parquet', union_by_name=true)"
    >>> scan_sql("claims.csv")
    "read_csv_auto('claims.csv')"
    """
    text = str(source)
    p = Path(text)
    if p.is_dir():
        has_parquet = any(p.rglob("*.parquet"))
        text = str(p / "**" / ("*.parquet" if has_parquet else "*.csv"))
    lit = "'" + text.replace("'", "''") + "'"
    if text.lower().endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return f"read_csv_auto({lit})"
    return f"read_parquet({lit}, union_by_name=true)"


#: DuckDB's memory cap for the out-of-core commands: above it, sorts and hash tables spill
#: to a temporary folder, so a file many times larger than memory is still read.
MEMORY_LIMIT = "2GB"


def _connect(
    threads: int = 1, memory_limit: str | None = MEMORY_LIMIT, *, ordered: bool = False
) -> Any:
    import tempfile

    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        spill = Path(tempfile.gettempdir()) / "civicml-duckdb"
        con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    return con


def iter_batches(
    source: str | Path, *, batch_rows: int = 100_000, threads: int = 1
) -> Iterator[pd.DataFrame]:
    """The rows of ``source`` in file order, as DataFrames of at most ``batch_rows`` rows,
    typed as :func:`typed_scan` types them; one batch in memory at a time.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n" + "".join(f"{i},x{i}\\n" for i in range(10)))
    >>> [len(b) for b in iter_batches(p, batch_rows=4)]
    [4, 4, 2]
    """
    con = _connect(threads, ordered=True)
    try:
        scan = typed_scan(con, source)
        reader = con.sql(f"SELECT * FROM {scan}").to_arrow_reader(int(batch_rows))
        for batch in reader:
            yield batch.to_pandas()
    finally:
        con.close()


def validate_source(
    source: str | Path,
    contract: DataContract,
    *,
    batch_rows: int = 100_000,
    threads: int = 1,
    **options: Any,
) -> ValidationReport:
    """:func:`~civicml.data.validate_data` for a file (or folder, or glob) of any size, read
    through DuckDB in batches: the same report as reading the whole file, with row numbers
    counted from the top of the file, in bounded memory (one batch at a time).

    ``options`` are :func:`~civicml.data.validate_data`'s keywords (``strict``, ``inputs``,
    the serving policies...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from civicml.data import infer_contract
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("age,paid\\n" + "30,yes\\n" * 5 + "old,no\\n" + "40,maybe\\n")
    >>> train = pd.DataFrame({"age": [30, 40], "paid": ["yes", "no"]})
    >>> r = validate_source(p, infer_contract(train), batch_rows=3)
    >>> [(i.column, i.rule, i.n_rows, i.examples) for i in r.issues]
    [('age', 'type_mismatch', 1, (6,)), ('paid', 'unknown_category', 1, (7,))]
    """
    batches = iter_batches(source, batch_rows=batch_rows, threads=threads)
    report = validate_chunks(batches, contract, **options)
    if report.n_rows == 0:
        raise DataError.build(
            f"The data file {str(source)!r} has no data rows",
            fix="Export the data again with a header row and at least one data row",
        )
    return report


#: What pandas' CSV reader takes as empty (its default ``na_values``), so a file streamed
#: through DuckDB has the same empties as one :func:`~civicml.data.read_table` reads.
PANDAS_NULLS: tuple[str, ...] = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
_TRUE = ("True", "TRUE", "true")
_FALSE = ("False", "FALSE", "false")
_INT = r"\s*[+-]?[0-9]+\s*"
_FLOAT = r"\s*[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))\s*"


def _lit(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def is_csv(source: str | Path) -> bool:
    """True for a delimited text file (``.csv``, ``.tsv``, ``.txt``, ``.csv.gz``).

    >>> is_csv("claims.CSV"), is_csv("claims.parquet")
    (True, False)
    """
    return str(source).lower().endswith((".csv", ".csv.gz", ".tsv", ".txt"))


#: Files above this size are streamed through DuckDB by ``civicml contract`` and ``validate``.
STREAM_BYTES: int = 256 * 1024 * 1024


def is_large(source: str | Path, *, limit: int | None = None) -> bool:
    """Whether the commands should stream ``source`` through DuckDB rather than load it: a
    folder or glob, or a CSV or Parquet file above ``limit`` bytes (:data:`STREAM_BYTES`).

    >>> is_large("data/*.parquet"), is_large("missing.csv")
    (True, False)
    """
    text = str(source)
    p = Path(text).expanduser()
    if p.is_dir() or any(ch in text for ch in "*?["):
        return True
    if not p.is_file() or not (is_csv(p) or p.suffix.lower() == ".parquet"):
        return False
    return p.stat().st_size > (STREAM_BYTES if limit is None else limit)


def typed_scan(con: Any, source: str | Path) -> str:
    """The DuckDB table expression that reads ``source`` with the types
    :func:`~civicml.data.read_table` (pandas) would give it, so one file yields one contract
    and one verdict whatever its size.

    Parquet keeps its own types. A CSV is read as text (delimiter and encoding as
    ``read_table`` decides them) and each column typed over every row, as pandas does: pandas'
    empty markers are empty; whole numbers with no empty value are integers; numbers are
    floats; ``True``/``False`` (and ``TRUE``/``true``...) with no empty value are booleans, with
    empties the text ``True``/``False``; anything else, ``yes``/``no`` included, stays text.
    One streamed pass over the file (a few bytes of state per column).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("n,x,paid,ok,note\\n1,1.5,yes,true,NA\\n2,,no,false,a\\n")
    >>> con = _connect()
    >>> con.execute(f"SELECT * FROM {typed_scan(con, p)}").df().dtypes.astype(str).tolist()
    ['int64', 'float64', 'str', 'bool', 'str']
    """
    plan = _csv_typing(con, source)
    if plan is None:
        return scan_sql(source)
    raw, clean, typed = plan
    return f"(SELECT {', '.join(typed)} FROM (SELECT {clean} FROM {raw}))"


def partition_plan(source: str | Path) -> dict[str, Any]:
    """How a worker reads one partition of ``source`` so that its rows are typed exactly as
    :func:`typed_scan` types them (and so as the driver's sample is): ``kind`` (``"csv"`` or
    ``"parquet"``), ``path``, for a CSV its ``sep`` and ``encoding`` (read every field as text,
    no missing-value markers), and ``sql``: the query over the partition, registered as the
    relation ``part``, that types it. One streamed pass over a CSV (the typing statistics).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("n,paid\\n1,yes\\n2,no\\n")
    >>> plan = partition_plan(p)
    >>> plan["kind"], plan["sep"]
    ('csv', ',')
    >>> part = pd.DataFrame({"n": ["7"], "paid": ["yes"]})
    >>> import duckdb
    >>> con = duckdb.connect(); con.register("part", part)  # doctest: +ELLIPSIS
    <...>
    >>> con.execute(plan["sql"]).df().dtypes.astype(str).tolist()
    ['int64', 'str']
    """
    from civicml.data._sources import sniff_csv

    con = _connect()
    try:
        plan = _csv_typing(con, source)
    finally:
        con.close()
    if plan is None:
        return {"kind": "parquet", "path": str(source), "sql": "SELECT * FROM part"}
    if not str(source).lower().endswith((".csv", ".tsv", ".txt")):
        raise DataError.build(
            f"{Path(str(source)).name!r} cannot be split among workers (a compressed CSV is "
            "read whole)",
            fix="Decompress it, or convert it to Parquet",
        )
    _, clean, typed = plan
    encoding, sep = sniff_csv(Path(str(source)).expanduser())
    return {
        "kind": "csv",
        "path": str(Path(str(source)).expanduser()),
        "sep": sep,
        "encoding": encoding,
        "sql": f"SELECT {', '.join(typed)} FROM (SELECT {clean} FROM part)",
    }


def _csv_typing(con: Any, source: str | Path) -> tuple[str, str, list[str]] | None:
    """For one CSV file: DuckDB's text scan of it, the select list that turns pandas' empty
    markers into NULL, and each column's typing expression over that (one streamed pass);
    ``None`` for Parquet, a folder or a glob (read with their own types)."""
    if not is_csv(source) or Path(str(source)).is_dir() or any(ch in str(source) for ch in "*?["):
        return None
    from civicml.data._sources import _check_is_file, sniff_csv

    p = Path(str(source)).expanduser()
    _check_is_file(p)
    encoding, delim = sniff_csv(p)
    enc = encoding.lower().replace("-sig", "").replace("_", "-")
    if enc not in ("utf-8", "utf8", "ascii"):
        raise DataError.build(
            f"The file {p.name!r} is {encoding}, which the out-of-core reader cannot stream",
            fix="Convert it to UTF-8 (iconv -f cp1252 -t utf-8), or read it in memory",
        )
    raw = (
        f"read_csv('{str(p).replace(chr(39), chr(39) * 2)}', header = true, all_varchar = true, "
        f"delim = '{delim.replace(chr(39), chr(39) * 2)}', quote = '\"', escape = '\"')"
    )
    names = [n for n, _ in _columns(con, raw)]
    _check_header(p, encoding, delim, names)
    clean = ", ".join(
        f"CASE WHEN {_q(n)} IN ({_lit(PANDAS_NULLS)}) THEN NULL ELSE {_q(n)} END AS {_q(n)}"
        for n in names
    )
    text = f"(SELECT {clean} FROM {raw})"
    exprs = []
    for n in names:
        c = _q(n)
        exprs += [
            f"count({c})",
            f"count(*) - count({c})",
            f"bool_and({c} IS NULL OR regexp_full_match({c}, '{_INT}'))",
            f"bool_and({c} IS NULL OR regexp_full_match({c}, '{_FLOAT}'))",
            f"bool_and({c} IS NULL OR {c} IN ({_lit(_TRUE + _FALSE)}))",
        ]
    try:
        stats = con.execute(f"SELECT {', '.join(exprs)} FROM {text}").fetchall()[0]
    except Exception as exc:  # duckdb's CSV errors: reduce to one line
        raise DataError.build(
            f"The file {p.name!r} could not be parsed as CSV",
            got=str(exc).splitlines()[0][:200],
            fix="Check the quoting and that every row has as many fields as the header",
        ) from None
    typed = []
    for i, n in enumerate(names):
        present, empty, ints, floats, bools = stats[5 * i : 5 * i + 5]
        c = _q(n)
        if not present or (floats and not (ints and not empty)):
            typed.append(f"CAST(trim({c}) AS DOUBLE) AS {c}")  # pandas: empties make a float
        elif ints:
            typed.append(f"CAST(trim({c}) AS BIGINT) AS {c}")
        elif bools:
            as_bool = f"{c} IN ({_lit(_TRUE)})"
            typed.append(
                f"{as_bool} AS {c}"
                if not empty
                else f"CASE WHEN {c} IS NULL THEN NULL WHEN {as_bool} THEN 'True' "
                f"ELSE 'False' END AS {c}"
            )
        else:
            typed.append(c)
    return raw, clean, typed


def _check_header(p: Path, encoding: str, delim: str, names: list[str]) -> None:
    """Refuse a header that DuckDB would read differently from ``read_table``: repeated
    names, names differing only in case (DuckDB's are case-insensitive), blank names."""
    from civicml.data._sources import (
        _decode_sample,
        _duplicates,
        _header,
        _raise_duplicates,
        _read_sample,
    )

    sample, complete = _read_sample(p)
    header = _header(_decode_sample(p, sample, encoding, complete), delim)
    _raise_duplicates(p, _duplicates(header))
    if header != names:
        folded = sorted({h for h in header if sum(x.lower() == h.lower() for x in header) > 1})
        raise DataError.build(
            f"The header of {p.name!r} cannot be streamed as it is: "
            + (
                f"columns differ only in case ({', '.join(map(repr, folded))})"
                if folded
                else "DuckDB reads other column names from it"
            ),
            got=[h for h in header if h not in names][:10],
            fix="Give every column a distinct name (not only in case), or read the file in "
            "memory with --in-memory",
        )


def _columns(con: Any, scan: str) -> list[tuple[str, str]]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except Exception as exc:  # duckdb raises IOException etc.; reduce to one line
        raise DataError.build(
            f"DuckDB cannot read {scan}",
            got=str(exc).splitlines()[0][:200],
            fix="Check the path, the glob and that the files are Parquet or CSV",
        ) from None
    return [(str(r[0]), str(r[1])) for r in rows]


def sample_for_search(
    source: str | Path,
    target: str,
    max_rows: int = 100_000,
    seed: int = 0,
    *,
    stratify: bool | None = None,
    columns: Sequence[str] | None = None,
    threads: int = 1,
) -> pd.DataFrame:
    """A reproducible sample of at most ``max_rows`` rows, drawn by DuckDB.

    Reservoir sampling (``USING SAMPLE reservoir(n ROWS) REPEATABLE(seed)``); for a
    classification target (``stratify``; default: when the target has ≤ 50 distinct values)
    each class is sampled in proportion to its share, with at least 1 row per class, so
    rare classes are kept. ``attrs`` of the result record ``rows_in`` (the file's rows),
    ``method`` (``"every row"``, ``"reservoir sample"`` or ``"class-stratified reservoir
    sample"``) and ``seed``, for the lineage.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"x": range(1000), "y": [0] * 900 + [1] * 100}).to_parquet(d / "a.parquet")
    >>> s = sample_for_search(d / "a.parquet", "y", max_rows=100, seed=1)
    >>> len(s), int(s["y"].sum())
    (100, 10)
    >>> s.equals(sample_for_search(d / "a.parquet", "y", max_rows=100, seed=1))
    True
    """
    con = _connect(threads)
    scan = typed_scan(con, source)
    names = [n for n, _ in _columns(con, scan)]
    if target not in names:
        raise DataError.build(
            f"The target column {target!r} is not in {source}",
            got=names[:20],
            fix="Set 'target' in civicml.yaml to one of the columns",
        )
    cols = ", ".join(_q(c) for c in (columns or names))
    total = int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])
    info = {"rows_in": total, "seed": int(seed)}
    if total <= max_rows:
        con.execute("SET preserve_insertion_order = true")
        out = con.execute(f"SELECT {cols} FROM {scan}").df()
        out.attrs.update(info, method="every row")
        return out
    counts = con.execute(
        f"SELECT {_q(target)} AS t, count(*) FROM {scan} GROUP BY 1 ORDER BY 1 NULLS LAST"
    ).fetchall()
    if stratify is None:
        stratify = len(counts) <= 50
    seed = int(seed)
    if not stratify:
        sql = (
            f"SELECT {cols} FROM (SELECT * FROM {scan}) "
            f"USING SAMPLE reservoir({int(max_rows)} ROWS) REPEATABLE ({seed})"
        )
        out = con.execute(sql).df()
        out.attrs.update(info, method="reservoir sample")
        return out
    # proportional allocation (largest remainder), at least one row per class
    shares = np.array([c for _, c in counts], dtype=float) / total * max_rows
    alloc = np.maximum(np.floor(shares).astype(int), 1)
    for j in np.argsort(-(shares - np.floor(shares)))[: max(0, max_rows - int(alloc.sum()))]:
        alloc[j] += 1
    parts = []
    for (value, n_class), k in zip(counts, alloc, strict=True):
        cond = f"{_q(target)} IS NULL" if value is None else f"{_q(target)} = ?"
        params = [] if value is None else [value]
        k = min(int(k), int(n_class))
        parts.append(
            con.execute(
                f"SELECT {cols} FROM (SELECT * FROM {scan} WHERE {cond}) "
                f"USING SAMPLE reservoir({k} ROWS) REPEATABLE ({seed})",
                params,
            ).df()
        )
    out = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(seed)
    out = out.iloc[rng.permutation(len(out))].reset_index(drop=True)
    out.attrs.update(info, method="class-stratified reservoir sample")
    return out


def infer_contract_duckdb(
    source: str | Path,
    *,
    target: str | None = None,
    id_columns: Iterable[str] = (),
    text_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    categorical_columns: Iterable[str] = (),
    drop_columns: Iterable[str] = (),
    sample_rows: int = 20_000,
    threads: int = 1,
    personal_columns: Iterable[str] = (),
) -> DataContract:
    """:func:`civicml.data.infer_contract` for files larger than memory.

    Roles and date formats are inferred as there, from a reservoir sample of ``sample_rows``;
    then null shares, ranges, distinct counts, categories and text lengths are computed over
    every row by SQL. The result has the same format (a :class:`DataContract`) and, on a
    table that fits in memory, the same content except where a role depends on the sample
    (an id column must still be all-distinct over the whole file). Above
    ``EXACT_DISTINCT_ROWS`` rows, the ``n_unique`` of numeric, text and date columns is a
    HyperLogLog estimate (within a few per cent), which keeps memory flat.
    ``personal_columns`` keep their type and role but none of their values, as there.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"age": [30, 41, None, 52], "region": ["N", "S", "N", None],
    ...                    "y": [0, 1, 0, 1]})
    >>> df.to_parquet(d / "t.parquet")
    >>> infer_contract_duckdb(d / "t.parquet", target="y") == infer_contract(df, target="y")
    True
    """
    con = _connect(threads)
    scan = typed_scan(con, source)
    _columns(con, scan)  # a clear error when the files cannot be read
    n_rows = int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])
    if n_rows == 0:
        raise DataError.build(
            f"The data file {str(source)!r} has no data rows",
            fix="Export the data again with a header row and at least one data row",
        )
    if n_rows <= sample_rows:  # all of it, in file order: the in-memory contract exactly
        con.execute("SET preserve_insertion_order = true")
        sample = con.execute(f"SELECT * FROM {scan}").df()
    else:
        sample = con.execute(
            f"SELECT * FROM (SELECT * FROM {scan}) "
            f"USING SAMPLE reservoir({int(sample_rows)} ROWS) REPEATABLE (0)"
        ).df()
    base = infer_contract(
        sample,
        target=target,
        id_columns=id_columns,
        text_columns=text_columns,
        date_columns=date_columns,
        categorical_columns=categorical_columns,
        drop_columns=drop_columns,
        max_categories=MAX_CATEGORIES,
    )
    exprs = []
    for col in base.columns:
        c = _q(col.name)
        exprs.append(f"count({c})")
        # an exact distinct count holds every value in a hash table (GBs for a few float
        # columns of 10M rows): above EXACT_DISTINCT_ROWS it is exact only where a role
        # depends on it (ids, categories, the target) and HyperLogLog's estimate elsewhere
        exact = n_rows <= EXACT_DISTINCT_ROWS or col.role in ("id", "categorical", "target")
        exprs.append(f"count(DISTINCT {c})" if exact else f"approx_count_distinct({c})")
        if col.dtype in ("integer", "float") and col.role != "date":
            exprs.append(f"min({c})::DOUBLE")
            exprs.append(f"max({c})::DOUBLE")
        else:
            exprs.append("NULL")
            exprs.append("NULL")
        if col.role == "text":
            exprs.append(f"max(length(CAST({c} AS VARCHAR)))")
        else:
            exprs.append("NULL")
    stats = con.execute(f"SELECT {', '.join(exprs)} FROM {scan}").fetchone()
    columns = []
    declared_ids = set(id_columns)
    for i, col in enumerate(base.columns):
        n_nonnull, n_unique, lo, hi, max_len = stats[5 * i : 5 * i + 5]
        n_null = n_rows - int(n_nonnull)
        role = col.role
        if role == "id" and col.name not in declared_ids and int(n_unique) != int(n_nonnull):
            role = "categorical"  # all-distinct in the sample, not in the whole file
        categories = col.categories
        wants = role == "categorical" or (role == "target" and col.categories is not None)
        if wants and int(n_unique) <= MAX_CATEGORIES:
            vals = con.execute(
                f"SELECT DISTINCT {_q(col.name)} FROM {scan} WHERE {_q(col.name)} IS NOT NULL"
            ).fetchall()
            categories = tuple(sorted({value_key(v[0]) for v in vals}, key=_sort_key))
        elif wants:
            categories = None
        columns.append(
            ColumnContract(
                name=col.name,
                dtype=col.dtype,
                role=role,
                nullable=n_null > 0,
                null_share=round(n_null / n_rows, 6) if n_rows else 0.0,
                min=_num(lo) if lo is not None else col.min,
                max=_num(hi) if hi is not None else col.max,
                categories=categories,
                max_length=int(max_len) if max_len is not None else col.max_length,
                date_format=col.date_format,
                n_unique=int(n_unique),
            )
        )
    personal = {str(c) for c in personal_columns}
    columns = [
        replace(c, categories=None, min=None, max=None)
        if c.name in personal and c.role != "target"
        else c
        for c in columns
    ]
    return DataContract(columns=tuple(columns), target=target, n_rows=n_rows, dropped=base.dropped)


#: Above this many rows, numeric, text and date columns' ``n_unique`` is estimated (HyperLogLog).
EXACT_DISTINCT_ROWS = 2_000_000


def _num(v: Any) -> float | None:
    f = float(v)
    return f if np.isfinite(f) else None


def rows_that_fit(n_columns: int, *, share: float = 0.4, bytes_per_value: int = 12) -> int:
    """How many rows of ``n_columns`` float32 values (plus LightGBM's binned copy and
    working space, ``bytes_per_value`` in all) fit in ``share`` of the available memory.

    >>> rows_that_fit(30) > 0
    True
    """
    import psutil

    avail = psutil.virtual_memory().available * share
    return max(1_000, int(avail // (max(n_columns, 1) * bytes_per_value)))


def train_lightgbm_stream(
    source: str | Path,
    target: str,
    features: Sequence[str],
    *,
    task: str = "binary",
    max_rows: int | None = None,
    params: dict[str, Any] | None = None,
    categorical: Sequence[str] = (),
    seed: int = 0,
    batch_rows: int = 262_144,
    threads: int = 1,
) -> tuple[Any, dict[str, Any]]:
    """Fit LightGBM on up to ``max_rows`` rows streamed from DuckDB as Arrow record batches.

    The rows (a reproducible reservoir sample when the file has more; all of them
    otherwise) are copied batch by batch into one preallocated float32 matrix, so peak memory
    is that matrix plus LightGBM's binned dataset, never a DataFrame of the file.
    ``max_rows=None`` takes as many as fit (:func:`rows_that_fit`). String columns listed in
    ``categorical`` are dictionary-encoded by DuckDB (``dense_rank`` over their values, codes
    from 0) and declared categorical to LightGBM.

    Returns
    -------
    model : lightgbm.LGBMClassifier or LGBMRegressor
        Fitted on the numeric matrix, in ``features`` order.
    info : dict
        ``rows``, ``categories`` (code → value per categorical column), ``seconds_read``,
        ``seconds_fit``.
    """
    import time

    import lightgbm as lgb

    con = _connect(threads, memory_limit=None)  # its own bound: rows_that_fit
    scan = scan_sql(source)
    total = int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])
    limit = min(total, max_rows if max_rows is not None else rows_that_fit(len(features) + 1))
    cats = [c for c in features if c in set(categorical)]
    categories: dict[str, list[Any]] = {}
    select = []
    for c in features:
        if c in cats:
            values = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT {_q(c)} FROM {scan} WHERE {_q(c)} IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            categories[c] = values
            cases = " ".join(f"WHEN ? THEN {k}" for k in range(len(values)))
            select.append((f"CASE {_q(c)} {cases} END::FLOAT", values))
        else:
            select.append((f"{_q(c)}::FLOAT", []))
    args: list[Any] = [v for _, vs in select for v in vs]
    body = ", ".join(e for e, _ in select) + f", {_q(target)}"
    inner = f"SELECT * FROM {scan}"
    if limit < total:
        inner = (
            f"SELECT * FROM ({inner}) USING SAMPLE reservoir({limit} ROWS) REPEATABLE ({int(seed)})"
        )
    t0 = time.perf_counter()
    # a relation streams its result as Arrow batches; execute() would copy all rows first
    reader = con.sql(f"SELECT {body} FROM ({inner})", params=args).to_arrow_reader(batch_rows)
    X = np.empty((limit, len(features)), dtype=np.float32)
    y = np.empty(limit, dtype=np.float64)
    n = 0
    for batch in reader:
        k = batch.num_rows
        for j in range(len(features)):
            X[n : n + k, j] = batch.column(j).to_numpy(zero_copy_only=False)
        y[n : n + k] = batch.column(len(features)).to_numpy(zero_copy_only=False)
        n += k
    X, y = X[:n], y[:n]
    t1 = time.perf_counter()
    opts = {
        "n_estimators": 200,
        "learning_rate": 0.1,
        "num_leaves": 63,
        "n_jobs": threads,
        "random_state": seed,
        "verbose": -1,
        **(params or {}),
    }
    model = lgb.LGBMRegressor(**opts) if task == "regression" else lgb.LGBMClassifier(**opts)
    cat_idx = [features.index(c) for c in cats]
    model.fit(X, y, categorical_feature=cat_idx or "auto")
    info = {
        "rows": n,
        "categories": categories,
        "seconds_read": t1 - t0,
        "seconds_fit": time.perf_counter() - t1,
    }
    return model, info
