"""The monitoring reference a bundle keeps, without people in it.

A bundle's ``reference.parquet`` holds sampled training rows of the columns that are **not**
personal data, special-category data, protected characteristics or free text. Those columns
are kept in ``reference.json`` as distributions only (:func:`civicml.monitor.sketch_column`):
numeric value counts or a quantile sketch, category shares (without labels for personal data),
and for free text counts of lengths and words. ``reference.json`` also holds what monitoring
used to recompute from the raw rows: the model's score and decision on the sampled rows, the
typical value of each private input (for explanations), and for each protected characteristic
the reference selection counts per group (for fairness drift).

Drift on a private column runs from its sketch with the same tests; a value-count sketch (any
column with at most 200 distinct values, such as an age) gives the same scores as the raw rows.

Examples
--------
>>> import pandas as pd
>>> sample = pd.DataFrame({"tenure": [1.5, 2.0, 7.5], "postcode": ["SW1A 1AA", "M1 1AE", "M1 1AE"],
...                        "age": [30, 41, 30], "notes": ["rang twice", "no answer", None]})
>>> public, doc = build_reference(
...     sample, features=["tenure", "postcode", "age", "notes"],
...     roles={"tenure": "numeric", "postcode": "categorical", "age": "numeric", "notes": "text"},
...     private={"postcode": "personal", "age": "protected", "notes": "text"})
>>> list(public.columns), sorted(doc["columns"])
(['tenure'], ['age', 'notes', 'postcode'])
>>> "SW1A 1AA" in str(doc) or "rang twice" in str(doc)
False
>>> doc["typical"]
{'postcode': None, 'age': 30.0, 'notes': ''}
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.monitor._profile import (
    PRIVATE_REASONS,
    infer_column_kind,
    sketch_column,
    to_python_scalar,
)

__all__ = [
    "REFERENCE_DOCUMENT",
    "as_text",
    "band_edges",
    "bands",
    "build_reference",
    "column_kinds",
    "group_counts",
    "prepare_frame",
    "private_columns",
    "private_sketches",
]

#: the bundle document beside ``reference.parquet``
REFERENCE_DOCUMENT = "reference.json"
FORMAT = "civicml-reference"
FORMAT_VERSION = 1


def private_columns(
    features: Iterable[str],
    *,
    spec: Mapping[str, Any],
    roles: Mapping[str, str],
    special: Iterable[str] = (),
    found: Iterable[str] = (),
) -> dict[str, str]:
    """Features a bundle keeps as distributions only, and why (the first reason that applies).

    ``text``: free text (contract role, or ``columns.text`` in the spec); ``personal``:
    ``personal_data.allow``, ``columns.id`` or ``found`` by the personal-data scan;
    ``special``: UK GDPR Art. 9 inputs (``special``, as in ``model_info.json``);
    ``protected``: a column under the spec's ``protected:``.

    Examples
    --------
    >>> spec = {"personal_data": {"allow": ["postcode"]}, "protected": {"sex": "sex"}}
    >>> private_columns(["postcode", "sex", "notes", "tenure"], spec=spec, roles={"notes": "text"})
    {'postcode': 'personal', 'sex': 'protected', 'notes': 'text'}
    """
    cols = spec.get("columns") or {}
    text = {*(cols.get("text") or []), *(c for c, r in roles.items() if r == "text")}
    personal = {
        *((spec.get("personal_data") or {}).get("allow") or []),
        *(cols.get("id") or []),
        *found,
    }
    special = set(special)
    protected = {str(v) for v in (spec.get("protected") or {}).values()}
    out: dict[str, str] = {}
    for name in features:
        if name in text:
            out[name] = "text"
        elif name in personal:
            out[name] = "personal"
        elif name in special:
            out[name] = "special"
        elif name in protected:
            out[name] = "protected"
    return out


def private_sketches(
    reference: pd.DataFrame, private: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """An older bundle's raw reference split as a new one keeps it: the public rows, and a
    sketch of each private column (kinds inferred as the drift detector infers them)."""
    hidden = [c for c in reference.columns if c in private]
    sketches = {
        str(c): sketch_column(reference[c], infer_column_kind(reference[c]), private[c])
        for c in hidden
    }
    return reference.drop(columns=hidden), sketches


def as_text(values: pd.Series) -> pd.Series:
    """Categories as text; whole numbers without '.0' (the log keeps numbers as float).

    Examples
    --------
    >>> as_text(pd.Series([1.0, "a", None])).tolist()
    ['1', 'a', None]
    """

    def one(v: Any) -> Any:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, np.generic):
            v = v.item()
        return str(v)

    return pd.Series([one(v) for v in values.astype(object)], index=values.index, dtype=object)


def prepare_frame(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """Numbers as float, categories as text (so every monitor reads the same kinds)."""
    out = frame.copy()
    for name, kind in kinds.items():
        if name not in out.columns:
            continue
        if kind == "numeric":
            out[name] = pd.to_numeric(out[name], errors="coerce").astype(float)
        else:
            out[name] = as_text(out[name])
    return out


def column_kinds(
    features: list[str],
    roles: Mapping[str, str],
    reference: pd.DataFrame,
    sketches: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, str]:
    """How monitoring treats each feature: from its contract role, else inferred.

    Text, date and id roles are not monitored. A column kept only as a sketch takes the
    sketch's kind when its role is unknown.
    """
    kinds: dict[str, str] = {}
    for name in features:
        role = roles.get(name, "")
        if role == "numeric":
            kinds[name] = "numeric"
        elif role in ("categorical", "boolean", "binary"):
            kinds[name] = "categorical"
        elif role == "":
            if name in reference.columns:
                kind = infer_column_kind(reference[name])
            else:
                kind = str((sketches or {}).get(name, {}).get("kind", ""))
            if kind in ("numeric", "categorical"):
                kinds[name] = kind
    return kinds


def band_edges(values: pd.Series, bins: int = 4) -> list[float]:
    """Quantile band edges of a numeric protected column (age bands for fairness)."""
    ref = pd.to_numeric(values, errors="coerce").dropna()
    if ref.empty:
        return []
    return [float(e) for e in np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))]


def bands(edges: list[float] | np.ndarray, current: pd.Series) -> pd.Series:
    """``current`` as the reference's quantile bands (``"30 to under 45"``)."""
    edges = np.asarray(edges, dtype=float)
    if edges.size < 2:
        return current.astype(object)
    inner = edges[1:-1]
    values = pd.to_numeric(current, errors="coerce")
    idx = np.searchsorted(inner, values.to_numpy(dtype=float), side="right")
    lows = np.r_[-np.inf, inner]
    highs = np.r_[inner, np.inf]

    def label(i: int) -> str:
        lo, hi = lows[i], highs[i]
        if not np.isfinite(lo):
            return f"under {hi:g}"
        if not np.isfinite(hi):
            return f"{lo:g} and over"
        return f"{lo:g} to under {hi:g}"

    names = np.array([label(i) for i in range(len(lows))], dtype=object)
    out = pd.Series(names[idx], index=current.index, dtype=object)
    return out.where(values.notna(), None)


