"""Checking a table against a :class:`~civicml.data.DataContract`, vectorised.

Each broken rule becomes one :class:`ValidationIssue` that says which column, which rule, how
many rows and which rows (1-based data row numbers, as a person counts them in the file below
the header). Errors make the report fail; warnings are shown but do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from civicml._text import terminal_safe
from civicml.data._contract import (
    ColumnContract,
    DataContract,
    parse_dates,
    value_key,
)

__all__ = ["RULES", "ValidationIssue", "ValidationReport", "validate_chunks", "validate_data"]

Severity = Literal["error", "warning"]
#: What scoring does with a broken rule, as ``civicml serve`` and ``civicml predict`` take it:
#: ``reject`` makes it an error, ``allow`` a warning (scored as it is).
Policy = Literal["reject", "allow"]

#: Every rule and its default severity. ``strict=True`` makes every rule an error.
RULES: dict[str, Severity] = {
    "missing_column": "error",
    "type_mismatch": "error",
    "unexpected_null": "error",
    "out_of_range": "warning",
    "unknown_category": "warning",
    "extra_column": "warning",
}

_MAX_EXAMPLES = 5
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True)
class ValidationIssue:
    """One broken rule in one column.

    Parameters
    ----------
    column : str
    rule : str
        One of :data:`RULES`.
    n_rows : int
        How many rows break it (all rows for a missing or extra column).
    examples : tuple of int
        Up to 5 row numbers, 1-based, counting data rows below the header.
    message : str
        One readable sentence.
    severity : {"error", "warning"}
    """

    column: str
    rule: str
    n_rows: int
    examples: tuple[int, ...]
    message: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "n_rows": self.n_rows,
            "examples": list(self.examples),
            "message": self.message,
        }


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of :func:`validate_data`.

    Examples
    --------
    >>> from civicml.data import infer_contract
    >>> train = pd.DataFrame({"age": [30, 40, 50], "region": ["N", "S", "N"]})
    >>> new = pd.DataFrame({"age": [35, "old", None], "region": ["N", "W", "S"]})
    >>> report = validate_data(new, infer_contract(train))
    >>> report.ok
    False
    >>> [(i.column, i.rule, i.n_rows, i.examples) for i in report.issues]
    [('age', 'unexpected_null', 1, (3,)), ('age', 'type_mismatch', 1, (2,)), ('region', 'unknown_category', 1, (2,))]
    """

    issues: tuple[ValidationIssue, ...]
    n_rows: int
    n_columns: int
    strict: bool = False
    checked_columns: tuple[str, ...] = field(default=())

    @property
    def errors(self) -> list[ValidationIssue]:
        """Issues with severity ``"error"``."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ValidationIssue]:
        """Issues with severity ``"warning"``."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no issue is an error."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``--json`` output)."""
        return {
            "ok": self.ok,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "issues": [i.to_dict() for i in self.issues],
        }

    def render(self) -> str:
        """A plain-text summary line and table of the issues.

        Examples
        --------
        >>> issue = ValidationIssue("age", "unexpected_null", 2, (3, 9), "2 empty values.")
        >>> print(ValidationReport((issue,), n_rows=10, n_columns=4).render())
        Validation failed: 10 rows x 4 columns, 1 error, 0 warnings.
        severity  column  rule             rows  example rows  message
        error     age     unexpected_null     2  3, 9          2 empty values.
        """
        errors, warnings = len(self.errors), len(self.warnings)
        size = f"{self.n_rows:,} rows x {self.n_columns:,} columns"
        if not self.issues:
            return f"Validation passed: {size} match the data contract."
        head = "passed" if self.ok else "failed"
        summary = (
            f"Validation {head}: {size}, {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}."
        )
        header = ("severity", "column", "rule", "rows", "example rows", "message")
        rows = [  # a column name or value from data is shown terminal-safe and shortened
            (
                i.severity,
                terminal_safe(i.column, limit=80),
                i.rule,
                f"{i.n_rows:,}",
                ", ".join(map(str, i.examples)) or "-",
                terminal_safe(i.message, limit=500),
            )
            for i in self.issues
        ]
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header) - 1)]
        lines = [summary]
        for r in [header, *rows]:
            cells = []
            for k, cell in enumerate(r[:-1]):
                right = k == 3 and r is not header
                cells.append(cell.rjust(widths[k]) if right else cell.ljust(widths[k]))
            lines.append(("  ".join(cells) + "  " + r[-1]).rstrip())
        return "\n".join(lines)


def _examples(mask: np.ndarray, first_row: int = 1) -> tuple[int, ...]:
    return tuple(int(k) + first_row for k in np.flatnonzero(mask)[:_MAX_EXAMPLES])


def _show(values: list[Any]) -> str:
    shown = (repr(terminal_safe(value_key(v), limit=60)) for v in values[:3])
    return ", ".join(shown) + (", ..." if len(values) > 3 else "")


def validate_data(
    df: pd.DataFrame,
    contract: DataContract,
    *,
    require_target: bool = False,
    strict: bool = False,
    inputs: Sequence[str] | None = None,
    passthrough: Iterable[str] = (),
    unknown_category: Policy | Mapping[str, Policy] | None = None,
    out_of_range: Policy | Mapping[str, Policy] | None = None,
    extra_columns: Policy | None = None,
    first_row: int = 1,
) -> ValidationReport:
    """Check a table against a contract: columns, types, empties, ranges and categories.

    Rules (default severity): ``missing_column`` (error), ``type_mismatch`` (error: a value that
    does not parse as the column's type; a date must be written in the contract's
    ``date_format`` or as ISO 8601), ``unexpected_null`` (error: an empty value where the
    training data had none), ``out_of_range`` (warning: a number outside the training range),
    ``unknown_category`` (warning: a category never seen in training), ``extra_column``
    (warning: a column the contract does not know; columns it dropped are ignored).

    Scoring (``civicml predict``, as ``civicml serve`` checks a request) passes the model's
    ``inputs`` and the serving policies: only the inputs are required and checked; id, target
    and dropped columns of the contract and ``passthrough`` columns are not extra; a policy of
    ``"reject"`` makes its rule an error, ``"allow"`` a warning (a mapping gives one per column,
    ``"reject"`` for a column it does not name).

    Parameters
    ----------
    df : pandas.DataFrame
        The table to check, rows in file order.
    contract : DataContract
        What the table should look like.
    require_target : bool, default False
        Whether the target column must be present (``False`` for scoring data).
    strict : bool, default False
        Make every rule an error.
    inputs : sequence of str, optional
        The model's features: check these columns only (a feature the contract does not
        describe must be a number, as the server takes it).
    passthrough : iterable of str
        Columns that are never extra (ids to copy to the output, ``--keep`` columns).
    unknown_category, out_of_range : {"reject", "allow"} or mapping, optional
        Scoring policies for these rules (``None``: the default severity).
    extra_columns : {"reject", "allow"}, optional
        Scoring policy for columns that are neither inputs nor passthrough.
    first_row : int, default 1
        The row number of ``df``'s first row (a batch further down a file).

    Returns
    -------
    ValidationReport

    Examples
    --------
    >>> from civicml.data import infer_contract
    >>> train = pd.DataFrame({"age": [30, 40, 50], "region": ["N", "S", "N"], "id": [1, 2, 3]})
    >>> new = pd.DataFrame({"age": [35, 45], "region": ["N", "W"], "ref": ["a", "b"]})
    >>> report = validate_data(new, infer_contract(train), inputs=["age", "region"],
    ...                        unknown_category="reject", extra_columns="allow", first_row=101)
    >>> [(i.column, i.rule, i.severity, i.examples) for i in report.issues]
    [('region', 'unknown_category', 'error', (102,)), ('ref', 'extra_column', 'warning', ())]
    """
    report, _ = _validate_frame(
        df,
        contract,
        require_target=require_target,
        strict=strict,
        inputs=inputs,
        passthrough=passthrough,
        policies={
            "unknown_category": unknown_category,
            "out_of_range": out_of_range,
            "extra_column": extra_columns,
        },
        first_row=first_row,
    )
    return report


def _validate_frame(
    df: pd.DataFrame,
    contract: DataContract,
    *,
    require_target: bool,
    strict: bool,
    inputs: Sequence[str] | None,
    passthrough: Iterable[str],
    policies: dict[str, Policy | Mapping[str, Policy] | None],
    first_row: int,
) -> tuple[ValidationReport, dict[tuple[str, str], list[Any]]]:
    """:func:`validate_data`, and the offending values behind each issue's message."""
    issues: list[ValidationIssue] = []
    found: dict[tuple[str, str], list[Any]] = {}
    n = len(df)

    def add(
        col: str, rule: str, mask_or_count: np.ndarray | int, message: str, values: Any = ()
    ) -> None:
        if values:
            found.setdefault((col, rule), list(values))
        if isinstance(mask_or_count, np.ndarray):
            count, examples = int(mask_or_count.sum()), _examples(mask_or_count, first_row)
        else:
            count, examples = int(mask_or_count), ()
        policy = policies.get(rule)
        if isinstance(policy, Mapping):
            policy = policy.get(col, "reject")
        severity: Severity = RULES[rule] if policy is None else _SEVERITY[policy]
        if strict:
            severity = "error"
        issues.append(ValidationIssue(col, rule, count, examples, message, severity))

    columns, known = _scope(contract, inputs, passthrough)
    checked = []
    for col in columns:
        if col.name not in df.columns:
            if col.role == "target" and not require_target:
                continue
            add(col.name, "missing_column", n, f"Column {col.name!r} ({col.role}) is missing.")
            continue
        s = df[col.name]
        if isinstance(s, pd.DataFrame):  # duplicate names: check the first
            s = s.iloc[:, 0]
        checked.append(col.name)
        _check_column(s, col, add)
    for name in df.columns:
        if name not in known:
            add(
                str(name),
                "extra_column",
                n,
                f"Column {name!r} is not in the contract; it will be ignored.",
            )
    report = ValidationReport(
        issues=tuple(issues),
        n_rows=n,
        n_columns=df.shape[1],
        strict=strict,
        checked_columns=tuple(checked),
    )
    return report, found


