"""Reading the training table: files (CSV, Parquet, Excel, JSON lines) and SQL (DuckDB, SQLAlchemy).

Every failure is a one-line :class:`~civicml.DataError` that names the file or query, says what
was expected and how to fix it. CSV files have their encoding and delimiter detected; large CSV
files are read by DuckDB rather than parsed into memory by pandas.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from civicml._errors import DataError
from civicml.data._encoding import decide_encoding
from civicml.data._sandbox import prepare_sql, sandbox, sandbox_refusal, sql_folders

__all__ = ["FORMATS", "LARGE_FILE_BYTES", "read_sql", "read_table"]

Format = Literal["auto", "csv", "parquet", "excel", "jsonl"]

#: File formats :func:`read_table` understands.
FORMATS: tuple[str, ...] = ("csv", "parquet", "excel", "jsonl")

#: CSV files above this size are read through DuckDB.
LARGE_FILE_BYTES: int = 200 * 1024 * 1024

_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_SAMPLE_BYTES = 64 * 1024
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def read_table(
    path: str | Path,
    *,
    format: Format = "auto",
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read a data file into a DataFrame, with clear errors for every way it can be unusable.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.tsv``/``.txt``, ``.parquet``, ``.xlsx`` or ``.jsonl``/``.ndjson`` file.
    format : {"auto", "csv", "parquet", "excel", "jsonl"}, default "auto"
        ``"auto"`` takes the format from the file's extension.
    encoding : str, optional
        Text encoding of a CSV or JSON lines file. By default it is decided from the whole file:
        a byte-order mark, else UTF-8 when every byte is, else Windows-1252 (cp1252) or Latin-1
        when no byte is UTF-8 beyond ASCII; a file mixing UTF-8 text with other bytes is
        refused, naming the line of the first such byte.
    delimiter : str, optional
        CSV field separator. By default it is detected among ``,`` ``;`` tab and ``|``.
    sheet : str or int, optional
        Excel sheet name or 0-based index; the first sheet by default.

    Returns
    -------
    pandas.DataFrame
        At least one row and one column.

    Raises
    ------
    DataError
        The file is missing, a folder, empty, header-only, of an unknown format, not text where
        text is expected, partly UTF-8 and partly not, corrupt, or has duplicate column names.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "claims.csv")
    ...     _ = open(p, "w", encoding="cp1252").write("region;amount\\nLeeds;£10\\n")
    ...     read_table(p)
      region amount
    0  Leeds    £10
    """
    p = Path(path).expanduser()
    _check_is_file(p)
    fmt = _resolve_format(p, format)
    if fmt == "csv":
        df = _read_csv(p, encoding=encoding, delimiter=delimiter)
    elif fmt == "parquet":
        df = _read_parquet(p)
    elif fmt == "excel":
        df = _read_excel(p, sheet=sheet)
    else:
        df = _read_jsonl(p, encoding=encoding)
    _check_not_empty(df, p)
    return df


def _check_is_file(p: Path) -> None:
    if not p.exists():
        raise DataError.build(
            f"The data file {str(p)!r} does not exist",
            fix="Check the path: one given on the command line is read from the working "
            "directory; 'data.path' in civicml.yaml from the folder that holds civicml.yaml",
        )
    if p.is_dir():
        raise DataError.build(
            f"The data path {str(p)!r} is a folder, not a file",
            fix="Point 'data.path' at one file, or read many with 'data.query', "
            "e.g. SELECT * FROM 'folder/*.parquet'",
        )
    if p.stat().st_size == 0:
        raise DataError.build(
            f"The data file {str(p)!r} is empty (0 bytes)",
            fix="Export the data again with a header row and at least one data row",
        )


def _check_not_empty(df: pd.DataFrame, p: Path) -> None:
    if df.shape[1] == 0:
        raise DataError.build(
            f"The data file {str(p)!r} has no columns",
            fix="Export the data again with a header row and at least one data row",
        )
    if len(df) == 0:
        raise DataError.build(
            f"The data file {str(p)!r} has a header but no data rows",
            expected="at least one data row",
            got=f"columns {list(map(str, df.columns))[:10]} and 0 rows",
            fix="Export the data again including its rows",
        )


