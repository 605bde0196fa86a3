"""Which columns monitoring compares, how missing values count, and why others are left out.

Every way of asking "has this model drifted?" (``civicml monitor``, the dashboard's monitoring
page, the HTML report) reads the columns through these rules, so they cannot disagree:

- **Missing values are a category**, on the reference side and the current side alike: a
  categorical column's missing values (``None``, ``NaN``, ``pd.NA``, and the strings pandas
  writes for them, ``"<NA>"``, ``"nan"``, ``"NaN"``, ``"NaT"``) all become :data:`MISSING`.
  A column whose shares are unchanged, missing share included, does not drift.
- **Columns are handled as their roles say**: dates are not compared (their values move on
  with time, so they would always drift); free text is not compared (the decision log redacts
  it, and ``[redacted]`` is not a distribution); identifiers never are. Each such column is
  named in the report with the reason (:func:`left_out_reason`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"band": ["A", None, "<NA>", float("nan")], "x": [1.0, None, 2.0, 3.0]})
>>> missing_as_category(frame, {"band": "categorical", "x": "numeric"})["band"].tolist()
['A', '(missing)', '(missing)', '(missing)']
>>> left_out_reason("opened", role="date")
'a date: its values move on with time, so they are not compared'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "MISSING",
    "is_masked",
    "left_out_reason",
    "missing_as_category",
    "sketch_with_missing",
]

#: the category missing values count as, in the reference and in current traffic alike
MISSING = "(missing)"
#: strings pandas and numpy write for a missing value (a reference saved after ``astype(str)``)
MISSING_TEXTS = frozenset({"<NA>", "nan", "NaN", "NaT"})

#: why a column is not compared, by its contract role
ROLE_REASONS: dict[str, str] = {
    "date": "a date: its values move on with time, so they are not compared",
    "text": "free text: the decision log redacts it, so it is not compared",
    "id": "an identifier: never compared",
}
NOT_LOGGED = "not in the decision log"
REDACTED_IN_LOG = "personal data redacted in the decision log"
PSEUDONYMISED_IN_LOG = "special-category data pseudonymised in the decision log"
#: what ``civicml serve`` writes in place of a value: personal data and free text, and the
#: keyed pseudonym of a special-category value (equal values, equal pseudonyms)
REDACTED = "[redacted]"
_PSEUDONYM = re.compile(r"^pn_[0-9a-f]{32}$")
INFERRED_TEXT = "free text or identifiers (too many distinct values to compare as categories)"


def missing_as_category(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` whose categorical columns hold :data:`MISSING` for missing values.

    Run it on the reference and on current traffic alike (after
    :func:`civicml.monitor._reference.prepare_frame`). Numeric columns are left as they are:
    their missing values are dropped on both sides, as Evidently does, and the report gives
    the missing share of each side.
    """
    out = frame.copy()
    for name, kind in kinds.items():
        if kind != "categorical" or name not in out.columns:
            continue
        values = out[name].astype(object)
        missing = values.isna() | values.isin(MISSING_TEXTS)
        out[name] = values.where(~missing, MISSING)
    return out


def is_masked(values: pd.Series) -> str | None:
    """Why the log's ``values`` cannot be compared with the reference, or ``None``.

    Every logged value redacted (personal data, free text) or a keyed pseudonym (special
    category data): comparing them with the training values would always find drift.

    Examples
    --------
    >>> is_masked(pd.Series(["[redacted]", None, "[redacted]"]))
    'personal data redacted in the decision log'
    >>> is_masked(pd.Series(["pn_" + "0" * 32, "pn_" + "a1" * 16]))
    'special-category data pseudonymised in the decision log'
    >>> is_masked(pd.Series(["A", "[redacted]"])) is None
    True
    """
    present = values.dropna()
    if present.empty or not (
        pd.api.types.is_object_dtype(present) or pd.api.types.is_string_dtype(present)
    ):
        return None
    text = present.astype(str)
    if (text == REDACTED).all():
        return REDACTED_IN_LOG
    if text.str.match(_PSEUDONYM).all():
        return PSEUDONYMISED_IN_LOG
    return None


def sketch_with_missing(sketch: Mapping[str, Any]) -> dict[str, Any]:
    """A categorical sketch whose missing values count as the :data:`MISSING` category.

    A sketch keeps its missing values as ``n_missing`` beside the category counts; this moves
    them into the counts, the same way :func:`missing_as_category` treats rows.

    Examples
    --------
    >>> s = {"kind": "categorical", "n": 3, "n_missing": 1, "nunique": 2,
    ...      "categories": ["F", "M"], "counts": [2, 1]}
    >>> out = sketch_with_missing(s)
    >>> out["categories"], out["counts"], out["n"], out["n_missing"]
    (['F', 'M', '(missing)'], [2, 1, 1], 4, 0)
    """
    out = dict(sketch)
    categories = out.get("categories")
    if out.get("kind") != "categorical" or categories is None:
        return out
    merged: dict[Any, int] = {}
    for key, count in zip(categories, out.get("counts") or [], strict=True):
        label = MISSING if key is None or str(key) in MISSING_TEXTS else key
        merged[label] = merged.get(label, 0) + int(count)
    n_missing = int(out.get("n_missing") or 0)
    if n_missing:
        merged[MISSING] = merged.get(MISSING, 0) + n_missing
    out["categories"] = list(merged)
    out["counts"] = list(merged.values())
    out["n"] = int(sum(merged.values()))
    out["n_missing"] = 0
    out["nunique"] = len(merged)
    return out


def left_out_reason(name: str, *, role: str = "", sketch: Mapping[str, Any] | None = None) -> str:
    """Why a feature without a monitoring kind is not compared (its role, else its sketch).

    Examples
    --------
    >>> left_out_reason("notes", sketch={"kind": "text", "private": "text"})
    'free text: the decision log redacts it, so it is not compared'
    >>> left_out_reason("case_ref")
    'free text or identifiers (too many distinct values to compare as categories)'
    """
    if role in ROLE_REASONS:
        return ROLE_REASONS[role]
    if sketch is not None and sketch.get("kind") == "text":
        return ROLE_REASONS["text"]
    if role:
        return f"role {role!r}: not compared"
    return INFERRED_TEXT