_SEVERITY: dict[str, Severity] = {"reject": "error", "allow": "warning"}
_RULE_ORDER = {
    "missing_column": 0,
    "unexpected_null": 1,
    "type_mismatch": 2,
    "out_of_range": 3,
    "unknown_category": 4,
}


def validate_chunks(
    chunks: Iterable[pd.DataFrame],
    contract: DataContract,
    *,
    require_target: bool = False,
    strict: bool = False,
    inputs: Sequence[str] | None = None,
    passthrough: Iterable[str] = (),
    unknown_category: Policy | Mapping[str, Policy] | None = None,
    out_of_range: Policy | Mapping[str, Policy] | None = None,
    extra_columns: Policy | None = None,
    first_row: int = 1,
) -> ValidationReport:
    """:func:`validate_data` over a table that arrives in batches (a file too large for
    memory), with the same report: counts over every row, row numbers counted from the top
    of the table, the first offending values in table order, the same messages and order.

    Only one batch is held at a time. Every batch must have the same columns (as batches of one
    file do). The parameters are :func:`validate_data`'s.

    Examples
    --------
    >>> from civicml.data import infer_contract
    >>> train = pd.DataFrame({"age": [30, 40, 50], "region": ["N", "S", "N"]})
    >>> new = pd.DataFrame({"age": [35, "old", None, 99], "region": ["N", "W", "S", "E"]})
    >>> whole = validate_data(new, infer_contract(train))
    >>> batches = (new.iloc[i : i + 2] for i in range(0, 4, 2))
    >>> validate_chunks(batches, infer_contract(train)) == whole
    True
    """
    policies: dict[str, Policy | Mapping[str, Policy] | None] = {
        "unknown_category": unknown_category,
        "out_of_range": out_of_range,
        "extra_column": extra_columns,
    }
    passthrough = tuple(passthrough)
    columns, _ = _scope(contract, inputs, passthrough)
    by_name = {c.name: (k, c) for k, c in enumerate(columns)}
    merged: dict[tuple[str, str], list[Any]] = {}  # key -> [issue, count, examples, values]
    n, names = 0, None
    checked: tuple[str, ...] = ()
    for chunk in chunks:
        report, found = _validate_frame(
            chunk,
            contract,
            require_target=require_target,
            strict=strict,
            inputs=inputs,
            passthrough=passthrough,
            policies=policies,
            first_row=first_row + n,
        )
        if names is None:
            names, checked = [str(c) for c in chunk.columns], report.checked_columns
        for issue in report.issues:
            entry = merged.setdefault((issue.column, issue.rule), [issue, 0, [], []])
            entry[1] += issue.n_rows
            entry[2] = (entry[2] + list(issue.examples))[:_MAX_EXAMPLES]
            for v in found.get((issue.column, issue.rule), []):
                if len(entry[3]) <= 3 and v not in entry[3]:
                    entry[3].append(v)
        n += len(chunk)
    if names is None:
        return validate_data(pd.DataFrame(), contract, require_target=require_target,
                             strict=strict, inputs=inputs, passthrough=passthrough,
                             unknown_category=unknown_category, out_of_range=out_of_range,
                             extra_columns=extra_columns, first_row=first_row)  # fmt: skip
    issues = []
    for (column, rule), (first, count, examples, values) in merged.items():
        message = first.message
        if rule in _RULE_ORDER and rule != "missing_column":
            message = _message(rule, by_name[column][1], count, values)
        issues.append(replace(first, n_rows=count, examples=tuple(examples), message=message))

    def order(i: ValidationIssue) -> tuple[int, int, int]:
        if i.rule == "extra_column":
            return (1, names.index(i.column) if i.column in names else 0, 0)
        return (0, by_name[i.column][0], _RULE_ORDER[i.rule])

    return ValidationReport(
        issues=tuple(sorted(issues, key=order)),
        n_rows=n,
        n_columns=len(names),
        strict=strict,
        checked_columns=checked,
    )


