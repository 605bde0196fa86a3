"""The data contract: what each column of the training table is, learned once and checked later.

A :class:`DataContract` records, per column, its value type, its role in modelling, whether it
may be empty, its observed range or categories, and is saved next to the model as JSON. Scoring
data is checked against it with :func:`~civicml.data.validate_data`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from civicml._errors import ContractError, DataError

__all__ = [
    "CONTRACT_VERSION",
    "DTYPES",
    "ROLES",
    "ColumnContract",
    "DataContract",
    "infer_contract",
]

#: Version of the contract file format; a file from a newer civicml is refused.
CONTRACT_VERSION: int = 1
DTYPES: tuple[str, ...] = ("integer", "float", "boolean", "string", "datetime")
ROLES: tuple[str, ...] = ("numeric", "categorical", "text", "date", "id", "target")

Dtype = Literal["integer", "float", "boolean", "string", "datetime"]
Role = Literal["numeric", "categorical", "text", "date", "id", "target"]

#: Most distinct values a categorical column keeps as its allowed categories.
MAX_CATEGORIES: int = 1_000

_DATE_FORMATS: tuple[str, ...] = (
    "ISO8601",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%m/%d/%Y",
)
_DATE_SHAPE = r"^\s*\d{1,4}[-/. ][A-Za-z0-9]{1,9}[-/. ]\d{1,4}"
_ID_NAME = re.compile(r"(?:^|[_\W])(?:id|ref|reference|number|no|num)$|(?:ref|number)$", re.I)
_CAMEL_ID = re.compile(r"[a-z0-9](?:Id|ID)$")
_SAMPLE = 2_000


@dataclass(frozen=True)
class ColumnContract:
    """What one column holds.

    Parameters
    ----------
    name : str
        Column name.
    dtype : {"integer", "float", "boolean", "string", "datetime"}
        Type every non-empty value must parse as.
    role : {"numeric", "categorical", "text", "date", "id", "target"}
        How modelling uses the column.
    nullable : bool
        Whether empty values were seen (and so are allowed).
    null_share : float
        Share of empty values in the data the contract was learned from.
    min, max : float or str, optional
        Observed range: numbers for numeric columns, ISO dates for dates.
    categories : tuple of str, optional
        Allowed values of a categorical column (as text; ``1`` and ``1.0`` are both ``"1"``),
        or ``None`` when there were more than the cap.
    max_length : int, optional
        Longest text seen, for text columns.
    date_format : str, optional
        The format dates were written in (``"ISO8601"``, ``"%d/%m/%Y"``, ...).
    n_unique : int
        Distinct non-empty values seen.
    """

    name: str
    dtype: Dtype
    role: Role
    nullable: bool = True
    null_share: float = 0.0
    min: float | str | None = None
    max: float | str | None = None
    categories: tuple[str, ...] | None = None
    max_length: int | None = None
    date_format: str | None = None
    n_unique: int = 0


@dataclass(frozen=True)
class DataContract:
    """The expected shape of a table: its columns, target and size.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30, 41, 52], "region": ["N", "S", "N"], "y": [0, 1, 0]})
    >>> c = infer_contract(df, target="y")
    >>> [(col.name, col.dtype, col.role) for col in c.columns]
    [('age', 'integer', 'numeric'), ('region', 'string', 'categorical'), ('y', 'integer', 'target')]
    >>> DataContract.from_dict(c.to_dict()) == c
    True
    """

    columns: tuple[ColumnContract, ...]
    target: str | None = None
    n_rows: int = 0
    dropped: tuple[str, ...] = field(default=())
    version: int = CONTRACT_VERSION

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnContract:
        """The contract of one column; ``KeyError`` if it has none."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (lists, not tuples)."""
        data = asdict(self)
        data["columns"] = [
            {**c, "categories": list(c["categories"]) if c["categories"] is not None else None}
            for c in data["columns"]
        ]
        data["dropped"] = list(self.dropped)
        return data

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "data contract") -> DataContract:
        """Build a contract from :meth:`to_dict`'s output, checking every field.

        Raises
        ------
        ContractError
            A field is missing or of the wrong type, or the contract is from a newer civicml.
        """
        from pydantic import TypeAdapter, ValidationError

        if not isinstance(data, dict):
            raise ContractError.build(
                f"The {source} is not a JSON object",
                got=type(data).__name__,
                fix="Recreate it with 'civicml contract' or restore it from the bundle",
            )
        version = data.get("version", CONTRACT_VERSION)
        if isinstance(version, int) and version > CONTRACT_VERSION:
            raise ContractError.build(
                f"The {source} was written by a newer civicml (contract version {version})",
                expected=f"version {CONTRACT_VERSION} or lower",
                got=version,
                fix="Upgrade civicml",
            )
        try:
            contract = TypeAdapter(cls).validate_python(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(top level)"
            raise ContractError.build(
                f"The {source} is malformed at {where!r}: {first['msg']}",
                got=first.get("input"),
                fix="Recreate it with 'civicml contract' or restore it from the bundle",
            ) from None
        names = contract.names
        if len(set(names)) != len(names):
            raise ContractError.build(
                f"The {source} lists a column twice",
                got=sorted({n for n in names if names.count(n) > 1}),
                fix="Recreate it with 'civicml contract'",
            )
        return contract

    def save(self, path: str | Path) -> Path:
        """Write the contract as JSON, atomically (a temporary file, then ``os.replace``)."""
        target = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path) -> DataContract:
        """Read a contract written by :meth:`save`.

        Raises
        ------
        ContractError
            The file is missing, not JSON, or not a valid contract.
        """
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            raise ContractError.build(
                f"The data contract file {str(p)!r} does not exist",
                fix="Give the path of the contract.json saved with the model",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ContractError.build(
                f"The data contract file {str(p)!r} cannot be read",
                got=str(exc),
                fix="Check the file's permissions, or restore it from the bundle",
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError.build(
                f"The data contract file {str(p)!r} is not valid JSON "
                f"(line {exc.lineno}, column {exc.colno}: {exc.msg})",
                fix="Recreate it with 'civicml contract' or restore it from the bundle",
            ) from None
        return cls.from_dict(data, source=f"data contract file {str(p)!r}")


# --------------------------------------------------------------------------------------------
# helpers shared with validation
# --------------------------------------------------------------------------------------------


def is_text_dtype(s: pd.Series) -> bool:
    """True for string and object columns (pandas 3 reads text as ``str``)."""
    return bool(pd.api.types.is_string_dtype(s.dtype) or pd.api.types.is_object_dtype(s.dtype))


def value_key(v: Any) -> str:
    """Text form of a value for category comparison: ``1``, ``1.0`` and ``"1"`` agree."""
    if isinstance(v, bool | np.bool_):
        return "True" if v else "False"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def parse_dates(s: pd.Series, fmt: str | None) -> pd.Series:
    """Parse text as dates with one format (``None``: ISO 8601, then mixed); NaT if not."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    # parse each distinct value once: dates repeat a lot, and strptime is the slow part
    codes, uniques = pd.factorize(s)
    if len(uniques) == 0:
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    text = pd.Series(uniques).astype("str")
    out = _to_datetime(text, fmt or "ISO8601")
    if fmt is None:
        left = out.isna()
        if left.any():
            out = out.astype("datetime64[ns]")
            out[left] = _to_datetime(text[left], "mixed").astype("datetime64[ns]")
    values = out.to_numpy()[codes]
    values[codes < 0] = np.datetime64("NaT")
    return pd.Series(values, index=s.index)


def _to_datetime(s: pd.Series, fmt: str) -> pd.Series:
    kwargs: dict[str, Any] = {"errors": "coerce", "format": fmt}
    if fmt == "mixed":
        kwargs["dayfirst"] = True
    try:
        out = pd.to_datetime(s, **kwargs)
    except (ValueError, TypeError, OverflowError):
        try:
            out = pd.to_datetime(s, utc=True, **kwargs)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def detect_date_format(values: pd.Series, *, min_share: float = 0.9) -> str | None:
    """The first date format that parses at least ``min_share`` of the (non-null) values."""
    vals = values.dropna()
    if vals.empty:
        return None
    vals = vals.astype("str")
    if len(vals) > _SAMPLE:
        vals = vals.sample(_SAMPLE, random_state=0)
    if vals.str.match(_DATE_SHAPE).mean() < min_share:
        return None
    for fmt in _DATE_FORMATS:
        if _to_datetime(vals, fmt).notna().mean() >= min_share:
            return fmt
    return None


def closest(name: str, options: Sequence[str]) -> str:
    """' Did you mean 'x'?' or ''."""
    match = difflib.get_close_matches(name, [str(o) for o in options], n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def show_columns(columns: Iterable[Any], limit: int = 30) -> str:
    """A list of column names for a message, cut after ``limit``."""
    names = [str(c) for c in columns]
    if len(names) <= limit:
        return repr(names)
    return repr(names[:limit])[:-1] + f", ... ({len(names) - limit} more)]"


def has_nested(s: pd.Series) -> bool:
    """True for an object column holding lists, dicts or sets (nested JSON)."""
    if not pd.api.types.is_object_dtype(s.dtype):
        return False
    return bool(s.map(lambda v: isinstance(v, list | dict | set | tuple)).any())


def looks_like_id_name(name: str) -> bool:
    """True for names such as ``case_id``, ``CaseID``, ``claim_ref``, ``nhs_number``."""
    return bool(_ID_NAME.search(name) or _CAMEL_ID.search(name))


def looks_like_text(values: pd.Series) -> bool:
    """Free text: mostly values with spaces, and long or mostly distinct."""
    vals = values.dropna()
    if vals.empty:
        return False
    if len(vals) > _SAMPLE:
        vals = vals.sample(_SAMPLE, random_state=0)
    vals = vals.astype("str")
    if vals.str.contains(r"\s", regex=True).mean() < 0.5:
        return False
    lengths = vals.str.len()
    distinct = vals.nunique() / len(vals)
    return bool(lengths.mean() >= 25 or (distinct > 0.5 and vals.nunique() > 50))


# --------------------------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------------------------


def _dtype_of(s: pd.Series) -> Dtype:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(s.dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    return "string"


def _check_declared(df: pd.DataFrame, declared: dict[str, Iterable[str]]) -> None:
    for key, names in declared.items():
        for name in names:
            if name not in df.columns:
                raise DataError.build(
                    f"The column {name!r} listed under {key} is not in the data."
                    f"{closest(name, list(df.columns))} Columns are: {show_columns(df.columns)}",
                    fix=f"Correct or remove {name!r} under {key} in civicml.yaml",
                )


def _finite(x: Any) -> float | None:
    f = float(x)
    return f if math.isfinite(f) else None


def infer_contract(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    id_columns: Iterable[str] = (),
    text_columns: Iterable[str] = (),
    date_columns: Iterable[str] = (),
    categorical_columns: Iterable[str] = (),
    drop_columns: Iterable[str] = (),
    max_categories: int = MAX_CATEGORIES,
    personal_columns: Iterable[str] = (),
) -> DataContract:
    """Learn a :class:`DataContract` from a table; declared roles win over inferred ones.

    Inference: booleans and strings with few distinct values are categorical; numbers are
    numeric (numeric codes are categorical only when declared); strings that mostly parse as
    dates are dates; strings with spaces that are long or mostly distinct are text; a column
    whose values are all distinct is an id when its name says so (``case_id``, ``ClaimRef``,
    ``nhs_number``) or, for strings without spaces, whatever its name.

    Parameters
    ----------
    df : pandas.DataFrame
        The training table.
    target : str, optional
        The target column (role ``"target"``).
    id_columns, text_columns, date_columns, categorical_columns : iterable of str
        Declared roles (``columns.id`` etc. in civicml.yaml).
    drop_columns : iterable of str
        Columns left out of the contract (and ignored when validating).
    max_categories : int, default 1000
        A categorical column with more distinct values records no category list.
    personal_columns : iterable of str
        Columns holding personal data (``personal_data.allow``, ids, free text, what the scan
        found): the contract keeps their type and role but none of their values (no category
        list, no observed range), so a bundle carries no one's postcode or reference.

    Returns
    -------
    DataContract

    Raises
    ------
    DataError
        A declared column is not in the data, or the target is also declared as id or drop.

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "case_id": ["C1", "C2", "C3", "C4"],
    ...     "opened": ["01/02/2024", "03/02/2024", "15/03/2024", "30/04/2024"],
    ...     "band": [1, 2, 1, 3],
    ...     "paid": [True, False, True, True],
    ... })
    >>> c = infer_contract(df, categorical_columns=["band"])
    >>> {col.name: col.role for col in c.columns}
    {'case_id': 'id', 'opened': 'date', 'band': 'categorical', 'paid': 'categorical'}
    >>> c.column("opened").date_format, c.column("band").categories
    ('%d/%m/%Y', ('1', '2', '3'))
    """
    ids, texts, dates = list(id_columns), list(text_columns), list(date_columns)
    cats, drops = list(categorical_columns), list(drop_columns)
    _check_declared(
        df,
        {
            "columns.id": ids,
            "columns.text": texts,
            "columns.date": dates,
            "columns.categorical": cats,
            "columns.drop": drops,
        },
    )
    if target is not None:
        if target not in df.columns:
            raise DataError.build(
                f"The target column {target!r} is not in the data."
                f"{closest(target, list(df.columns))} Columns are: {show_columns(df.columns)}",
                fix="Set 'target' in civicml.yaml to one of them",
            )
        for key, names in (("columns.id", ids), ("columns.drop", drops)):
            if target in names:
                raise DataError.build(
                    f"The target column {target!r} is also listed under {key}",
                    fix=f"Remove {target!r} from {key} in civicml.yaml",
                )
    declared: dict[str, Role] = {}
    by_role: tuple[tuple[list[str], Role], ...] = (
        (cats, "categorical"),
        (dates, "date"),
        (texts, "text"),
        (ids, "id"),
    )
    for names, declared_role in by_role:
        for name in names:
            declared[name] = declared_role
    drop_set, personal = set(drops), {str(c) for c in personal_columns}
    columns = []
    for i, name in enumerate(df.columns):
        if name in drop_set:
            continue
        role: Role | None = "target" if name == target else declared.get(name)
        col = _column_contract(df.iloc[:, i], str(name), role, max_categories)
        if col.name in personal and col.role != "target":
            col = replace(col, categories=None, min=None, max=None)
        columns.append(col)
    return DataContract(
        columns=tuple(columns),
        target=target,
        n_rows=len(df),
        dropped=tuple(str(d) for d in drops),
    )


def _infer_role(s: pd.Series, name: str, max_categories: int) -> tuple[Role, str | None]:
    """Role and (for text dates) date format of an undeclared column."""
    vals = s.dropna()
    n = len(vals)
    if pd.api.types.is_bool_dtype(s.dtype):
        return "categorical", None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date", None
    if pd.api.types.is_numeric_dtype(s.dtype):
        if (
            n >= 2
            and looks_like_id_name(name)
            and (pd.api.types.is_integer_dtype(s.dtype) or bool((vals % 1 == 0).all()))
            and vals.nunique() == n
        ):
            return "id", None
        return "numeric", None
    if n == 0:
        return "categorical", None
    fmt = detect_date_format(vals)
    if fmt is not None:
        return "date", fmt
    if looks_like_text(vals):
        return "text", None
    n_unique = vals.nunique()
    if n >= 2 and n_unique == n:
        text = vals.astype("str")
        no_space = not bool(text.str.contains(r"\s", regex=True).any())
        if looks_like_id_name(name) or (no_space and n_unique > 20):
            return "id", None
    return "categorical", None


def _column_contract(
    s: pd.Series, name: str, declared: Role | None, max_categories: int
) -> ColumnContract:
    if has_nested(s):
        s = s.map(lambda v: repr(v) if isinstance(v, list | dict | set | tuple) else v)
    is_target = declared == "target"
    date_format: str | None = None
    if declared is None or is_target:
        base, date_format = _infer_role(s, name, max_categories)
        if is_target and base in ("id", "text", "date"):
            base = "categorical"
            date_format = None
    else:
        base = declared
        if base == "date" and is_text_dtype(s):
            date_format = detect_date_format(s, min_share=0.5)
    role: Role = "target" if is_target else base
    dtype: Dtype = _dtype_of(s)
    if base == "date":
        dtype = "datetime"
    n_null = int(s.isna().sum())
    vals = s.dropna()
    n_unique = int(vals.nunique())
    lo: float | str | None = None
    hi: float | str | None = None
    categories: tuple[str, ...] | None = None
    max_length: int | None = None

    if base == "date" and len(vals):
        parsed = parse_dates(vals, date_format).dropna()
        if len(parsed):
            lo, hi = parsed.min().isoformat(), parsed.max().isoformat()
    elif dtype in ("integer", "float") and len(vals):
        lo, hi = _finite(vals.min()), _finite(vals.max())
    if is_target:
        # class labels of a classification target, so unseen labels can be reported
        whole = dtype in ("integer", "float") and bool((vals % 1 == 0).all())
        wants = dtype in ("string", "boolean") or (whole and n_unique <= 20)
    else:
        wants = base == "categorical"
    if wants and n_unique <= max_categories:
        categories = tuple(sorted({value_key(v) for v in vals.unique()}, key=_sort_key))
    if base == "text" and len(vals):
        max_length = int(vals.astype("str").str.len().max())
    return ColumnContract(
        name=name,
        dtype=dtype,
        role=role,
        nullable=n_null > 0,
        null_share=round(n_null / len(s), 6) if len(s) else 0.0,
        min=lo,
        max=hi,
        categories=categories,
        max_length=max_length,
        date_format=date_format,
        n_unique=n_unique,
    )


def _sort_key(key: str) -> tuple[int, float, str]:
    try:
        return (0, float(key), key)
    except ValueError:
        return (1, 0.0, key)