def _typical(raw: pd.Series, kind: str | None, reason: str) -> Any:
    """The value explanations put in place of a private input (never a person's own value)."""
    if reason == "text":
        return ""
    s = raw.dropna()
    if s.empty or reason == "personal" and kind != "numeric":
        return None
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return float(s.median())
    return to_python_scalar(s.mode(dropna=True).iloc[0])


def group_counts(
    raw: pd.Series, kind: str | None, decision: np.ndarray, edges: list[float]
) -> dict[str, Any]:
    """Reference rows and selections per group of one protected characteristic."""
    values = bands(edges, raw) if kind == "numeric" else raw
    frame = pd.DataFrame(
        {"group": as_text(values).to_numpy(), "selected": (decision == 1).astype(np.int64)}
    ).dropna(subset=["group"])
    agg = frame.groupby("group", sort=True)["selected"].agg(["size", "sum"])
    return {
        "groups": [str(g) for g in agg.index],
        "n": [int(v) for v in agg["size"]],
        "selected": [int(v) for v in agg["sum"]],
    }


def build_reference(
    sample: pd.DataFrame,
    *,
    features: list[str],
    roles: Mapping[str, str],
    private: Mapping[str, str],
    outputs: pd.DataFrame | None = None,
    protected: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Split a reference sample into its public rows and ``reference.json``.

    Parameters
    ----------
    sample : DataFrame
        The sampled training rows of ``features`` (as the bundle used to keep them).
    roles : mapping
        Column to contract role (``numeric``, ``categorical``, ``text`` ...).
    private : mapping
        Column to why it is private (a key of :data:`civicml.monitor.PRIVATE_REASONS`).
    outputs : DataFrame, optional
        The model's ``score`` and ``decision`` on ``sample`` (binary models).
    protected : mapping, optional
        Protected characteristic to column (the spec's ``protected:``).

    Returns
    -------
    (DataFrame, dict)
        ``reference.parquet`` (public columns only) and the ``reference.json`` document.
    """
    bad = {c: r for c, r in private.items() if r not in PRIVATE_REASONS}
    if bad:
        raise DataError.build(
            "A private reference column has an unknown reason",
            expected=f"one of {list(PRIVATE_REASONS)}",
            got=bad,
            fix="Mark each private column as text, personal, special or protected.",
        )
    # the bundle's reader sees Parquet values: sketch exactly what it would have read
    sample = pd.read_parquet(io.BytesIO(sample.to_parquet(index=False)))
    hidden = [c for c in features if c in private and c in sample.columns]
    kinds = column_kinds(features, roles, sample)
    prepared = prepare_frame(sample[hidden], {c: kinds[c] for c in hidden if c in kinds})
    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "n_rows": len(sample),
        "private": {c: private[c] for c in hidden},
        "columns": {
            c: sketch_column(prepared[c], kinds.get(c, "text"), private[c]) for c in hidden
        },
        "typical": {c: _typical(sample[c], kinds.get(c), private[c]) for c in hidden},
    }
    if outputs is not None and "decision" in outputs.columns:
        doc["outputs"] = {
            "score": [float(v) for v in outputs["score"]],
            "decision": [int(v) for v in outputs["decision"]],
        }
        decision = pd.to_numeric(outputs["decision"], errors="coerce").to_numpy()
        fairness = {}
        for characteristic, column in (protected or {}).items():
            if column in hidden:
                edges = band_edges(sample[column]) if kinds.get(column) == "numeric" else []
                fairness[str(characteristic)] = {
                    "column": column,
                    "band_edges": edges,
                    **group_counts(sample[column], kinds.get(column), decision, edges),
                }
        doc["fairness"] = fairness
    public = sample.drop(columns=hidden).reset_index(drop=True)
    return public, doc