def _scope(
    contract: DataContract, inputs: Sequence[str] | None, passthrough: Iterable[str]
) -> tuple[list[ColumnContract], set[str]]:
    """The columns to check, and every column name that is not extra."""
    if inputs is None:
        known = set(contract.names) | set(contract.dropped) | set(passthrough)
        return list(contract.columns), known
    by_name = {c.name: c for c in contract.columns}
    wanted = list(dict.fromkeys(inputs))
    # a feature the contract does not describe is a nullable number, as the server takes it
    columns = [by_name.get(name) or ColumnContract(name, "float", "numeric") for name in wanted]
    # as the server: id, target and dropped columns of the contract ride along with the inputs
    known = set(wanted) | set(passthrough) | set(contract.dropped)
    known |= {c.name for c in contract.columns if c.role in ("id", "target")}
    if contract.target:
        known.add(contract.target)
    return columns, known


def _check_column(s: pd.Series, col: ColumnContract, add: Any) -> None:
    null = s.isna().to_numpy()
    if not col.nullable and null.any():
        add(col.name, "unexpected_null", null, _message("unexpected_null", col, int(null.sum())))
    present = ~null
    parsed, bad = _parse(s, col, present)
    if bad.any():
        values = s[bad].unique().tolist()
        n_bad = int(bad.sum())
        add(col.name, "type_mismatch", bad, _message("type_mismatch", col, n_bad, values), values)
    ok = present & ~bad
    if col.dtype in ("integer", "float") and parsed is not None:
        vals = parsed.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            low = ok & (vals < col.min) if col.min is not None else np.zeros(len(s), bool)
            high = ok & (vals > col.max) if col.max is not None else np.zeros(len(s), bool)
        out = low | high
        if out.any():
            add(col.name, "out_of_range", out, _message("out_of_range", col, int(out.sum())))
    if col.categories is not None and ok.any():
        uniques = pd.unique(s[ok])
        allowed = set(col.categories)
        unknown = [u for u in uniques if value_key(u) not in allowed]
        if unknown:
            mask = s.isin(unknown).to_numpy() & ok
            k = int(mask.sum())
            message = _message("unknown_category", col, k, unknown)
            add(col.name, "unknown_category", mask, message, unknown)


