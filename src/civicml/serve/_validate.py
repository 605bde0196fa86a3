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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from civicml._errors import DataError

__all__ = ["ColumnCheck", "InputSchema", "ValidationFailed"]

Policy = Literal["reject", "allow"]

#: contract dtype -> Open Inference Protocol datatype
OIP_DATATYPE = {
    "integer": "FP64",
    "float": "FP64",
    "boolean": "BOOL",
    "string": "BYTES",
    "datetime": "BYTES",
}
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
        numeric = self.dtype in ("integer", "float")
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
        if bad_range:
            problems.append(
                self._problem(f"is outside the range [{self.min}, {self.max}]", bad_range, values)
            )
        if bad_cat:
            known = sorted(self.categories or ())
            problems.append(
                self._problem(f"is not a known category (one of {known[:20]})", bad_cat, values)
            )
        return out

    def _problem(
        self, what: str, rows: list[int], values: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {"field": self.name, "problem": what, "rows": rows[:20]}
        if values is not None:
            item["got"] = [_safe_repr(values[i]) for i in rows[:5]]
        return item


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
    ) -> InputSchema:
        """Compile ``contract.json`` for the model's ``features`` (columns not in it: any type)."""
        by_name = {c["name"]: c for c in (contract or {}).get("columns", []) if "name" in c}
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
                )
            )
        target = (contract or {}).get("target")
        extras = set(passthrough) | ({target} if target else set())
        extras |= {c["name"] for c in by_name.values() if c.get("role") in ("id", "target")}
        # columns the contract dropped (declared, or with a single value) are not inputs
        extras |= {str(d) for d in (contract or {}).get("dropped") or []}
        return cls(checks, extra_columns=extra_columns, passthrough=frozenset(extras))

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

    def openapi_properties(self) -> dict[str, Any]:
        """JSON-schema properties for one input row (used by the OpenAPI document)."""
        props: dict[str, Any] = {}
        for c in self.columns:
            if c.dtype in ("integer", "float"):
                s: dict[str, Any] = {"type": "integer" if c.dtype == "integer" else "number"}
                if c.min is not None and c.out_of_range == "reject":
                    s["minimum"] = c.min
                if c.max is not None and c.out_of_range == "reject":
                    s["maximum"] = c.max
            elif c.dtype == "boolean":
                s = {"type": "boolean"}
            else:
                s = {"type": "string"}
                if c.categories is not None and c.unknown_category == "reject":
                    s["enum"] = sorted(c.categories)
            if c.nullable:
                s = {"anyOf": [s, {"type": "null"}]}
            props[c.name] = s
        return props


def _num_or_none(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _policy(value: Policy | Mapping[str, Policy], name: str) -> Policy:
    if isinstance(value, str):
        return value
    return value.get(name, "reject")
