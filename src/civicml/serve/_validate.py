"""Checking request rows against the bundle's data contract, compiled once at load.

:class:`InputSchema` turns ``contract.json`` into per-column checks (type, range, categories)
and validates a batch of rows column by column. Every failing field is collected into one
:class:`ValidationFailed` (HTTP 422) so a caller fixes everything in one round trip.

Examples
--------
>>> contract = {"columns": [
...     {"name": "age", "dtype": "integer", "role": "numeric", "nullable": False,
...      "min": 18, "max": 99},
...     {"name": "region", "dtype": "string", "role": "categorical", "nullable": True,
...      "categories": ["N", "S"]},
...     {"name": "y", "dtype": "integer", "role": "target"}]}
>>> schema = InputSchema.from_contract(contract, features=["age", "region"])
>>> schema.validate_columns({"age": [30], "region": ["N"]}, 1)["age"]
[30.0]
>>> try:
...     schema.validate_columns({"age": [7], "region": ["W"], "zz": [1]}, 1)
... except ValidationFailed as exc:
...     [e["field"] for e in exc.errors]
['zz', 'age', 'region']

A personal-data column's known values (and range) are never published: a 422 says "not a known
value" and OpenAPI gives a plain string, so a token holder cannot list whose data trained it.

>>> private = schema.with_personal(["region"])
>>> try:
...     private.validate_columns({"age": [30], "region": ["W"]}, 1)
... except ValidationFailed as exc:
...     exc.errors
[{'field': 'region', 'problem': 'is not a known value (checked against the data contract)', 'rows': [0]}]
>>> private.openapi_properties()["region"]["anyOf"][0]["type"], "enum" in str(private.openapi_properties())
('string', False)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from civicml._errors import DataError

__all__ = ["ColumnCheck", "InputSchema", "ValidationFailed", "personal_inputs"]

Policy = Literal["reject", "allow"]

#: contract dtype -> Open Inference Protocol datatype
OIP_DATATYPE = {
    "integer": "FP64",
    "float": "FP64",
    "boolean": "BOOL",
    "string": "BYTES",
    "datetime": "BYTES",
}
#: what a 422 and OpenAPI say instead of a personal-data column's known values or range
UNPUBLISHED = "checked against the data contract"
#: contract roles whose values describe a person (free text can name or describe anyone)
PERSONAL_ROLES = frozenset({"id", "text"})
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class ValidationFailed(DataError):
    """Request rows do not match the data contract (HTTP 422). ``errors`` lists every field."""

    http_status = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        shown = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(
            f"The request does not match the model's data contract: {shown}{more}. "
            "Fix the named fields and send the request again."
        )


@dataclass(frozen=True)
class ColumnCheck:
    """One input column's checks, precomputed from the contract."""

    name: str
    dtype: str
    role: str
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: frozenset[str] | None = None
    unknown_category: Policy = "reject"
    out_of_range: Policy = "reject"
    #: personal or special-category data: its categories and range are never published
    personal: bool = False
    #: how a date column's values are written (``"%d/%m/%Y"``, ``"ISO8601"``; ``None``: any)
    date_format: str | None = None

    @property
    def oip_datatype(self) -> str:
        return OIP_DATATYPE.get(self.dtype, "BYTES")

    def coerce(self, values: Sequence[Any], problems: list[dict[str, Any]]) -> list[Any]:
        """Values converted to what the model expects; failures are appended to ``problems``."""
        out: list[Any] = []
        bad_type: list[int] = []
        bad_null: list[int] = []
        bad_range: list[int] = []
        bad_cat: list[int] = []
        bad_date: list[int] = []
        numeric = self.dtype in ("integer", "float")
        dated = self.dtype == "datetime"
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and math.isnan(v) and numeric):
                if not self.nullable:
                    bad_null.append(i)
                out.append(None if not numeric else math.nan)
                continue
            if numeric:
                x = _to_float(v)
                if x is None or math.isinf(x):
                    bad_type.append(i)
                    out.append(math.nan)
                    continue
                if self.dtype == "integer" and not x.is_integer():
                    bad_type.append(i)
                if self.out_of_range == "reject" and (
                    (self.min is not None and x < self.min)
                    or (self.max is not None and x > self.max)
                ):
                    bad_range.append(i)
                elif (
                    self.categories is not None
                    and self.unknown_category == "reject"
                    and _num_text(x) not in self.categories
                ):
                    bad_cat.append(i)
                out.append(x)
            elif self.dtype == "boolean":
                b = _to_bool(v)
                if b is None:
                    bad_type.append(i)
                out.append(b)
            else:
                if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                    bad_type.append(i)
                    out.append(None)
                    continue
                s = v if isinstance(v, str) else _num_text(v)
                if dated and not is_date(s, self.date_format):
                    bad_date.append(i)
                if (
                    self.categories is not None
                    and self.unknown_category == "reject"
                    and s not in self.categories
                ):
                    bad_cat.append(i)
                out.append(s)
        if bad_null:
            problems.append(
                self._problem("is empty but the contract does not allow blanks", bad_null)
            )
        if bad_type:
            problems.append(self._problem(f"is not a valid {self.dtype}", bad_type, values))
        if bad_date:
            problems.append(
                self._problem(f"is not {_date_words(self.date_format)}", bad_date, values)
            )
        if bad_range and self.personal:
            problems.append(
                self._problem(f"is outside the allowed range ({UNPUBLISHED})", bad_range)
            )
        elif bad_range:
            problems.append(
                self._problem(f"is outside the range [{self.min}, {self.max}]", bad_range, values)
            )
        if bad_cat and self.personal:
            problems.append(self._problem(f"is not a known value ({UNPUBLISHED})", bad_cat))
        elif bad_cat:
            known = sorted(self.categories or ())
            problems.append(
                self._problem(f"is not a known category (one of {known[:20]})", bad_cat, values)
            )
        return out

    def _problem(
        self, what: str, rows: list[int], values: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"field": self.name, "problem": what, "rows": rows[:20]}
        if values is not None and not self.personal:  # no personal value echoed into logs
            item["got"] = [_safe_repr(values[i]) for i in rows[:5]]
        return item