def _message(rule: str, col: ColumnContract, count: int, values: Sequence[Any] = ()) -> str:
    """The sentence for a broken rule in a checked column (one template, whole table or
    batches merged)."""
    rows = f"{count:,} value{'s' if count != 1 else ''}"
    if rule == "unexpected_null":
        return f"{count:,} empty value{'s' if count != 1 else ''}; the training data had none."
    if rule == "type_mismatch":
        return f"{rows} not {_article(col)} ({_show(list(values))})."
    if rule == "out_of_range":
        return f"{rows} outside the training range [{_num(col.min)}, {_num(col.max)}]."
    return f"{rows} not seen in training ({_show(list(values))})."


def _num(x: Any) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _article(col: ColumnContract) -> str:
    if col.dtype == "datetime" and col.date_format not in (None, "ISO8601"):
        return f"a date written {col.date_format} (or ISO 8601)"
    return {
        "integer": "a whole number",
        "float": "a number",
        "boolean": "true/false",
        "string": "text",
        "datetime": "a date",
    }[col.dtype]


def _parse(
    s: pd.Series, col: ColumnContract, present: np.ndarray
) -> tuple[pd.Series | None, np.ndarray]:
    """The column parsed as the contract's type, and a mask of present values that fail."""
    no_bad = np.zeros(len(s), dtype=bool)
    if col.dtype in ("integer", "float"):
        if pd.api.types.is_bool_dtype(s.dtype):
            num = s.astype("float64")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            num = s
        else:
            num = pd.to_numeric(s, errors="coerce")
        arr = num.to_numpy(dtype="float64", na_value=np.nan)
        bad = present & ~np.isfinite(arr)  # text, and infinity (the server refuses both)
        if col.dtype == "integer":
            with np.errstate(invalid="ignore"):
                frac = np.isfinite(arr) & (np.mod(arr, 1) != 0)
            bad |= present & frac
        return num, bad
    if col.dtype == "boolean":
        if pd.api.types.is_bool_dtype(s.dtype):
            return s, no_bad
        uniques = pd.unique(s[present])
        wrong = [u for u in uniques if value_key(u).strip().lower() not in _TRUE | _FALSE]
        if not wrong:
            return None, no_bad
        return None, present & s.isin(wrong).to_numpy()
    if col.dtype == "datetime":
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return s, no_bad
        # the contract's format, or ISO 8601 (unambiguous); never a guess: 03/13/2024 is not
        # a date in a %d/%m/%Y file (the server checks a request the same way)
        fmt = col.date_format
        parsed = parse_dates(s, fmt)
        bad = present & parsed.isna().to_numpy()
        if bad.any() and fmt not in (None, "ISO8601"):
            retry = parse_dates(s[bad], "ISO8601")
            bad[np.flatnonzero(bad)[retry.notna().to_numpy()]] = False
        return parsed, bad
    return None, no_bad  # string: any value is acceptable as text
