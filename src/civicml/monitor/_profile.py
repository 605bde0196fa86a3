"""The training reference a bundle keeps for monitoring: a row sample plus per-column summaries.

A :class:`ReferenceProfile` is data, not a model: it is built once from the training frame,
saved beside the bundle as ``reference.parquet`` (the sample) and ``reference.json`` (the
summaries), and loaded without pickle. Category counts, means and standard deviations come from
the **whole** reference; numeric distribution tests use the sample (all rows when the reference is
no larger than ``sample_size``, which is when scores equal Evidently's to the last decimal).

Column kinds follow Evidently 0.7's ``evidently.core.datasets.infer_column_type``: float columns
are numeric; integer columns are categorical with at most 10 distinct values and numeric
otherwise; ``bool`` and ``category`` are categorical; text columns are categorical unless more than
half of their values are distinct (free text or identifiers, which drift checks skip); datetimes
are skipped.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"age": [30.5, 41.0, 52.5, 29.0], "region": ["N", "S", "N", "N"]})
>>> profile = ReferenceProfile.from_frame(df)
>>> profile.kinds
{'age': 'numeric', 'region': 'categorical'}
>>> profile.summaries["region"]["counts"]
[3, 1]
>>> ReferenceProfile.from_dict(profile.to_dict(), sample=profile.sample).kinds == profile.kinds
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError

__all__ = [
    "PRIVATE_REASONS",
    "ReferenceProfile",
    "infer_column_kind",
    "sketch_column",
    "sketch_values",
    "to_python_scalar",
]

#: Evidently's INTEGER_CARDINALITY_LIMIT: integer columns with this many values or fewer are
#: categorical.
INTEGER_CARDINALITY_LIMIT = 10
#: numeric columns with at most this many distinct reference values keep exact value counts
#: (Evidently bins such columns by value for PSI and Jensen–Shannon).
SMALL_CARDINALITY = 20
KINDS = ("numeric", "categorical")
FORMAT_VERSION = 1
#: why a column is kept as a distribution only, never as raw values
PRIVATE_REASONS: dict[str, str] = {
    "text": "free text",
    "personal": "personal data",
    "special": "special-category data",
    "protected": "a protected characteristic",
}
#: a private numeric column with at most this many distinct values keeps exact value counts
#: (a frequency table: drift scores are identical to the raw sample's); above it a quantile sketch
EXACT_SKETCH_VALUES = 200
#: points of the quantile sketch of a high-cardinality private numeric column (a cosine grid)
QUANTILE_POINTS = 2001
_TEXT_EDGES = [0, 1, 10, 25, 50, 100, 200, 500, 1000, 2000, 5000]


def to_python_scalar(value: Any) -> Any:
    """Turn a numpy/pandas scalar into the plain Python value JSON can hold.

    Examples
    --------
    >>> import numpy as np
    >>> to_python_scalar(np.int64(3)), to_python_scalar(np.bool_(True)), to_python_scalar("a")
    (3, True, 'a')
    """
    if isinstance(value, np.generic):
        return value.item()
    return value


def infer_column_kind(series: pd.Series) -> str:
    """Say how drift checks treat a column: ``numeric``, ``categorical``, ``text`` or ``datetime``.

    ``text`` and ``datetime`` columns (and anything else: ``unsupported``) are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_column_kind(pd.Series([1, 2, 3]))
    'categorical'
    >>> infer_column_kind(pd.Series(range(50)))
    'numeric'
    >>> infer_column_kind(pd.Series(["a", "b", "c", "d"]))
    'text'
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_float_dtype(dtype):
        return "numeric"
    if pd.api.types.is_integer_dtype(dtype):
        return "categorical" if series.nunique() <= INTEGER_CARDINALITY_LIMIT else "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        non_null = series.dropna()
        if non_null.empty or not isinstance(non_null.iloc[0], str):
            return "unsupported"
        return "text" if series.nunique() > series.count() * 0.5 else "categorical"
    return "unsupported"


