"""Declarative ETL: named sources, then ``transform:`` steps, giving the training table.

Each source in ``sources:`` (a file, a glob of files, a DuckDB query or a database URL + query)
is read and registered by name in one in-process DuckDB connection. SQL steps run there (joins,
filters, aggregates), and their output is registered under the step's ``name`` for later steps;
the built-in cleaning steps (drop duplicates by key, coerce types, trim text, map categories,
cap outliers, parse dates, age from date of birth) are vectorised pandas operations on one
table. Every step logs its rows in and out. Steps are pure: no clock, no randomness, no
working directory (relative paths resolve against the spec's folder), so the same inputs give
the same table.

A row-changing step (SQL, ``drop_duplicates``) that multiplies rows beyond ``max_fanout`` or
loses more than ``max_drop_share`` of its driving (FROM) input is an error, not a silent change.

Every source and the final table are fingerprinted as a :class:`DataVersion` (content sha256,
rows, schema and a per-column profile) so that runs can record and compare their data.
"""

from __future__ import annotations

import glob as _glob
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from civicml._errors import DataError, SpecError
from civicml.data._hashing import file_sha256, frame_sha256
from civicml.data._sandbox import prepare_sql, sandbox, sandbox_refusal, sql_folders
from civicml.data._sources import _first_line, _resolve_sqlite, read_sql, read_table

if TYPE_CHECKING:
    from civicml.spec import DataSource, ProjectSpec, TransformStep

__all__ = ["DataVersion", "EtlResult", "StepLog", "fingerprint", "load_sources", "run_etl"]

log = logging.getLogger("civicml.data.etl")

_PROFILE_COLUMNS = 500
_TOP_VALUES = 20
_GLOB_CHARS = ("*", "?", "[")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepLog:
    """What one transform step did: rows in (its driving input) and rows out."""

    index: int
    kind: str
    name: str
    inputs: tuple[str, ...]
    rows_in: int
    rows_out: int
    columns_out: int
    seconds: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        out = asdict(self)
        out["inputs"] = list(self.inputs)
        return out


@dataclass(frozen=True)
class DataVersion:
    """A fingerprint of one table: content hash, rows, schema and a per-column profile.

    ``role`` is ``"source"`` for an input and ``"table"`` for the training table.
    """

    name: str
    role: str
    sha256: str
    rows: int
    columns: int
    schema: dict[str, str]
    profile: dict[str, dict[str, Any]] = field(default_factory=dict)
    location: str | None = None
    file_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (see :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DataVersion:
        """Rebuild from :meth:`to_dict`'s output."""
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in doc.items() if k in keys})


@dataclass
class EtlResult:
    """The training table and how it was made."""

    frame: pd.DataFrame
    sources: list[DataVersion]
    table: DataVersion
    steps: list[StepLog]

    def data_versions(self) -> list[DataVersion]:
        """Every source's version, then the table's."""
        return [*self.sources, self.table]

    def to_dict(self) -> dict[str, Any]:
        """Sources, table and step log as JSON-ready mappings (the frame is left out)."""
        return {
            "sources": [v.to_dict() for v in self.sources],
            "table": self.table.to_dict(),
            "steps": [s.to_dict() for s in self.steps],
        }


# --------------------------------------------------------------------------------------------
# fingerprints
# --------------------------------------------------------------------------------------------


def fingerprint(
    frame: pd.DataFrame,
    name: str,
    *,
    role: str = "table",
    location: str | None = None,
    file_hash: str | None = None,
) -> DataVersion:
    """Fingerprint a table: its content sha256, row count, schema and per-column profile.

    The profile holds, for each column (up to 500), the share of missing values and either
    numeric summaries (mean, sd, min, max, 5/25/50/75/95th percentiles) or the most common
    values with their shares; ``civicml data diff`` compares two profiles.

    Examples
    --------
    >>> v = fingerprint(pd.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "a", "b"]}), "t")
    >>> v.rows, v.schema["x"], v.profile["x"]["null_share"], v.profile["c"]["top"]["a"]
    (3, 'float64', 0.3333, 0.6667)
    """
    return DataVersion(
        name=name,
        role=role,
        sha256=frame_sha256(frame),
        rows=len(frame),
        columns=frame.shape[1],
        schema={str(c): str(t) for c, t in frame.dtypes.items()},
        profile={str(c): _profile(frame[c]) for c in list(frame.columns)[:_PROFILE_COLUMNS]},
        location=location,
        file_sha256=file_hash,
    )


