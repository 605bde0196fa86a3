"""The training table a project spec names: one source read directly, or the ETL's output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from civicml.data._etl import run_etl
from civicml.data._sources import _resolve_sqlite, read_sql, read_table

if TYPE_CHECKING:
    from civicml.spec import ProjectSpec

__all__ = ["load_data"]


def load_data(spec: ProjectSpec) -> pd.DataFrame:
    """Load the training table a project spec names.

    A ``data.path`` is read with :func:`read_table` (relative to the spec's folder). A
    ``data.query`` runs in DuckDB, where relative file names are looked up in the spec's folder,
    or, with ``data.url``, on that database (a relative SQLite file is also taken from the
    spec's folder). With ``sources:`` or ``transform:`` steps the table is built by
    :func:`~civicml.data.run_etl`.

    Parameters
    ----------
    spec : ProjectSpec
        The loaded civicml.yaml.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from civicml.spec import ProjectSpec
    >>> spec = ProjectSpec(name="demo", data={"query": "SELECT 1 AS y"}, target="y")
    >>> load_data(spec)
       y
    0  1
    """
    if spec.sources is not None or spec.transform:
        return run_etl(spec).frame  # several sources or transform steps
    source = spec.data
    assert source is not None
    if source.path is not None:
        path = spec.data_path()
        assert path is not None
        return read_table(
            path,
            format=source.format,
            encoding=source.encoding,
            delimiter=source.delimiter,
            sheet=source.sheet,
        )
    assert source.query is not None
    base = Path(spec.base_dir)
    if source.url is not None:
        return read_sql(source.query, url=_resolve_sqlite(source.url, base))
    return read_sql(source.query, base_dir=base)