def finite_values(series: pd.Series) -> np.ndarray:
    """Non-missing, finite values of a numeric column as float64 (Evidently drops NaN and ±inf)."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)]


def category_counts(series: pd.Series) -> tuple[list[Any], np.ndarray]:
    """Distinct non-missing values and their counts, largest first (hash-based, no sort of data)."""
    counts = series.value_counts(dropna=True, sort=True)
    values = [to_python_scalar(v) for v in counts.index.tolist()]
    return values, counts.to_numpy(dtype=np.int64)


def sorted_quantiles(sorted_values: np.ndarray, qs: list[float]) -> list[float]:
    """Linear-interpolation quantiles (numpy's default method) of already sorted values.

    Examples
    --------
    >>> sorted_quantiles(np.array([1.0, 2.0, 3.0, 4.0]), [0.0, 0.5, 1.0])
    [1.0, 2.5, 4.0]
    """
    n = sorted_values.size
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        out.append(float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac))
    return out


def _numeric_summary(series: pd.Series) -> tuple[dict[str, Any], np.ndarray]:
    """Summary of a numeric column and its sorted finite values (sorted once, reused)."""
    values = np.sort(finite_values(series))
    n = int(values.size)
    summary: dict[str, Any] = {"kind": "numeric", "n": n, "n_missing": int(len(series) - n)}
    if n == 0:
        raise DataError.build(
            f"The reference column {series.name!r} has no finite values",
            expected="at least one non-missing number",
            got=n,
            fix="Drop the column from monitoring or fix the training data.",
        )
    qs = sorted_quantiles(values, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    summary.update(
        mean=float(values.mean()),
        std=float(values.std()),
        min=float(values[0]),
        max=float(values[-1]),
        quantiles=dict(
            zip(["p01", "p05", "p25", "p50", "p75", "p95", "p99"], map(float, qs), strict=False)
        ),
    )
    starts = np.flatnonzero(values[1:] != values[:-1]) + 1
    nunique = int(starts.size + 1)
    summary["nunique"] = nunique
    if nunique <= SMALL_CARDINALITY:
        bounds = np.r_[0, starts, n]
        summary["values"] = [float(v) for v in values[bounds[:-1]]]
        summary["counts"] = [int(c) for c in np.diff(bounds)]
    return summary, values


def _categorical_summary(series: pd.Series) -> dict[str, Any]:
    values, counts = category_counts(series)
    n = int(counts.sum())
    if n == 0:
        raise DataError.build(
            f"The reference column {series.name!r} has no values",
            expected="at least one non-missing value",
            got=n,
            fix="Drop the column from monitoring or fix the training data.",
        )
    return {
        "kind": "categorical",
        "n": n,
        "n_missing": int(len(series) - n),
        "nunique": len(values),
        "categories": values,
        "counts": [int(c) for c in counts],
    }


class ReferenceProfile:
    """Per-column summaries of the training reference plus a sample of its rows.

    Build it with :meth:`from_frame`; keep it with :meth:`save` / :meth:`load` (Parquet + JSON,
    never pickle).

    Parameters
    ----------
    summaries : dict
        Column name to its summary (``kind``, ``n``, ``n_missing`` and per-kind statistics).
    sample : pandas.DataFrame
        Up to ``sample_size`` reference rows of the profiled columns.
    n_rows : int
        Rows in the whole reference.
    skipped : dict
        Columns left out and why (``text``, ``datetime``, ``excluded`` ...).

    Examples
    --------
    >>> import pandas as pd
    >>> p = ReferenceProfile.from_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    >>> p.summaries["x"]["mean"], p.n_rows
    (2.0, 3)
    """

    def __init__(
        self,
        summaries: dict[str, dict[str, Any]],
        sample: pd.DataFrame,
        n_rows: int,
        skipped: dict[str, str] | None = None,
    ) -> None:
        self.summaries = summaries
        self.sample = sample
        self.n_rows = n_rows
        self.skipped = dict(skipped or {})
        self._sorted: dict[str, np.ndarray] = {}

    # -- building -------------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        column_types: Mapping[str, str] | None = None,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] | list[str] = (),
        sample_size: int | None = 100_000,
        random_state: int = 0,
        sketches: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> ReferenceProfile:
        """Profile ``frame``: infer (or take) each column's kind, summarise, and sample rows.

        Parameters
        ----------
        frame : pandas.DataFrame
            The training reference.
        column_types : mapping, optional
            ``{column: "numeric" | "categorical"}`` overrides for the inferred kinds.
        columns : list of str, optional
            Profile only these columns (default: all but ``exclude``).
        exclude : sequence of str
            Columns never profiled (identifiers, timestamps, model version).
        sample_size : int or None
            Rows kept in the sample; ``None`` keeps every row.
        random_state : int
            Seed of the row sample.
        sketches : mapping, optional
            ``{column: sketch}`` from :func:`sketch_column` for columns kept as distributions
            only (not in ``frame``): personal, special-category and free-text columns. Numeric
            tests run on the sketch's values; a categorical sketch without labels, and a text
            sketch, are skipped.
        """
        if not isinstance(frame, pd.DataFrame) or (frame.empty and not sketches):
            raise DataError.build(
                "The monitoring reference must be a non-empty pandas DataFrame",
                got=type(frame).__name__ if not isinstance(frame, pd.DataFrame) else "empty frame",
                fix="Pass the training data the model was fitted on.",
            )
        overrides = dict(column_types or {})
        bad = {c: k for c, k in overrides.items() if k not in KINDS}
        if bad:
            raise DataError.build(
                "A column type for drift checks is not supported",
                expected=f"one of {list(KINDS)}",
                got=bad,
                fix="Use 'numeric' or 'categorical' in column_types.",
            )
        sketched = {str(k): dict(v) for k, v in (sketches or {}).items() if k not in frame.columns}
        chosen = list(frame.columns) + list(sketched) if columns is None else list(columns)
        missing = [
            c for c in chosen + list(overrides) if c not in frame.columns and c not in sketched
        ]
        if missing:
            raise DataError.build(
                f"Columns {missing!r} are not in the reference data",
                expected=f"names among {list(frame.columns)[:20]!r}",
                fix="Check the column names given to the drift detector.",
            )
        summaries: dict[str, dict[str, Any]] = {}
        sorted_values: dict[str, np.ndarray] = {}
        skipped: dict[str, str] = {}
        for name in chosen:
            if name in exclude and name not in overrides:
                skipped[str(name)] = "excluded"
                continue
            if name in sketched:
                _add_sketch(str(name), sketched[name], summaries, skipped)
                continue
            series = frame[name]
            kind = overrides.get(name) or infer_column_kind(series)
            if kind == "numeric":
                if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
                    series.dtype
                ):
                    raise DataError.build(
                        f"The column {name!r} was declared numeric but holds {series.dtype}",
                        expected="a numeric dtype",
                        got=str(series.dtype),
                        fix="Declare it 'categorical' or convert it to numbers.",
                    )
                summaries[str(name)], sorted_values[str(name)] = _numeric_summary(series)
            elif kind == "categorical":
                summaries[str(name)] = _categorical_summary(series)
            else:
                skipped[str(name)] = kind
        n_rows = len(frame)
        cols = [c for c in summaries if c not in sketched]
        if sample_size is None or n_rows <= sample_size:
            sample = frame[cols].reset_index(drop=True)
            profile = cls(summaries, sample, n_rows, skipped)
            profile._sorted.update(sorted_values)  # the sample is the whole column: reuse its sort
            return profile
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(n_rows, size=sample_size, replace=False))
        sample = frame[cols].iloc[idx].reset_index(drop=True)
        return cls(summaries, sample, n_rows, skipped)

    # -- reading --------------------------------------------------------------------------
    @property
    def kinds(self) -> dict[str, str]:
        """Column name to ``numeric`` / ``categorical``."""
        return {name: s["kind"] for name, s in self.summaries.items()}

    @property
    def sample_is_complete(self) -> bool:
        """True when the sample holds every reference row (scores then match Evidently exactly)."""
        return len(self.sample) == self.n_rows

    def sorted_values(self, column: str) -> np.ndarray:
        """Sorted finite sample values of a numeric column (cached)."""
        cached = self._sorted.get(column)
        if cached is None:
            sketch = self.summaries.get(column, {}).get("sketch")
            if column not in self.sample.columns and sketch is not None:
                cached = sketch_values(sketch)
            else:
                cached = np.sort(finite_values(self.sample[column]))
            self._sorted[column] = cached
        return cached

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The summaries as JSON-able data (the sample travels separately, as Parquet)."""
        return {
            "format_version": FORMAT_VERSION,
            "n_rows": int(self.n_rows),
            "sample_rows": len(self.sample),
            "columns": self.summaries,
            "skipped": self.skipped,
            "dtypes": {str(c): str(t) for c, t in self.sample.dtypes.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, sample: pd.DataFrame) -> ReferenceProfile:
        """Rebuild a profile from :meth:`to_dict` output and its sample frame."""
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise DataError.build(
                "The monitoring reference was written by another civicml format",
                expected=f"format_version {FORMAT_VERSION}",
                got=version,
                fix="Rebuild the reference profile from the training data.",
            )
        summaries = {str(k): dict(v) for k, v in data["columns"].items()}
        missing = [
            c for c in summaries if c not in sample.columns and "private" not in summaries[c]
        ]
        if missing:
            raise DataError.build(
                f"The reference sample lacks columns {missing!r}",
                expected="every profiled column in reference.parquet",
                fix="Rebuild the reference profile from the training data.",
            )
        return cls(summaries, sample, int(data["n_rows"]), dict(data.get("skipped", {})))

    def save(self, directory: str | Path, *, extra: Mapping[str, Any] | None = None) -> Path:
        """Write ``reference.parquet`` and ``reference.json`` into ``directory``; return it."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.sample.to_parquet(path / "reference.parquet", index=False)
        payload = self.to_dict()
        if extra:
            payload.update(extra)
        (path / "reference.json").write_text(
            json.dumps(payload, indent=2, allow_nan=False, default=_json_default),
            encoding="utf-8",
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> ReferenceProfile:
        """Read a profile written by :meth:`save` (Parquet and JSON only)."""
        data, sample = read_reference_files(directory)
        return cls.from_dict(data, sample=sample)


def _add_sketch(
    name: str,
    sketch: dict[str, Any],
    summaries: dict[str, dict[str, Any]],
    skipped: dict[str, str],
) -> None:
    """Profile a column from its sketch, or say why it is skipped."""
    kind = sketch.get("kind")
    reason = PRIVATE_REASONS.get(str(sketch.get("private")), "private")
    usable = "sketch" in sketch if kind == "numeric" else sketch.get("categories") is not None
    if kind in KINDS and usable:
        summaries[name] = sketch
    elif kind == "categorical":
        skipped[name] = f"{reason}: category labels not kept"
    else:
        skipped[name] = f"{reason}: kept as length statistics only"


def sketch_values(sketch: Mapping[str, Any]) -> np.ndarray:
    """The sorted values a numeric sketch stands for (exact for a value-count sketch).

    Examples
    --------
    >>> sketch_values({"type": "counts", "values": [1.0, 3.0], "counts": [2, 1]}).tolist()
    [1.0, 1.0, 3.0]
    >>> sketch_values({"type": "quantiles", "n": 3, "values": [0.0, 4.0, 10.0]}).round(6).tolist()
    [0.0, 4.0, 10.0]
    """
    if sketch["type"] == "counts":
        return np.repeat(
            np.asarray(sketch["values"], dtype=np.float64), np.asarray(sketch["counts"])
        )
    q = np.asarray(sketch["values"], dtype=np.float64)
    return np.interp(np.linspace(0.0, 1.0, int(sketch["n"])), _sketch_grid(q.size), q)


def _sketch_grid(points: int) -> np.ndarray:
    """Probabilities of the quantile sketch: a cosine grid, dense in the tails, where a
    distribution's quantile function is steepest (Wasserstein then agrees to about 1e-6)."""
    return (1.0 - np.cos(np.pi * np.arange(points) / (points - 1))) / 2.0


def _numeric_sketch(sorted_values: np.ndarray) -> dict[str, Any]:
    starts = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    if starts.size + 1 <= EXACT_SKETCH_VALUES:
        bounds = np.r_[0, starts, sorted_values.size]
        return {
            "type": "counts",
            "values": [float(v) for v in sorted_values[bounds[:-1]]],
            "counts": [int(c) for c in np.diff(bounds)],
        }
    qs = sorted_quantiles(sorted_values, [float(p) for p in _sketch_grid(QUANTILE_POINTS)])
    return {"type": "quantiles", "grid": "cosine", "n": int(sorted_values.size), "values": qs}


def _histogram(values: np.ndarray) -> dict[str, Any]:
    edges = [*_TEXT_EDGES, max(_TEXT_EDGES[-1] + 1, int(values.max(initial=0)) + 1)]
    counts, _ = np.histogram(values, bins=edges)
    return {"edges": edges, "counts": [int(c) for c in counts]}


def sketch_column(series: pd.Series, kind: str, reason: str) -> dict[str, Any]:
    """What the reference keeps of a private column: its distribution, never a row's value.

    ``kind`` is how monitoring treats the column (``numeric``, ``categorical``, anything else
    is text); ``reason`` one of :data:`PRIVATE_REASONS`. A numeric column keeps its summary
    and exact value counts (at most :data:`EXACT_SKETCH_VALUES` values) or a quantile sketch;
    a categorical column keeps its category shares, without the labels for personal data; free
    text keeps only counts of lengths and words.

    Examples
    --------
    >>> import pandas as pd
    >>> s = sketch_column(pd.Series([30.0, 41.0, 30.0]), "numeric", "personal")
    >>> s["sketch"], s["private"]
    ({'type': 'counts', 'values': [30.0, 41.0], 'counts': [2, 1]}, 'personal')
    >>> sketch_column(pd.Series(["SW1A 1AA", "SW1A 1AA", "M1 1AE"]), "categorical", "personal")[
    ...     "categories"] is None
    True
    >>> t = sketch_column(pd.Series(["rang twice", None]), "text", "text")
    >>> t["kind"], t["n"], t["words"]["counts"][:3]
    ('text', 1, [0, 1, 0])
    """
    if reason not in PRIVATE_REASONS:
        raise DataError.build(
            f"The reason {reason!r} for keeping {series.name!r} private is not known",
            expected=f"one of {list(PRIVATE_REASONS)}",
            got=reason,
            fix="Use text, personal, special or protected.",
        )
    if kind == "numeric":
        summary, values = _numeric_summary(series)
        summary["sketch"] = _numeric_sketch(values)
    elif kind == "categorical" and reason != "text":
        summary = _categorical_summary(series)
        if reason == "personal":  # a label of a personal-data column is a person's value
            summary["categories"] = None
    else:
        text = series.dropna().astype(str)
        summary = {
            "kind": "text",
            "n": len(text),
            "n_missing": int(len(series) - len(text)),
            "characters": _histogram(text.str.len().to_numpy()),
            "words": _histogram(text.str.split().str.len().to_numpy()),
        }
    summary["private"] = reason
    return summary


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_reference_files(directory: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """Read ``reference.json`` and ``reference.parquet`` from ``directory``."""
    path = Path(directory)
    json_path, parquet_path = path / "reference.json", path / "reference.parquet"
    for p in (json_path, parquet_path):
        if not p.is_file():
            raise DataError.build(
                f"The monitoring reference file {str(p)!r} does not exist",
                expected="reference.json and reference.parquet",
                fix="Save the reference with DriftDetector.save(directory) first.",
            )
    data = json.loads(json_path.read_text(encoding="utf-8"))
    sample = pd.read_parquet(parquet_path)
    for column, dtype in data.get("dtypes", {}).items():
        if (
            column in sample.columns
            and dtype in ("bool", "category")
            and str(sample[column].dtype) != dtype
        ):
            sample[column] = sample[column].astype(dtype)
    return data, sample