def _r(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return round(out, 6) if math.isfinite(out) else None


def _profile(col: pd.Series) -> dict[str, Any]:
    n = len(col)
    nulls = int(col.isna().sum())
    out: dict[str, Any] = {"null_share": round(nulls / n, 4) if n else 0.0}
    present = col.dropna()
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = pd.to_numeric(present, errors="coerce").astype("float64")
        values = values[values.map(math.isfinite)] if len(values) else values
        out["kind"] = "numeric"
        if len(values):
            q = values.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).tolist()
            out.update(
                mean=_r(values.mean()),
                sd=_r(values.std(ddof=0)),
                min=_r(values.min()),
                max=_r(values.max()),
                quantiles=[_r(v) for v in q],
            )
        return out
    out["kind"] = "categorical"
    text = present.astype(str)
    counts = text.value_counts(sort=True)
    out["n_unique"] = int(len(counts))
    top = counts.head(_TOP_VALUES)
    out["top"] = {str(k): round(int(v) / n, 4) for k, v in top.items()} if n else {}
    return out


# --------------------------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------------------------


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_source(name: str, source: DataSource, base: Path) -> tuple[pd.DataFrame, str, str | None]:
    """Read one source; return the frame, where it came from, and the file sha256 if one file."""
    if source.path is not None:
        raw = Path(source.path).expanduser()
        full = raw if raw.is_absolute() else base / raw
        kwargs: dict[str, Any] = {
            "format": source.format,
            "encoding": source.encoding,
            "delimiter": source.delimiter,
            "sheet": source.sheet,
        }
        if any(ch in source.path for ch in _GLOB_CHARS):
            files = sorted(Path(p) for p in _glob.glob(str(full)) if Path(p).is_file())
            if not files:
                raise DataError.build(
                    f"The source {name!r} matches no files",
                    got=source.path,
                    fix=f"Check 'sources.{name}.path' in civicml.yaml; it is relative to the "
                    "folder that holds civicml.yaml",
                )
            frames = [read_table(f, **kwargs) for f in files]
            return pd.concat(frames, ignore_index=True), source.path, None
        return (
            read_table(full, **kwargs),
            source.path,
            file_sha256(full) if full.is_file() else None,
        )
    assert source.query is not None
    if source.url is not None:
        import sqlalchemy as sa

        url = _resolve_sqlite(source.url, base)
        try:
            shown = sa.engine.make_url(url).render_as_string(hide_password=True)
        except Exception:  # read_sql reports a bad URL
            shown = "database"
        return read_sql(source.query, url=url), f"{shown}: {_short(source.query)}", None
    return read_sql(source.query, base_dir=base), f"duckdb: {_short(source.query)}", None


def load_sources(spec: ProjectSpec) -> tuple[dict[str, pd.DataFrame], list[DataVersion]]:
    """Read every input the spec names (``sources:`` or ``data:``) and fingerprint each.

    Returns
    -------
    frames : dict of str to DataFrame
        By source name (``"data"`` for a ``data:`` section).
    versions : list of DataVersion
        One per source, role ``"source"``, in the spec's order.
    """
    base = Path(spec.base_dir)
    frames: dict[str, pd.DataFrame] = {}
    versions: list[DataVersion] = []
    for name, source in spec.named_sources().items():
        frame, location, fhash = _read_source(name, source, base)
        frames[name] = frame
        versions.append(fingerprint(frame, name, role="source", location=location, file_hash=fhash))
    return frames, versions


# --------------------------------------------------------------------------------------------
# the pipeline
# --------------------------------------------------------------------------------------------


