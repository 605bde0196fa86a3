"""Group representation: rows by protected characteristic, against reference shares.

The groups are the categories the profile already shows (a group of fewer than ``min_cell``
rows is never named), for each special-category column the scan found and each column the
spec names under ``protected:``. Given the share each group has in the population served
(``reference_shares``, from a census or the service's own records), each group's share in the
data is set beside it with the difference in percentage points.

Examples
--------
>>> cols = [{"name": "sex", "role": "categorical", "values_hidden": False, "count": 100,
...          "missing": 0, "categories": {"top": [{"value": "F", "count": 30, "share": 0.3},
...          {"value": "M", "count": 70, "share": 0.7}], "other_count": 0, "other_share": 0.0}}]
>>> rep = representation(cols, [], {"sex": "sex"}, {"sex": {"F": 0.51, "M": 0.49}}, min_cell=5)
>>> [(g["value"], g["share"], g["reference"], g["difference"]) for g in rep[0]["groups"]]
[('F', 0.3, 0.51, -0.21), ('M', 0.7, 0.49, 0.21)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml._errors import DataError

__all__ = ["check_reference_shares", "representation"]


def check_reference_shares(
    reference: Mapping[str, Mapping[str, float]], names: list[str]
) -> dict[str, dict[str, float]]:
    """``reference`` checked: known columns, shares between 0 and 1 that sum to at most 1.

    >>> check_reference_shares({"sex": {"F": 0.6, "M": 0.6}}, ["sex"])
    Traceback (most recent call last):
    ...
    civicml._errors.DataError: The reference shares of 'sex' add up to 1.2. Expected shares of the population served, adding up to at most 1. Give each group's share as a fraction (0.51, not 51).
    """
    out: dict[str, dict[str, float]] = {}
    for column, shares in reference.items():
        if column not in names:
            raise DataError.build(
                f"The reference shares name the column {column!r}, which is not in the data",
                expected=f"one of {names[:20]}",
                got=column,
                fix="Name a column of the file in the reference shares",
            )
        if not isinstance(shares, Mapping) or not shares:
            raise DataError.build(
                f"The reference shares of {column!r} are not a mapping of group to share",
                got=shares,
                fix='Write them as {"group": share, ...}',
            )
        clean: dict[str, float] = {}
        for group, share in shares.items():
            ok = isinstance(share, int | float) and not isinstance(share, bool)
            if not ok or not 0.0 <= float(share) <= 1.0:
                raise DataError.build(
                    f"The reference share of {column!r} = {group!r} is not between 0 and 1",
                    got=share,
                    fix="Give each group's share as a fraction (0.51, not 51)",
                )
            clean[str(group)] = float(share)
        total = sum(clean.values())
        if total > 1.0 + 1e-6:
            raise DataError.build(
                f"The reference shares of {column!r} add up to {total:.3g}",
                expected="shares of the population served, adding up to at most 1",
                fix="Give each group's share as a fraction (0.51, not 51)",
            )
        out[str(column)] = clean
    return out


_TRUE, _FALSE = {"1", "true", "yes", "y", "t"}, {"0", "false", "no", "n", "f"}


def _key(value: str) -> str:
    """A group's name for matching reference shares: case and spaces ignored, and the usual
    spellings of yes/no (1/0, true/false) made one.

    >>> _key(" Yes"), _key("0"), _key("North")
    ('true', 'false', 'north')
    """
    k = str(value).strip().lower()
    return "true" if k in _TRUE else "false" if k in _FALSE else k


def representation(
    columns: list[dict[str, Any]],
    special: list[dict[str, Any]],
    protected: Mapping[str, str] | None,
    reference: Mapping[str, Mapping[str, float]] | None,
    *,
    min_cell: int,
) -> list[dict[str, Any]]:
    """Rows by group for each protected or special-category column, beside reference shares.

    ``protected`` maps a protected characteristic to its column (the spec's ``protected:``);
    ``special`` is the profile's special-category findings; ``reference`` maps a column to
    ``{group: share}``. A reference group the data has fewer than ``min_cell`` rows of (or
    none) is listed with its reference share and no count.
    """
    reference = reference or {}
    why: dict[str, str] = {}
    for s in special:
        why.setdefault(s["column"], s["label"])
    for characteristic, column in (protected or {}).items():
        why[column] = characteristic.replace("_", " ")
    for column in reference:
        why.setdefault(column, "reference shares given")
    out = []
    for c in columns:
        if c["name"] not in why:
            continue
        entry: dict[str, Any] = {"column": c["name"], "characteristic": why[c["name"]]}
        ref = dict(reference.get(c["name"]) or {})
        cats = c.get("categories")
        if c["values_hidden"] or not cats:
            entry["groups"] = []
            entry["note"] = "values not shown" if c["values_hidden"] else "not a categorical column"
            out.append(entry)
            continue
        groups = []
        keys = {_key(k): k for k in ref}
        for t in cats["top"]:
            g: dict[str, Any] = {"value": t["value"], "count": t["count"], "share": t["share"]}
            if ref:
                r = ref.pop(keys.get(_key(t["value"]), t["value"]), None)
                g["reference"] = r
                g["difference"] = None if r is None else round(t["share"] - r, 6)
            groups.append(g)
        entry["groups"] = groups
        entry["other_count"] = cats["other_count"]
        entry["missing"] = c["missing"]
        if ref:
            reason = (
                f"fewer than {min_cell} rows, or not a value of {c['name']}"
                if cats["other_count"]
                else "not a value of "
                + c["name"]
                + " (its values: "
                + ", ".join(t["value"] for t in cats["top"])
                + ")"
            )
            entry["reference_not_shown"] = [
                {"value": v, "reference": r, "why": reason} for v, r in ref.items()
            ]
        out.append(entry)
    present = {c["name"] for c in columns}
    out += [
        {"column": column, "characteristic": why[column], "groups": [], "note": "not in this file"}
        for column in why
        if column not in present
    ]
    return out
