"""A sandbox for the SQL a project spec runs in DuckDB.

DuckDB is not a sandbox by default: a spec's SQL could write files (``COPY ... TO``), create
databases (``ATTACH``), load extensions, or read any file the process can
(``read_text('/etc/shadow')``). Every DuckDB connection that runs user SQL is opened here, in
two layers:

1. **Before running**, DuckDB's own parser checks the text: exactly one statement, and it must
   be a query (``SELECT``, ``WITH``, ``FROM``, ``DESCRIBE``, ``SUMMARIZE``). ``COPY``,
   ``EXPORT``, ``ATTACH``/``DETACH``, ``INSTALL``/``LOAD``, ``PRAGMA``, ``SET``/``RESET``,
   ``CALL``, ``CREATE`` (``CREATE SECRET`` included) and the rest are refused with one line.
   Literal file names given to file-reading table functions (``read_csv``, ``read_text``, ...)
   or written as ``FROM 'data/a.csv'`` must lie inside the allowed folders; relative ones are
   made absolute against the spec's folder (so the process's working directory never matters).
2. **The engine** enforces the same whatever the text: external access off, access only to the
   allowed folders (``allowed_directories``), extensions neither installed nor loaded
   automatically, Python variables not visible, and ``lock_configuration`` on, so a query
   cannot undo any of it.

The allowed folders are the spec's folder plus any listed in the ``CIVICML_SQL_ALLOWED_DIRS``
environment variable (separated by ``os.pathsep``).

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_text("x\\n1\\n2\\n")
>>> sql = prepare_sql("SELECT sum(x) AS s FROM 'a.csv'", [folder])
>>> with sandbox([folder]) as con:
...     con.execute(sql).fetchall()
[(3,)]
>>> prepare_sql("COPY (SELECT 1) TO 'out.csv'", [folder])
Traceback (most recent call last):
...
civicml._errors.DataError: The SQL in 'data.query' is refused: COPY writes files. Expected one query (SELECT, WITH or FROM); got "COPY (SELECT 1) TO 'out.csv'". Read data with a query only; civicml writes its own outputs.
>>> shutil.rmtree(folder)
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from civicml._errors import DataError

__all__ = [
    "ALLOWED_DIRS_ENV",
    "FILE_FUNCTIONS",
    "prepare_sql",
    "sandbox",
    "sandbox_refusal",
    "sql_folders",
]

#: Environment variable naming extra folders spec SQL may read (``os.pathsep``-separated).
ALLOWED_DIRS_ENV = "CIVICML_SQL_ALLOWED_DIRS"

#: Table functions whose positional string arguments are file names or globs.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "sniff_csv",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_schema",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "glob",
    }
)

# why each statement type is refused (DuckDB's StatementType names)
_REFUSED: dict[str, str] = {
    "COPY": "COPY writes files",
    "EXPORT": "EXPORT DATABASE writes files",
    "ATTACH": "ATTACH opens or creates database files",
    "DETACH": "DETACH changes attached databases",
    "LOAD": "INSTALL and LOAD add extensions",
    "PRAGMA": "PRAGMA (and IMPORT DATABASE) changes or reads engine state",
    "SET": "SET, RESET and USE change the engine's settings",
    "VARIABLE_SET": "SET VARIABLE changes the engine's state",
    "CALL": "CALL runs procedures",
    "CREATE": "CREATE (tables, macros, secrets) changes the database",
}
_GLOB = ("*", "?", "[", "{")
_QUERY_FIX = "Read data with a query only; civicml writes its own outputs"


def sql_folders(base_dir: str | Path | None) -> tuple[Path, ...]:
    """The folders spec SQL may read: ``base_dir`` (the working directory when ``None``)
    and those in ``CIVICML_SQL_ALLOWED_DIRS``, each fully resolved.

    Examples
    --------
    >>> sql_folders("/tmp")[0] == Path("/tmp").resolve()
    True
    """
    first = Path(base_dir).expanduser() if base_dir is not None else Path.cwd()
    extra = [p for p in os.environ.get(ALLOWED_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    seen: dict[Path, None] = {}
    for p in (first, *(Path(e).expanduser() for e in extra)):
        seen[Path(os.path.realpath(p))] = None
    return tuple(seen)


@contextmanager
def sandbox(
    folders: Sequence[Path], *, threads: int | None = None, memory_limit: str | None = None
) -> Iterator[Any]:
    """A locked-down in-memory DuckDB connection that can read only inside ``folders``.

    Register DataFrames with ``con.register`` as usual; the configuration is locked, so
    neither the caller nor a query can change settings afterwards.

    Parameters
    ----------
    folders : sequence of Path
        Fully resolved folders (see :func:`sql_folders`); the first is the spec's folder.
    threads : int, optional
        DuckDB's worker threads (set before the configuration is locked).
    memory_limit : str, optional
        DuckDB's memory cap (e.g. ``"2GB"``; above it, sorts and hash tables spill to a
        private temporary folder). Default: DuckDB's own, 80% of the machine's memory.

    Examples
    --------
    >>> with sandbox([Path(tempfile.gettempdir())], memory_limit="1GB") as con:
    ...     con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    '953.6 MiB'
    """
    import duckdb

    spill = tempfile.mkdtemp(prefix="civicml-duckdb-")  # 0700: DuckDB's spill files
    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        allowed = [_quote(str(f).rstrip("/") + "/") for f in folders]
        con.execute(f"SET temp_directory = {_quote(spill)}")
        con.execute(f"SET allowed_directories = [{', '.join(allowed)}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET python_enable_replacements = false")
        if threads is not None:
            con.execute(f"SET threads TO {int(threads)}")
        if memory_limit is not None:
            con.execute(f"SET memory_limit = {_quote(str(memory_limit))}")
        con.execute("SET enable_progress_bar = false")  # no bar drawn over the CLI's output
        con.execute("SET lock_configuration = true")
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 30 else text[:27].rstrip() + " ..."


def prepare_sql(
    sql: str,
    folders: Sequence[Path],
    *,
    tables: Iterable[str] = (),
    where: str = "'data.query'",
) -> str:
    """Check one piece of spec SQL before it runs and return it with file names made absolute.

    Parameters
    ----------
    sql : str
    folders : sequence of Path
        The allowed folders (see :func:`sql_folders`); relative file names are taken from the
        first.
    tables : iterable of str
        Names registered on the connection (never taken for file names).
    where : str
        Where the SQL comes from, for messages (``"'data.query'"``, ``"Transform step 2"``).

    Raises
    ------
    DataError
        One line naming what is refused: several statements, a statement that is not a query,
        or a literal file name or URL outside the allowed folders.

    Examples
    --------
    >>> prepare_sql("SELECT * FROM read_text('/etc/passwd')", [Path("/srv/project")])
    Traceback (most recent call last):
    ...
    civicml._errors.DataError: The SQL in 'data.query' is refused: it reads '/etc/passwd', outside the project's data folders. Expected a file under ['/srv/project']. Put the file in the project's folder, or add its folder to CIVICML_SQL_ALLOWED_DIRS.
    """
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except (duckdb.Error, ValueError) as exc:
        raise DataError.build(
            f"The SQL in {where} cannot be parsed",
            got=" ".join(str(exc).split())[:300],
            fix="Correct the SQL in civicml.yaml",
        ) from None
    if len(statements) != 1:
        raise DataError.build(
            f"The SQL in {where} is refused: it holds {len(statements)} statements",
            expected="exactly one query",
            fix="Keep one SELECT per query or transform step; add more 'sql:' steps instead",
        )
    kind = statements[0].type.name
    if kind != "SELECT":
        reason = _REFUSED.get(kind, f"a {kind} statement is not a query")
        raise DataError.build(
            f"The SQL in {where} is refused: {reason}",
            expected="one query (SELECT, WITH or FROM)",
            got=_short(sql),
            fix=_QUERY_FIX,
        )
    return _rewrite_paths(sql, folders, {t.lower() for t in tables}, where)


def _rewrite_paths(sql: str, folders: Sequence[Path], tables: set[str], where: str) -> str:
    """Make each literal file name absolute (checked against ``folders``) in the SQL text."""
    import duckdb

    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    except duckdb.Error:  # the engine's settings still apply; DuckDB reports the error
        return sql
    finally:
        con.close()
    doc = json.loads(row[0]) if row is not None else {"error": True}
    if doc.get("error"):
        return sql
    found: list[tuple[int, str]] = []
    _walk(doc["statements"], tables | _cte_names(doc), found)
    raw = sql.encode("utf-8")
    for start, name in sorted(set(found), reverse=True):
        full = _checked_path(name, folders, where)
        end = _literal_end(raw, start)
        if end is not None:
            raw = raw[:start] + _quote(full).encode("utf-8") + raw[end:]
    return raw.decode("utf-8")


def _literal_end(raw: bytes, start: int) -> int | None:
    """The end offset of the quoted literal or identifier that starts at ``start``."""
    quote = raw[start : start + 1]
    if quote not in (b"'", b'"'):
        return None
    i = start + 1
    while True:
        i = raw.find(quote, i)
        if i < 0:
            return None
        if raw[i + 1 : i + 2] != quote:
            return i + 1
        i += 2


def _cte_names(node: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        for entry in node.get("cte_map", {}).get("map", []) if "cte_map" in node else []:
            names.add(str(entry.get("key", "")).lower())
        for v in node.values():
            names |= _cte_names(v)
    elif isinstance(node, list):
        for v in node:
            names |= _cte_names(v)
    return names


def _walk(node: Any, tables: set[str], found: list[tuple[int, str]]) -> None:
    """Collect ``(byte offset, text)`` of each literal file name in the parse tree."""
    if isinstance(node, list):
        for v in node:
            _walk(v, tables, found)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "BASE_TABLE" and not node.get("schema_name") and not node.get("catalog_name"):
        name = str(node.get("table_name", ""))
        if name.lower() not in tables and any(c in name for c in "/.\\*?"):
            _literal_at(node, name, found)
    if kind == "TABLE_FUNCTION":
        func = node.get("function") or {}
        if str(func.get("function_name", "")).lower() in FILE_FUNCTIONS:
            for arg in func.get("arguments", []):
                if not arg.get("name"):
                    _strings(arg.get("expression"), found)
    for v in node.values():
        _walk(v, tables, found)


def _literal_at(node: dict[str, Any], text: str, found: list[tuple[int, str]]) -> None:
    start = node.get("query_location")
    if isinstance(start, int) and start < 2**32:
        found.append((start, text))


def _strings(expr: Any, found: list[tuple[int, str]]) -> None:
    """String constants in a positional argument (a name, or a list of names)."""
    if not isinstance(expr, dict):
        return
    if expr.get("class") == "CONSTANT":
        literal = expr.get("literal") or {}
        if literal.get("kind") == "STRING":
            _literal_at(expr, str(literal.get("text", "")), found)
        return
    if expr.get("class") == "FUNCTION" and expr.get("function_name") == "list_value":
        for arg in expr.get("arguments", []):
            _strings(arg.get("expression"), found)


def _checked_path(name: str, folders: Sequence[Path], where: str) -> str:
    """The absolute form of a literal file name, or a refusal when it leaves ``folders``."""
    shown = [str(f) for f in folders]
    if "://" in name or name.startswith(("s3:", "gs:", "az:", "hf:", "http:", "https:")):
        raise DataError.build(
            f"The SQL in {where} is refused: it reads {name!r}, a URL",
            expected=f"a file under {shown}",
            fix="Download the data into the project's folder first",
        )
    raw = Path(name).expanduser()
    joined = os.path.normpath(raw if raw.is_absolute() else folders[0] / raw)
    cut = min((joined.find(c) for c in _GLOB if c in joined), default=-1)
    fixed = os.path.dirname(joined[:cut]) if cut >= 0 else joined
    real = Path(os.path.realpath(fixed))
    if not any(real == f or f in real.parents for f in folders):
        raise DataError.build(
            f"The SQL in {where} is refused: it reads {name!r}, outside the project's data folders",
            expected=f"a file under {shown}",
            fix=f"Put the file in the project's folder, or add its folder to {ALLOWED_DIRS_ENV}",
        )
    return joined


def sandbox_refusal(exc: BaseException, where: str, folders: Sequence[Path]) -> DataError | None:
    """The one-line refusal for a DuckDB permission error raised by the sandbox, else ``None``.

    Examples
    --------
    >>> import duckdb
    >>> err = duckdb.PermissionException('Cannot access file "/etc/passwd" - disabled')
    >>> str(sandbox_refusal(err, "'data.query'", [Path("/srv/p")]))[:60]
    "The SQL in 'data.query' is refused: it tried to reach a file"
    >>> sandbox_refusal(ValueError("x"), "'data.query'", []) is None
    True
    """
    import duckdb

    if not isinstance(exc, duckdb.PermissionException):
        return None
    first = " ".join(str(exc).split("\n")[0].split())
    return DataError.build(
        f"The SQL in {where} is refused: it tried to reach a file, folder, extension or "
        "setting outside the project's data folders",
        expected=f"files under {[str(f) for f in folders]}, named as plain text",
        got=first[:300],
        fix=f"Read files in the project's folder (or add the folder to {ALLOWED_DIRS_ENV}); "
        "COPY, ATTACH, INSTALL and LOAD are not allowed",
    )