def run_etl(spec: ProjectSpec, *, on_step: Callable[[StepLog], None] | None = None) -> EtlResult:
    """Read the spec's sources, run its ``transform:`` steps, and fingerprint everything.

    With no steps the training table is the only source (a ``data:`` section, or
    ``sources:`` with a single entry).

    Parameters
    ----------
    spec : ProjectSpec
        The loaded civicml.yaml.
    on_step : callable, optional
        Called with each step's :class:`StepLog` as it finishes.

    Returns
    -------
    EtlResult

    Raises
    ------
    DataError
        A source cannot be read, a SQL step fails (the step is named and DuckDB's message
        shown), a column is missing or cannot be converted, or a step multiplies or drops rows
        beyond the guards.

    Examples
    --------
    >>> from civicml.spec import ProjectSpec
    >>> spec = ProjectSpec(
    ...     name="demo",
    ...     sources={"a": {"query": "SELECT * FROM range(4) t(id)"},
    ...              "b": {"query": "SELECT range AS id, range * 10 AS y FROM range(4)"}},
    ...     transform=[{"sql": "SELECT a.id, b.y FROM a JOIN b USING (id) ORDER BY id"}],
    ...     target="y")
    >>> result = run_etl(spec)
    >>> result.frame["y"].tolist(), (result.steps[0].rows_in, result.steps[0].rows_out)
    ([0, 10, 20, 30], (4, 4))
    """
    frames, versions = load_sources(spec)
    steps: list[StepLog] = []
    if not spec.transform:
        if len(frames) != 1:
            raise SpecError.build(
                f"'sources' names {len(frames)} inputs but there is no 'transform' step to "
                "combine them",
                fix="Add a 'transform:' list with a 'sql:' step that joins them",
            )
        frame = next(iter(frames.values()))
    else:
        frame = _run_steps(spec, frames, steps, on_step)
    if len(frame) == 0 or frame.shape[1] == 0:
        raise DataError.build(
            "The transform steps left an empty training table",
            fix="Check each step's rows in and out (civicml data etl SPEC) and their filters",
        )
    table = fingerprint(frame, "table", role="table", location="transform" if steps else None)
    return EtlResult(frame=frame, sources=versions, table=table, steps=steps)


def _label(index: int, step: TransformStep) -> str:
    return f"Transform step {index} ({step.kind}" + (f" {step.name!r})" if step.name else ")")


def _run_steps(
    spec: ProjectSpec,
    frames: dict[str, pd.DataFrame],
    steps: list[StepLog],
    on_step: Callable[[StepLog], None] | None,
) -> pd.DataFrame:
    folders = sql_folders(spec.base_dir)
    # one thread: stable row order and a light footprint
    with sandbox(folders, threads=1) as con:
        tables: dict[str, pd.DataFrame] = {}
        for name, frame in frames.items():
            con.register(name, frame)
            tables[name.lower()] = frame
        current: tuple[str, pd.DataFrame] | None = (
            next(iter(frames.items())) if len(frames) == 1 else None
        )
        guards = spec.transform_guards
        for index, step in enumerate(spec.transform, start=1):
            label = _label(index, step)
            started = time.perf_counter()
            note = ""
            if step.kind == "sql":
                out, inputs, base_rows = _sql_step(con, step.sql or "", tables, label, folders)
            else:
                in_name, in_frame = _input_of(step, tables, current, label)
                inputs, base_rows = (in_name,), len(in_frame)
                out, note = _clean_step(step, in_frame, label)
            if step.kind in ("sql", "drop_duplicates") and base_rows:
                _check_rows(step, label, inputs, base_rows, len(out), guards)
            out_name = step.name or f"step_{index}"
            con.register(out_name, out)
            tables[out_name.lower()] = out
            current = (out_name, out)
            entry = StepLog(
                index=index,
                kind=step.kind,
                name=out_name,
                inputs=inputs,
                rows_in=base_rows,
                rows_out=len(out),
                columns_out=out.shape[1],
                seconds=round(time.perf_counter() - started, 4),
                note=note,
            )
            log.info(
                "%s: %s rows in -> %s rows out%s",
                label,
                f"{entry.rows_in:,}",
                f"{entry.rows_out:,}",
                f" ({note})" if note else "",
            )
            steps.append(entry)
            if on_step is not None:
                on_step(entry)
        assert current is not None
        return current[1].reset_index(drop=True)


def _sql_step(
    con: Any, sql: str, tables: dict[str, pd.DataFrame], label: str, folders: tuple[Path, ...]
) -> tuple[pd.DataFrame, tuple[str, ...], int]:
    import duckdb

    inputs = _referenced(sql, tables)
    checked = prepare_sql(sql, folders, tables=tables, where=label[0].lower() + label[1:])
    try:
        out = con.execute(checked).df()
    except duckdb.Error as exc:
        refused = sandbox_refusal(exc, label[0].lower() + label[1:], folders)
        if refused is not None:
            raise refused from None
        raise DataError.build(
            f"{label} failed in DuckDB",
            got=_first_line(exc),
            fix=f"Correct that step's SQL in civicml.yaml; the tables it can use are "
            f"{sorted(tables)}, and file names are relative to the folder of civicml.yaml",
        ) from None
    base_rows = len(tables[inputs[0]]) if inputs else 0
    return out, inputs, base_rows


