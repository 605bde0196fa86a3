"""``civicml validate --spec``: the training-table checks and the UK personal-data scan of the
table a project spec names, on a reproducible DuckDB sample when the table is larger than
memory.

A spec whose data is one CSV or Parquet file over :data:`~civicml.data.STREAM_BYTES`, a folder
or a glob (the rule ``civicml train`` follows to sample a large file) is never loaded: DuckDB
draws :data:`SAMPLE_ROWS` rows (stratified by class for a classification target, every class
with at least two rows where the file has two) and the checks run on them. :class:`SpecCheck`
says on how many of how many rows, and by which method.

Examples
--------
>>> import tempfile, pathlib
>>> from civicml.spec import ProjectSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> n = 300
>>> _ = (d / "t.csv").write_text("age,postcode,y\\n" + "".join(
...     f"{20 + i % 50},SW1A {i % 9}AA,{i % 2}\\n" for i in range(n)))
>>> spec = ProjectSpec(name="demo", data={"path": "t.csv"}, target="y", task="binary",
...                    base_dir=str(d))
>>> found = check_spec_data(spec, out_of_core=True, sample_rows=100)
>>> found.rows_checked, found.rows_total, found.method
(100, 300, 'class-stratified reservoir sample')
>>> [(f.column, f.kind) for f in found.findings]
[('postcode', 'postcode')]
>>> print(found.note)
The checks ran on a class-stratified reservoir sample of 100 of 300 rows, drawn by DuckDB (seed 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from civicml._errors import DataError
from civicml.data._checks import check_training_table
from civicml.data._load import load_data
from civicml.data._outofcore import (
    _columns,
    _connect,
    _q,
    is_csv,
    is_large,
    sample_for_search,
    scan_sql,
    typed_scan,
)
from civicml.data._pii import PIIFinding, scan_personal_data

if TYPE_CHECKING:  # data/ imports no spec/ at run time: the spec is read by its attributes
    from civicml.spec import ProjectSpec

__all__ = ["SAMPLE_ROWS", "SpecCheck", "check_spec_data", "large_spec_source"]

#: The most rows of a table too large for memory that ``validate --spec`` checks (the number
#: ``civicml train`` searches on).
SAMPLE_ROWS = 200_000
_EVERY_ROW = "every row"


@dataclass(frozen=True)
class SpecCheck:
    """What ``validate --spec`` found in the spec's training table.

    Attributes
    ----------
    warnings : list of str
        :func:`~civicml.data.check_training_table`'s warnings.
    findings : list of PIIFinding
        The personal-data scan (empty when ``personal_data.scan`` is off).
    rows_checked, rows_total : int
        Rows the checks read, and rows in the table (equal unless sampled).
    columns : int
        Columns of the table.
    method : str
        ``"every row"``, ``"reservoir sample"`` or ``"class-stratified reservoir sample"``.
    seed : int
        The sample's seed (the spec's).
    """

    warnings: list[str] = field(default_factory=list)
    findings: list[PIIFinding] = field(default_factory=list)
    rows_checked: int = 0
    rows_total: int = 0
    columns: int = 0
    method: str = _EVERY_ROW
    seed: int = 0

    @property
    def sampled(self) -> bool:
        """Whether the checks ran on a sample rather than every row."""
        return self.method != _EVERY_ROW

    @property
    def note(self) -> str | None:
        """One sentence on the sample (``None`` when every row was checked)."""
        if not self.sampled:
            return None
        return (
            f"The checks ran on a {self.method} of {self.rows_checked:,} of "
            f"{self.rows_total:,} rows, drawn by DuckDB (seed {self.seed})."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``rows`` (the table's), ``columns``, ``warnings``, ``personal_data``
        and ``checked`` (``rows``, ``method``, ``seed``, ``sampled``, ``note``)."""
        return {
            "rows": self.rows_total,
            "columns": self.columns,
            "warnings": list(self.warnings),
            "personal_data": [f.to_dict() for f in self.findings],
            "checked": {
                "rows": self.rows_checked,
                "of_rows": self.rows_total,
                "method": self.method,
                "seed": self.seed,
                "sampled": self.sampled,
                "note": self.note,
            },
        }


def large_spec_source(
    spec: ProjectSpec, *, out_of_core: bool | None = None, asked_by: str = "--out-of-core"
) -> str | None:
    """The spec's one data file, folder or glob when it is to be sampled through DuckDB;
    ``None`` to load the table whole.

    The rule ``civicml train`` follows: one ``data.path`` (no ``sources:``, no
    ``transform:``), read as CSV or Parquet with no ``encoding``/``delimiter`` option, and
    :func:`~civicml.data.is_large` (``out_of_core=None``). ``out_of_core=True`` samples any
    such path (``asked_by`` names what asked for it in the error: ``--out-of-core``, or
    ``data_parallel: true``, whose workers read the file); ``False`` never samples.

    Raises
    ------
    DataError
        ``out_of_core=True`` for a spec whose data cannot be streamed.
    """
    if out_of_core is False:
        return None
    source = spec.data
    path = spec.data_path() if source is not None and source.path is not None else None
    streamable = (
        spec.sources is None
        and not spec.transform
        and path is not None
        and source is not None
        and source.format in ("auto", "csv", "parquet")
        and not source.encoding
        and not source.delimiter
        and _csv_or_parquet(path)
    )
    if not streamable or path is None:
        if out_of_core:
            raise DataError.build(
                f"{asked_by} needs the spec's data to be one CSV or Parquet file, folder or "
                "glob, read without encoding or delimiter options",
                fix=_STREAM_FIX.get(asked_by, "Convert the data to UTF-8 CSV or Parquet"),
            )
        return None
    if out_of_core is None and not is_large(path):
        return None
    return str(path)