def is_date(text: str, fmt: str | None) -> bool:
    """Whether ``text`` is a date written in ``fmt`` or as ISO 8601 (``fmt`` ``None``: any
    date a parser can read), the rule ``civicml predict`` and ``civicml validate`` apply too.

    >>> is_date("13/03/2024", "%d/%m/%Y"), is_date("2024-03-13", "%d/%m/%Y")
    (True, True)
    >>> is_date("03/13/2024", "%d/%m/%Y"), is_date("soon", None)
    (False, False)
    """
    if len(text) > 64:
        return False
    if fmt is not None and fmt != "ISO8601":
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            pass
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        return True
    except ValueError:
        pass
    if fmt is not None:
        return False
    from dateutil import parser as _dateutil

    try:
        _dateutil.parse(text, dayfirst=True)
        return True
    except (ValueError, OverflowError):
        return False


def _date_words(fmt: str | None) -> str:
    if fmt is None or fmt == "ISO8601":
        return "a valid date (ISO 8601, e.g. 2024-03-13)"
    return f"a date written {fmt} (or ISO 8601)"


def _safe_repr(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, str) and len(v) > 60:
        return v[:60] + "…"
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return type(v).__name__


def _to_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        try:
            return float(v)
        except OverflowError:
            return None
    if isinstance(v, str):
        try:
            return float(v.strip()) if len(v) < 64 else None
        except ValueError:
            return None
    return None


def _to_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str):
        s = v.strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
    return None