def _referenced(sql: str, tables: dict[str, pd.DataFrame]) -> tuple[str, ...]:
    """The registered tables a SQL text names, in the order they first appear (string
    literals and comments ignored); the first is the step's driving (FROM) table.

    >>> _referenced("SELECT * FROM b2 JOIN a USING (id) WHERE x = 'c'", {"a": 0, "b2": 0, "c": 0})
    ('b2', 'a')
    """
    text = re.sub(r"'(?:[^']|'')*'|--[^\n]*", " ", sql).lower()
    tokens = re.findall(r'(?<![\w.])"?([a-z_][a-z0-9_]*)"?(?![\w(])', text)
    return tuple(dict.fromkeys(t for t in tokens if t in tables))


def _input_of(
    step: TransformStep,
    tables: dict[str, pd.DataFrame],
    current: tuple[str, pd.DataFrame] | None,
    label: str,
) -> tuple[str, pd.DataFrame]:
    if step.input is not None:
        key = step.input.lower()
        if key not in tables:
            import difflib

            close = difflib.get_close_matches(key, list(tables), n=1)
            raise SpecError.build(
                f"{label} reads {step.input!r}, which is not a source or an earlier step",
                expected=f"one of {sorted(tables)}",
                got=step.input,
                fix=f"Did you mean {close[0]!r}?" if close else "Fix 'input' in civicml.yaml",
            )
        return step.input, tables[key]
    if current is None:
        raise SpecError.build(
            f"{label} does not say which table to work on",
            expected=f"'input:' set to one of {sorted(tables)}",
            fix="Set 'input:' on the step, or put a 'sql:' step that joins the sources first",
        )
    return current


def _check_rows(
    step: TransformStep,
    label: str,
    inputs: tuple[str, ...],
    base_rows: int,
    rows_out: int,
    guards: Any,
) -> None:
    fanout = step.max_fanout if step.max_fanout is not None else guards.max_fanout
    drop = step.max_drop_share if step.max_drop_share is not None else guards.max_drop_share
    largest = repr(inputs[0]) if inputs else "its input"
    if rows_out > base_rows * fanout:
        ratio = rows_out / base_rows
        raise DataError.build(
            f"{label} multiplied the rows: {base_rows:,} in (from {largest}) became "
            f"{rows_out:,} out (x{ratio:.3g})",
            expected=f"at most x{fanout:g} (max_fanout)",
            fix="A join key is probably not unique in one table: deduplicate it first or fix "
            f"the join condition; if intended, set 'max_fanout: {math.ceil(ratio * 100) / 100}' "
            "on this step",
        )
    lost = 1 - rows_out / base_rows
    if lost > drop + 1e-12:
        raise DataError.build(
            f"{label} dropped {lost:.1%} of the rows: {base_rows:,} in (from {largest}) "
            f"became {rows_out:,} out",
            expected=f"at most {drop:.1%} dropped (max_drop_share)",
            fix="Check the join keys and filters (a LEFT JOIN keeps unmatched rows); if intended "
            f"(e.g. an aggregate), set 'max_drop_share: {math.ceil(lost * 100) / 100}' on this "
            "step",
        )


# --------------------------------------------------------------------------------------------
# cleaning steps
# --------------------------------------------------------------------------------------------