#: how to get past each refusal of :func:`large_spec_source`
_STREAM_FIX = {
    "--out-of-core": "Run 'civicml validate --spec' without --out-of-core to load the table",
    "data_parallel: true": "Convert the data to one UTF-8 CSV or Parquet file, folder or glob "
    "(no encoding or delimiter options), or set data_parallel: false",
}


def _csv_or_parquet(path: Path) -> bool:
    """A CSV or Parquet file, or a folder or glob (of them: DuckDB says otherwise)."""
    text = str(path)
    if Path(text).is_dir() or any(ch in text for ch in "*?["):
        return True
    return is_csv(text) or text.lower().endswith(".parquet")


def check_spec_data(
    spec: ProjectSpec, *, out_of_core: bool | None = None, sample_rows: int | None = None
) -> SpecCheck:
    """Run ``validate --spec``'s checks on the spec's training table.

    A table :func:`large_spec_source` streams is checked on a reproducible sample of at most
    ``sample_rows`` rows drawn by DuckDB (seed: the spec's); any other is loaded whole
    (:func:`~civicml.data.load_data`) and every row checked.

    Parameters
    ----------
    spec : ProjectSpec
    out_of_core : bool, optional
        ``True`` sample through DuckDB, ``False`` load whole; ``None`` decide by size.
    sample_rows : int, optional
        The sample's size (default :data:`SAMPLE_ROWS`).

    Returns
    -------
    SpecCheck

    Raises
    ------
    DataError
        What :func:`~civicml.data.check_training_table` raises; on a sample, the message says
        so (row numbers then count within the sample).
    """
    path = large_spec_source(spec, out_of_core=out_of_core)
    if path is None:
        df = load_data(spec)
        total, method = len(df), _EVERY_ROW
    else:
        rows = SAMPLE_ROWS if sample_rows is None else int(sample_rows)
        df = _sample(path, spec.target, spec.task, rows, int(spec.seed))
        total, method = int(df.attrs["rows_in"]), str(df.attrs["method"])
    try:
        warnings = check_training_table(
            df,
            target=spec.target,
            task=spec.task,
            id_columns=spec.columns.id,
            drop_columns=spec.columns.drop,
            text_columns=spec.columns.text,
            date_columns=spec.columns.date,
            categorical_columns=spec.columns.categorical,
            group=spec.columns.group,
        )
    except DataError as exc:
        if method == _EVERY_ROW:
            raise
        raise type(exc).build(
            f"{str(exc).rstrip('.')} (checked on a {method} of {len(df):,} of {total:,} rows "
            "drawn by DuckDB; row numbers count within the sample)"
        ) from None
    findings = scan_personal_data(df) if spec.personal_data.scan else []
    return SpecCheck(
        warnings=list(warnings),
        findings=list(findings),
        rows_checked=len(df),
        rows_total=total,
        columns=int(df.shape[1]),
        method=method,
        seed=int(spec.seed),
    )


def _sample(path: str, target: str | None, task: str, max_rows: int, seed: int) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``path`` drawn by DuckDB, ``attrs`` as
    :func:`~civicml.data.sample_for_search` sets them: stratified by class for a
    classification target (every class the file holds twice kept twice, so the one-row-class
    check stays true to the file), a plain reservoir sample otherwise."""
    con = _connect()
    try:
        names = [n for n, _ in _columns(con, scan_sql(path))]  # the header only: no full pass
        if target is None or target not in names:  # the checks then say what is wrong
            return _reservoir(con, typed_scan(con, path), max_rows, seed)
    finally:
        con.close()
    stratify = {"binary": True, "multiclass": True, "regression": False}.get(task)
    if task in ("clustering", "anomaly"):
        stratify = False
    sample = sample_for_search(path, target, max_rows=max_rows, seed=seed, stratify=stratify)
    if sample.attrs.get("method") == "class-stratified reservoir sample":
        sample = _two_per_class(path, sample, target, seed)
    return sample


def _reservoir(con: Any, scan: str, max_rows: int, seed: int) -> pd.DataFrame:
    total = int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])
    if total <= max_rows:
        con.execute("SET preserve_insertion_order = true")
        out = con.execute(f"SELECT * FROM {scan}").df()
        method = _EVERY_ROW
    else:
        out = con.execute(
            f"SELECT * FROM (SELECT * FROM {scan}) "
            f"USING SAMPLE reservoir({int(max_rows)} ROWS) REPEATABLE ({int(seed)})"
        ).df()
        method = "reservoir sample"
    out.attrs.update(rows_in=total, seed=int(seed), method=method)
    return out


def _two_per_class(path: str, sample: pd.DataFrame, target: str, seed: int) -> pd.DataFrame:
    """Where a class has one row in the sample but more in the file, two of its rows instead."""
    counts = sample[target].value_counts()
    single = [v for v, n in counts.items() if n == 1]
    if not single:
        return sample
    con = _connect()
    try:
        scan = typed_scan(con, path)
        keep = sample[~sample[target].isin(single)]
        extra = []
        for value in single:
            cond = f"{_q(target)} = ?"
            n = int(con.execute(f"SELECT count(*) FROM {scan} WHERE {cond}", [value]).fetchone()[0])
            if n < 2:
                extra.append(sample[sample[target] == value])
                continue
            extra.append(
                con.execute(
                    f"SELECT * FROM (SELECT * FROM {scan} WHERE {cond}) "
                    f"USING SAMPLE reservoir(2 ROWS) REPEATABLE ({int(seed)})",
                    [value],
                ).df()[list(sample.columns)]
            )
    finally:
        con.close()
    out = pd.concat([keep, *extra], ignore_index=True)
    out.attrs.update(sample.attrs)
    return out