def _resolve_format(p: Path, format: str) -> str:
    if format != "auto":
        if format not in FORMATS:
            raise DataError.build(
                "The 'data.format' setting is not a supported format",
                expected=f"one of {['auto', *FORMATS]}",
                got=format,
                fix="Set 'data.format' to one of the expected values",
            )
        return format
    suffix = p.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if suffix == ".xls":
        raise DataError.build(
            f"The file {p.name!r} is an old Excel 97-2003 (.xls) workbook, which civicml "
            "cannot read",
            fix="Open it in Excel or LibreOffice and save it as .xlsx or CSV",
        )
    raise DataError.build(
        f"Cannot tell the format of {p.name!r} from its extension",
        expected=f"one of {sorted(_EXTENSIONS)}",
        got=suffix or "(no extension)",
        fix="Rename the file with its real extension, or set 'data.format' in civicml.yaml "
        "to csv, parquet, excel or jsonl",
    )


def _duplicates(names: Iterable[Any]) -> list[str]:
    counts = Counter(str(n) for n in names if n is not None and str(n) != "")
    return [name for name, k in counts.items() if k > 1]


def _raise_duplicates(p: Path, dups: list[str]) -> None:
    if dups:
        raise DataError.build(
            f"The file {p.name!r} has duplicate column names: {', '.join(map(repr, dups))}",
            expected="each column name once",
            got=dups,
            fix="Rename or remove the repeated columns in the header row",
        )


# --------------------------------------------------------------------------------------------
# text files: sniffing
# --------------------------------------------------------------------------------------------


def sniff_csv(path: str | Path) -> tuple[str, str]:
    """The encoding (decided from the whole file, streamed) and delimiter (sniffed from the
    first 64 KB) of a delimited text file.

    ``read_table`` uses the same rules; this is for readers that stream the file in chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes('a;b\\n"Caf\\xe9, bar";2\\n'.encode("latin-1"))
    >>> sniff_csv(p)
    ('cp1252', ';')
    """
    p = Path(path)
    sample, complete = _read_sample(p)
    encoding = decide_encoding(p, choose=None)
    text = _decode_sample(p, sample, encoding, complete)
    return encoding, _sniff_delimiter(text)


def _read_sample(p: Path) -> tuple[bytes, bool]:
    with open(p, "rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    return sample, len(sample) < _SAMPLE_BYTES


def _check_text(p: Path, sample: bytes, kind: str) -> None:
    if sample.startswith(b"PAR1"):
        raise DataError.build(
            f"The file {p.name!r} looks like a Parquet file, not {kind}",
            fix="Rename it with a .parquet extension or set 'data.format: parquet'",
        )
    if sample.startswith(b"PK\x03\x04"):
        raise DataError.build(
            f"The file {p.name!r} looks like an Excel workbook or zip archive, not {kind}",
            fix="Rename it with an .xlsx extension (or unzip it) or set 'data.format: excel'",
        )
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    if b"\x00" in sample:
        raise DataError.build(
            f"The file {p.name!r} is not a text file (it holds binary bytes)",
            expected=kind,
            fix="Check it is the right file, or export the data again as CSV (UTF-8)",
        )


def _decode_sample(p: Path, sample: bytes, encoding: str, complete: bool) -> str:
    try:
        text = sample.decode(encoding, errors="replace")
    except LookupError:
        raise DataError.build(
            "The 'data.encoding' setting is not a known text encoding",
            expected="a Python codec name such as 'utf-8' or 'cp1252'",
            got=encoding,
            fix="Correct 'data.encoding', or remove it to let civicml detect the encoding",
        ) from None
    text = text.lstrip("\ufeff")
    end = max(text.rfind("\n"), text.rfind("\r"))  # CR-only files (old Mac) end lines with \r
    if not complete and end > 0:
        text = text[:end]
    return text


def _sniff_delimiter(text: str) -> str:
    """Pick the delimiter that splits the header into most fields consistently across rows."""
    lines = [line for line in text.splitlines() if line.strip()][:200]
    if not lines:
        return ","
    best, best_score = None, (0.0, 0)
    for d in _DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=d)]
        width = counts[0]
        if width < 2:
            continue
        score = (sum(c == width for c in counts) / len(counts), width)
        if score > best_score:
            best, best_score = d, score
    if best is not None:
        return best
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        return ","