def _need_columns(frame: pd.DataFrame, columns: list[str], label: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError.build(
            f"{label} names columns that are not in its input",
            expected=f"columns among {list(map(str, frame.columns))[:30]}",
            got=missing,
            fix="Fix the column names in that step of civicml.yaml",
        )


def _examples(values: pd.Series) -> list[Any]:
    return [v for v in values.drop_duplicates().head(3).tolist()]


def _clean_step(step: TransformStep, frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, str]:
    kind = step.kind
    out = frame.copy()
    if kind == "drop_duplicates":
        dd = step.drop_duplicates
        assert dd is not None
        _need_columns(out, dd.key, label)
        deduped = out.drop_duplicates(subset=dd.key, keep=dd.keep).reset_index(drop=True)
        return deduped, f"{len(out) - len(deduped):,} duplicate rows dropped"
    if kind == "coerce":
        mapping = step.coerce or {}
        _need_columns(out, list(mapping), label)
        for col, to in mapping.items():
            out[col] = _coerce(out[col], to, f"{label}, column {col!r}")
        return out, ""
    if kind == "trim_text":
        cols = step.trim_text or []
        _need_columns(out, cols, label)
        for col in cols:
            s = out[col].astype("string")
            s = s.str.normalize("NFKC").str.strip().str.replace(r"\s+", " ", regex=True)
            out[col] = s.mask(s == "")
        return out, ""
    if kind == "map_categories":
        maps = step.map_categories or {}
        _need_columns(out, list(maps), label)
        changed = 0
        for col, cat_map in maps.items():
            lookup = {str(k): v for k, v in cat_map.items()}
            before = out[col]
            after = before.map(lambda v, m=lookup: v if _isna(v) else m.get(str(v), v))
            changed += int((before.astype(str) != after.astype(str)).sum())
            out[col] = after.astype(object) if after.dtype == object else after
        return out, f"{changed:,} values mapped"
    if kind == "cap_outliers":
        caps = step.cap_outliers or {}
        _need_columns(out, list(caps), label)
        capped = 0
        for col, bounds in caps.items():
            s = out[col]
            if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                raise DataError.build(
                    f"{label} can only cap numeric columns",
                    got=f"{col} ({s.dtype})",
                    fix="Add a 'coerce' step that makes it 'float' first",
                )
            lo = s.quantile(bounds.lower_quantile) if bounds.lower_quantile is not None else None
            hi = s.quantile(bounds.upper_quantile) if bounds.upper_quantile is not None else None
            clipped = s.clip(lower=lo, upper=hi)
            capped += int((clipped != s).fillna(False).sum())
            out[col] = clipped
        return out, f"{capped:,} values capped"
    if kind == "parse_dates":
        for col, fmt in (step.parse_dates or {}).items():
            _need_columns(out, [col], label)
            out[col] = _to_dates(out[col], fmt, f"{label}, column {col!r}")
        return out, ""
    if kind == "age_from_dob":
        spec = step.age_from_dob
        assert spec is not None
        _need_columns(out, [spec.column], label)
        dob = _to_dates(out[spec.column], spec.format, f"{label}, column {spec.column!r}")
        as_of = pd.Timestamp(spec.as_of)
        later = dob > as_of
        if bool(later.fillna(False).any()):
            raise DataError.build(
                f"{label}: {int(later.sum()):,} dates of birth are after as_of {spec.as_of}",
                got=_examples(out.loc[later.fillna(False), spec.column]),
                fix="Correct those dates, or set 'as_of' to the date the data describes",
            )
        before_birthday = (dob.dt.month > as_of.month) | (
            (dob.dt.month == as_of.month) & (dob.dt.day > as_of.day)
        )
        age = as_of.year - dob.dt.year - before_birthday.astype("Int64")
        if spec.drop:
            out = out.drop(columns=[spec.column])
        out[spec.name] = age.astype("Int64")
        return out, f"age as of {spec.as_of}" + (f"; {spec.column!r} dropped" if spec.drop else "")
    raise AssertionError(f"unhandled step kind {kind!r}")  # pragma: no cover


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _coerce(s: pd.Series, to: str, where: str) -> pd.Series:
    present = s.notna()
    if to in ("int", "float"):
        text = s.astype("string").str.strip().str.replace(",", "", regex=False)
        num = pd.to_numeric(
            text if s.dtype == object or "str" in str(s.dtype) else s, errors="coerce"
        )
        bad = present & num.isna()
        if to == "int":
            frac = num.notna() & (num.astype("float64") % 1 != 0)
            bad = bad | frac
        if bool(bad.any()):
            raise DataError.build(
                f"{where}: {int(bad.sum()):,} values are not {'whole numbers' if to == 'int' else 'numbers'}",
                got=_examples(s[bad]),
                fix="Clean them first (map_categories or a sql step), or drop the column",
            )
        return num.astype("Int64") if to == "int" else num.astype("float64")
    if to in ("str", "category"):
        return s.astype("string")
    if to == "bool":
        text = s.astype("string").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[text.isin(_TRUE).fillna(False)] = True
        out[text.isin(_FALSE).fillna(False)] = False
        bad = present & out.isna()
        if bool(bad.any()):
            raise DataError.build(
                f"{where}: {int(bad.sum()):,} values are not true/false",
                expected=f"one of {sorted(_TRUE | _FALSE)}",
                got=_examples(s[bad]),
                fix="Map them with a map_categories step first",
            )
        return out
    return _to_dates(s, None, where)  # "date"


def _to_dates(s: pd.Series, fmt: str | None, where: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    parsed = pd.to_datetime(
        s, format=fmt if fmt else "mixed", errors="coerce", dayfirst=fmt is None
    )
    bad = s.notna() & parsed.isna()
    if bool(bad.any()):
        raise DataError.build(
            f"{where}: {int(bad.sum()):,} values are not dates"
            + (f" in the format {fmt!r}" if fmt else ""),
            got=_examples(s[bad]),
            fix="Fix the format in civicml.yaml (e.g. '%d/%m/%Y'), or clean those values",
        )
    return parsed