def _num_text(v: int | float) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass
class InputSchema:
    """The model's inputs: feature order, per-column checks, and the extra-column policy.

    Parameters
    ----------
    columns : list of ColumnCheck
        One per model feature, in the order the model expects.
    extra_columns : {"reject", "allow"}
        What to do with fields the model does not use (``allow`` drops them silently).
    passthrough : set of str
        Fields always accepted and ignored (e.g. declared id columns).
    """

    columns: list[ColumnCheck]
    extra_columns: Policy = "reject"
    passthrough: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.names = [c.name for c in self.columns]
        self.by_name = {c.name: c for c in self.columns}

    @classmethod
    def from_contract(
        cls,
        contract: Mapping[str, Any] | None,
        features: Sequence[str],
        *,
        extra_columns: Policy = "reject",
        unknown_category: Policy | Mapping[str, Policy] = "reject",
        out_of_range: Policy | Mapping[str, Policy] = "reject",
        passthrough: Iterable[str] = (),
        personal: Iterable[str] = (),
    ) -> InputSchema:
        """Compile ``contract.json`` for the model's ``features`` (columns not in it: any type).

        ``personal`` names the personal-data and special-category inputs (see
        :func:`personal_inputs`); id and free-text columns of the contract, and columns it flags
        ``personal`` or ``special_category``, count too. Their categories and ranges are
        checked but never published (in a 422 or in OpenAPI).
        """
        by_name = {c["name"]: c for c in (contract or {}).get("columns", []) if "name" in c}
        private = {str(p) for p in personal} | _flagged(by_name.values())
        checks = []
        for name in features:
            c = by_name.get(name, {})
            cats = c.get("categories")
            checks.append(
                ColumnCheck(
                    name=name,
                    dtype=str(c.get("dtype", "float" if not cats else "string")),
                    role=str(c.get("role", "numeric")),
                    nullable=bool(c.get("nullable", True)),
                    min=_num_or_none(c.get("min")),
                    max=_num_or_none(c.get("max")),
                    categories=frozenset(map(str, cats)) if cats is not None else None,
                    unknown_category=_policy(unknown_category, name),
                    out_of_range=_policy(out_of_range, name),
                    personal=name in private,
                    date_format=c.get("date_format")
                    if isinstance(c.get("date_format"), str)
                    else None,
                )
            )
        target = (contract or {}).get("target")
        extras = set(passthrough) | ({target} if target else set())
        extras |= {c["name"] for c in by_name.values() if c.get("role") in ("id", "target")}
        # columns the contract dropped (declared, or with a single value) are not inputs
        extras |= {str(d) for d in (contract or {}).get("dropped") or []}
        return cls(checks, extra_columns=extra_columns, passthrough=frozenset(extras))

    def with_personal(self, names: Iterable[str]) -> InputSchema:
        """A copy where the columns in ``names`` are personal data too (never unmarked).

        >>> s = InputSchema([ColumnCheck("a", "string", "categorical", categories=frozenset("x"))])
        >>> s.with_personal(["a", "not-an-input"]).by_name["a"].personal, s.by_name["a"].personal
        (True, False)
        """
        wanted = {str(n) for n in names}
        columns = [replace(c, personal=c.personal or c.name in wanted) for c in self.columns]
        return InputSchema(columns, extra_columns=self.extra_columns, passthrough=self.passthrough)

    @property
    def personal(self) -> frozenset[str]:
        """The inputs whose known values and range are not published."""
        return frozenset(c.name for c in self.columns if c.personal)

    def validate_columns(
        self, columns: Mapping[str, Sequence[Any]], n_rows: int
    ) -> dict[str, list[Any]]:
        """Check columnar input; return ``{feature: values}`` in model order or raise 422."""
        problems: list[dict[str, Any]] = []
        for name in columns:
            if (
                name not in self.by_name
                and name not in self.passthrough
                and self.extra_columns == "reject"
            ):
                problems.append(
                    {"field": str(name)[:100], "problem": "is not an input of this model"}
                )
        out: dict[str, list[Any]] = {}
        for check in self.columns:
            values = columns.get(check.name)
            if values is None:
                problems.append({"field": check.name, "problem": "is missing"})
                continue
            if len(values) != n_rows:
                problems.append(
                    {"field": check.name, "problem": f"has {len(values)} values, expected {n_rows}"}
                )
                continue
            out[check.name] = check.coerce(values, problems)
        if problems:
            raise ValidationFailed(problems)
        return out

    def validate_records(self, records: Sequence[Any]) -> dict[str, list[Any]]:
        """Check a list of ``{field: value}`` objects (one per row)."""
        if not records:
            raise ValidationFailed([{"field": "(body)", "problem": "holds no rows"}])
        if not all(isinstance(r, dict) for r in records):
            raise ValidationFailed(
                [{"field": "(body)", "problem": "each row must be a JSON object"}]
            )
        if len(records) == 1:
            row = records[0]
            cols: dict[str, list[Any]] = {k: [v] for k, v in row.items()}
        else:
            keys: dict[str, None] = {}
            for r in records:
                keys.update(dict.fromkeys(r))
            missing = object()
            cols = {}
            for k in keys:
                vals = [r.get(k, missing) for r in records]
                if any(v is missing for v in vals) and k in self.by_name:
                    rows = [i for i, v in enumerate(vals) if v is missing]
                    raise ValidationFailed(
                        [{"field": k, "problem": "is missing in some rows", "rows": rows[:20]}]
                    )
                cols[k] = [None if v is missing else v for v in vals]
        return self.validate_columns(cols, len(records))

    def openapi_properties(self, personal: Iterable[str] = ()) -> dict[str, Any]:
        """JSON-schema properties for one input row (used by the OpenAPI document).

        A personal-data column (flagged here or named in ``personal``) gets its type and a
        description, never its categories (``enum``) or range.
        """
        private = self.personal | {str(p) for p in personal}
        props: dict[str, Any] = {}
        for c in self.columns:
            checked = c.name in private and (
                c.categories is not None or c.min is not None or c.max is not None
            )
            if c.dtype in ("integer", "float"):
                s: dict[str, Any] = {"type": "integer" if c.dtype == "integer" else "number"}
                if c.min is not None and c.out_of_range == "reject" and c.name not in private:
                    s["minimum"] = c.min
                if c.max is not None and c.out_of_range == "reject" and c.name not in private:
                    s["maximum"] = c.max
            elif c.dtype == "boolean":
                s = {"type": "boolean"}
            else:
                s = {"type": "string"}
                if (
                    c.categories is not None
                    and c.unknown_category == "reject"
                    and c.name not in private
                ):
                    s["enum"] = sorted(c.categories)
            if checked:
                s["description"] = (
                    "Personal data: values are checked against the model's data contract, "
                    "which is not published"
                )
            if c.nullable:
                s = {"anyOf": [s, {"type": "null"}]}
            props[c.name] = s
        return props