_COMMA_NUMBER = re.compile(r"^-?\d+,\d+$")
_POINT_NUMBER = re.compile(r"^-?\d+\.\d+$")


def _decimal_comma(text: str, delimiter: str) -> bool:
    """True when numbers in the sample are written 1,5 (and never 1.5): European CSV exports."""
    comma = point = 0
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        for cell in row:
            cell = cell.strip()
            comma += bool(_COMMA_NUMBER.match(cell))
            point += bool(_POINT_NUMBER.match(cell))
    return comma > 0 and point == 0


def _header(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        if any(cell.strip() for cell in row):
            return row
    return []


# --------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------


def _read_csv(p: Path, *, encoding: str | None, delimiter: str | None) -> pd.DataFrame:
    sample, complete = _read_sample(p)
    _check_text(p, sample, "a CSV text file")
    enc = encoding or decide_encoding(p)
    text = _decode_sample(p, sample, enc, complete)
    if not text.strip():
        raise DataError.build(
            f"The data file {str(p)!r} is empty (only blank lines)",
            fix="Export the data again with a header row and at least one data row",
        )
    delim = delimiter or _sniff_delimiter(text)
    _raise_duplicates(p, _duplicates(_header(text, delim)))

    if p.stat().st_size > LARGE_FILE_BYTES and enc.replace("-sig", "") in ("utf-8", "utf8"):
        df = _read_csv_duckdb(p, delim)
        if df is not None:
            return df

    decimal = "," if delim == ";" and _decimal_comma(text, delim) else "."
    try:  # the encoding decided from the whole file, or the one named in the spec
        return pd.read_csv(p, sep=delim, encoding=enc, decimal=decimal, low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataError.build(
            f"The file {p.name!r} cannot be decoded as {enc}",
            got=_first_line(exc),
            fix="Set 'data.encoding' to the file's real encoding (e.g. cp1252), or remove it to "
            "let civicml detect it",
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError.build(
            f"The data file {str(p)!r} is empty (no header row)",
            fix="Export the data again with a header row and at least one data row",
        ) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError.build(
            f"The file {p.name!r} could not be parsed as CSV with the "
            f"{_DELIMITER_NAMES.get(delim, repr(delim))} delimiter",
            got=_first_line(exc),
            fix="Check the quoting and that every row has as many fields as the header, "
            "or set 'data.delimiter' in civicml.yaml",
        ) from None


def _read_csv_duckdb(p: Path, delimiter: str) -> pd.DataFrame | None:
    """Read a large CSV with DuckDB; ``None`` when DuckDB cannot (pandas then tries)."""
    import duckdb

    # Types limited to what pandas would infer, so a file reads alike below and above the size
    # limit (DuckDB alone would turn yes/no into booleans and strings into dates).
    sql = (
        "SELECT * FROM read_csv(?, delim = ?, header = true, "
        "auto_type_candidates = ['BIGINT', 'DOUBLE', 'VARCHAR'])"
    )
    con = duckdb.connect(":memory:")
    try:
        return con.execute(sql, [str(p), delimiter]).df()
    except duckdb.Error:
        return None
    finally:
        con.close()


def _read_parquet(p: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(p)
    except (pa.ArrowException, OSError) as exc:
        raise DataError.build(
            f"The file {p.name!r} is not a readable Parquet file",
            got=_first_line(exc),
            fix="Check the file is complete (not truncated), or export it again",
        ) from None
    _raise_duplicates(p, _duplicates(schema.names))
    try:
        return pq.read_table(p).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError.build(
            f"The file {p.name!r} is not a readable Parquet file",
            got=_first_line(exc),
            fix="Check the file is complete (not truncated), or export it again",
        ) from None


def _read_excel(p: Path, *, sheet: str | int | None) -> pd.DataFrame:
    import zipfile

    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    corrupt = DataError.build(
        f"The file {p.name!r} is not a readable Excel (.xlsx) workbook",
        fix="Open it in Excel and save it again as .xlsx, or export the sheet as CSV",
    )
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise corrupt from None
    try:
        names = list(wb.sheetnames)
        if sheet is None:
            name = names[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise DataError.build(
                    f"The workbook {p.name!r} has no sheet number {sheet}",
                    expected=f"0 to {len(names) - 1} (sheets {names})",
                    got=sheet,
                    fix="Set 'data.sheet' to a sheet name or 0-based index",
                )
            name = names[sheet]
        elif sheet in names:
            name = sheet
        else:
            raise DataError.build(
                f"The workbook {p.name!r} has no sheet named {sheet!r}",
                expected=f"one of {names}",
                got=sheet,
                fix="Set 'data.sheet' in civicml.yaml to one of the sheet names",
            )
        rows = wb[name].iter_rows(min_row=1, max_row=1, values_only=True)
        header = next(iter(rows), ())
    finally:
        wb.close()
    if not any(v is not None for v in header):
        raise DataError.build(
            f"The sheet {name!r} of {p.name!r} is empty (no header row)",
            fix="Put the column names in the first row and the data below them",
        )
    _raise_duplicates(p, _duplicates(header))
    try:
        return pd.read_excel(p, sheet_name=name, engine="openpyxl")
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError):
        raise corrupt from None


def _read_jsonl(p: Path, *, encoding: str | None) -> pd.DataFrame:
    sample, complete = _read_sample(p)
    _check_text(p, sample, "a JSON lines text file")
    enc = encoding or decide_encoding(p)
    _decode_sample(p, sample, enc, complete)  # validates the encoding name
    try:
        # dtype=False keeps strings such as "007" as strings; JSON numbers stay numbers.
        return pd.read_json(p, lines=True, dtype=False, encoding=enc)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError.build(
            f"The file {p.name!r} is not valid JSON lines",
            expected="one JSON object per line",
            got=_first_line(exc),
            fix='Check every line is a complete JSON object such as {"age": 41}',
        ) from None


def _first_line(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    text = str(exc).split("\n\n")[0].split("[SQL:")[0].split("(Background on")[0]
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------


def read_sql(
    query: str,
    *,
    url: str | None = None,
    base_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Run a SQL query and return its result.

    Parameters
    ----------
    query : str
        The SQL. Without ``url`` it runs in an in-memory DuckDB sandbox, which can read files
        directly (``SELECT * FROM 'data/*.parquet'`` or ``SELECT * FROM read_csv('a.csv')``)
        but only under ``base_dir`` (and ``CIVICML_SQL_ALLOWED_DIRS``); one query only, no
        ``COPY``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET`` and the like.
    url : str, optional
        A SQLAlchemy database URL (``sqlite:///claims.db``,
        ``postgresql+psycopg://user@host/db``); the query runs on that database, opened
        read-only where the driver allows (SQLite, PostgreSQL).
    base_dir : str or Path, optional
        For DuckDB: the folder whose files the query may read; relative file names in the
        query are taken from it (the working directory when not given); the process's working
        directory is not changed.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataError
        The query fails (the database's message is given on one line), the URL is invalid or its
        driver is not installed, the result has no rows, or the DuckDB sandbox refuses the
        query (one line naming what it refused).

    Examples
    --------
    >>> read_sql("SELECT 1 AS a, 'x' AS b")
       a  b
    0  1  x
    """
    if not query or not query.strip():
        raise DataError.build(
            "The SQL query is empty", fix="Set 'data.query' in civicml.yaml to a SELECT query"
        )
    df = _read_duckdb(query, base_dir) if url is None else _read_sqlalchemy(query, url)
    if df.shape[1] > 0:
        _raise_duplicates(Path("query result"), _duplicates(df.columns))
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError.build(
            "The SQL query returned no rows",
            got=_short(query),
            fix="Check the query's WHERE clause and table or file names",
        )
    return df


def _short(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _read_duckdb(query: str, base_dir: str | Path | None) -> pd.DataFrame:
    import duckdb

    folders = sql_folders(base_dir)
    sql = prepare_sql(query, folders)
    with sandbox(folders) as con:
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            refused = sandbox_refusal(exc, "'data.query'", folders)
            if refused is not None:
                raise refused from None
            raise DataError.build(
                "The DuckDB SQL query failed",
                got=_first_line(exc),
                fix="Correct 'data.query' in civicml.yaml; file names in it are relative to the "
                "folder that holds civicml.yaml",
            ) from None


def _read_sqlalchemy(query: str, url: str) -> pd.DataFrame:
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    try:
        parsed = sa.engine.make_url(url)
    except sa_exc.ArgumentError:
        raise DataError.build(
            "The 'data.url' setting is not a valid database URL",
            expected="a SQLAlchemy URL such as 'sqlite:///claims.db' or "
            "'postgresql+psycopg://user@host/db'",
            fix="Correct 'data.url' in civicml.yaml",
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    parsed, connect_args = _read_only(parsed)
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise DataError.build(
            f"The database driver for {shown!r} is not installed",
            got=_first_line(exc),
            fix="Install the driver package (e.g. 'pip install psycopg[binary]' for PostgreSQL)",
        ) from None
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn)
    except pd.errors.DatabaseError as exc:  # pandas wraps the driver's error
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        orig = getattr(cause, "orig", None)
        raise DataError.build(
            f"The SQL query failed on {shown!r}",
            got=_first_line(orig if orig is not None else cause),
            fix="Correct 'data.query' in civicml.yaml, or check the database and credentials",
        ) from None
    except sa_exc.DBAPIError as exc:
        raise DataError.build(
            f"The SQL query failed on {shown!r}",
            got=_first_line(exc.orig if exc.orig is not None else exc),
            fix="Correct 'data.query' in civicml.yaml, or check the database and credentials",
        ) from None
    except sa_exc.SQLAlchemyError as exc:
        raise DataError.build(
            f"The SQL query failed on {shown!r}",
            got=_first_line(exc),
            fix="Correct 'data.query' in civicml.yaml",
        ) from None
    finally:
        engine.dispose()


def _read_only(parsed: Any) -> tuple[Any, dict[str, Any]]:
    """The URL and driver arguments that open the database read-only where the driver allows.

    SQLite files open as ``file:...?mode=ro`` URIs; PostgreSQL sessions start with
    ``default_transaction_read_only`` on and (psycopg 3) run every query as a prepared
    statement, so a query cannot hold a second statement. Other drivers are unchanged: give
    civicml a database user that can only read.

    >>> import sqlalchemy as sa
    >>> url, args = _read_only(sa.engine.make_url("sqlite:////srv/claims.db"))
    >>> url.database, dict(url.query), args
    ('file:/srv/claims.db', {'mode': 'ro', 'uri': 'true'}, {})
    >>> _read_only(sa.engine.make_url("postgresql+psycopg://me@db/x"))[1]
    {'options': '-c default_transaction_read_only=on', 'prepare_threshold': 0}
    """
    from urllib.parse import quote

    backend = parsed.get_backend_name()
    if backend == "sqlite":
        db = parsed.database
        if not db or db == ":memory:" or "mode=memory" in str(parsed):
            return parsed, {}
        if not db.startswith("file:"):
            db = "file:" + quote(db, safe="/:\\")
        return parsed.set(database=db).update_query_dict({"mode": "ro", "uri": "true"}), {}
    if backend == "postgresql" and parsed.get_driver_name() == "psycopg":
        # every query a prepared statement: one statement only, so no "COMMIT; ..." games
        return parsed, {"options": "-c default_transaction_read_only=on", "prepare_threshold": 0}
    if backend == "postgresql" and parsed.get_driver_name() == "psycopg2":
        return parsed, {"options": "-c default_transaction_read_only=on"}
    return parsed, {}


def _resolve_sqlite(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file in ``url`` relative to ``base_dir`` rather than the cwd."""
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc

    try:
        parsed = sa.engine.make_url(url)
    except sa_exc.ArgumentError:
        return url  # read_sql reports it
    db = parsed.database
    if not parsed.drivername.startswith("sqlite") or not db or db == ":memory:":
        return url
    if db.startswith("file:") or Path(db).is_absolute():
        return url
    full = parsed.set(database=str((base_dir / db).resolve()))
    return full.render_as_string(hide_password=False)
