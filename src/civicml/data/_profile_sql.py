"""SQL fragments the data profile shares: quoted names, literals and bin expressions.

Every column name and category value that reaches DuckDB goes through :func:`quote_name` or
:func:`literal`, so a name or value from the data can never change a query.

Examples
--------
>>> print(quote_name("my col"), literal("O'Brien"))
"my col" 'O''Brien'
>>> finite(float("nan")) is None, finite(2)
(True, 2.0)
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["bin_expr", "finite", "group_expr", "literal", "quote_name"]


def quote_name(name: str) -> str:
    """A column name as a DuckDB identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string as a DuckDB literal."""
    return "'" + str(text).replace("'", "''") + "'"


def finite(v: Any) -> float | None:
    """``v`` as a float, or None when it is missing, infinite or not a number."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def bin_expr(c: str, lo: float, hi: float, bins: int) -> str:
    """The equal-width bin (0 to ``bins - 1``) of the quoted column ``c``; NULL when missing.

    >>> bin_expr('"x"', 0.0, 10.0, 2).startswith("CASE WHEN")
    True
    """
    width = (hi - lo) / bins if hi > lo else 1.0
    index = f"least(greatest(floor(({c}::DOUBLE - ({lo!r})) / ({width!r})), 0), {bins - 1})::INT"
    return f"CASE WHEN {c} IS NULL OR NOT isfinite({c}::DOUBLE) THEN NULL ELSE {index} END"


def group_expr(f: dict[str, Any]) -> str | None:
    """The group of each row for a profiled column ``f``: its histogram bin (numeric), its
    value when shown, else ``'(other)'`` (categorical); None when the column is not grouped.

    >>> print(group_expr({"name": "g", "values_hidden": False, "role": "categorical",
    ...                   "categories": {"top": [{"value": "a"}]}}))
    CASE WHEN "g" IS NULL THEN NULL WHEN "g"::VARCHAR IN ('a') THEN "g"::VARCHAR ELSE '(other)' END
    """
    c = quote_name(f["name"])
    if f["values_hidden"]:
        return None
    if f["role"] == "numeric" and f["numeric"].get("histogram") and "categories" not in f:
        hist = f["numeric"]["histogram"]
        lo, hi = hist[0]["low"], hist[-1]["high"]
        return bin_expr(c, lo, hi, len(hist))
    if "categories" in f:
        shown = [literal(s["value"]) for s in f["categories"]["top"]]
        if not shown:
            return f"CASE WHEN {c} IS NULL THEN NULL ELSE '(other)' END"
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN {c}::VARCHAR IN ({', '.join(shown)}) "
            f"THEN {c}::VARCHAR ELSE '(other)' END"
        )
    return None