def personal_inputs(
    contract: Mapping[str, Any] | None,
    spec: Mapping[str, Any] | None = None,
    info: Mapping[str, Any] | None = None,
) -> frozenset[str]:
    """The columns a bundle marks as personal or special-category data, from its
    ``contract.json``, ``spec.json`` and ``model_info.json``: ``personal_data.allow``, id and
    free-text columns, ``columns.special_category`` (not ``none``), the columns named under
    ``protected``, the special-category inputs found at training, and contract columns flagged
    ``personal`` or ``special_category``.

    >>> personal_inputs(
    ...     {"columns": [{"name": "notes", "role": "text"}, {"name": "region"}]},
    ...     {"personal_data": {"allow": ["postcode"]}, "protected": {"sex": "gender"},
    ...      "columns": {"id": ["ref"], "special_category": {"faith": "religious-or-"
    ...      "philosophical-beliefs", "colour": None}}},
    ...     {"special_category": {"ethnic_group": {}}, "id_columns": ["ref"]},
    ... ) == {"notes", "postcode", "gender", "ref", "faith", "ethnic_group"}
    True
    """
    spec, info = spec or {}, info or {}
    columns = spec.get("columns") or {}
    found: set[str] = set((spec.get("personal_data") or {}).get("allow") or [])
    found |= set(columns.get("id") or []) | set(columns.get("text") or [])
    found |= {c for c, cat in (columns.get("special_category") or {}).items() if cat}
    found |= {str(c) for c in (spec.get("protected") or {}).values() if c}
    found |= set(info.get("special_category") or {}) | set(info.get("id_columns") or [])
    found |= _flagged((contract or {}).get("columns") or [])
    return frozenset(str(c) for c in found)


def _flagged(columns: Iterable[Mapping[str, Any]]) -> set[str]:
    """Contract columns that describe a person: id and free-text roles, or flagged."""
    return {
        str(c["name"])
        for c in columns
        if "name" in c
        and (c.get("role") in PERSONAL_ROLES or c.get("personal") or c.get("special_category"))
    }


def _num_or_none(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _policy(value: Policy | Mapping[str, Policy], name: str) -> Policy:
    if isinstance(value, str):
        return value
    return value.get(name, "reject")
