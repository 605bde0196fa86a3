"""Chunked alerts: per-chunk statistics against mean ± 3σ limits learned from reference chunks.

The data are cut into chunks (a number of rows, or a time window such as ``"1D"``); each
column's statistic per chunk (the mean for numeric columns, the Jensen–Shannon distance from the
reference shares for categorical ones) is compared with limits from the reference chunks. One
chunk outside the limits is noted; an alert fires only when ``consecutive`` chunks in a row are
outside (two by default), which keeps false alarms rare: under no drift a chunk falls outside
±3σ about 0.3% of the time, two in a row about 0.001%.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(0, 1, 2000)})
>>> cur = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 400), rng.normal(1, 1, 400)]})
>>> result = ChunkedMonitor(chunk_size=100).fit(ref).detect(cur)
>>> result.alerting_columns
['x']
>>> int(result.table.query("alert").chunk.min())
5
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError, NotFittedError, SpecError
from civicml.monitor._profile import category_counts, finite_values, infer_column_kind
from civicml.monitor._stattests import jensenshannon_distance

__all__ = ["ChunkedMonitor", "ChunkedResult", "floor_to_window", "iter_chunks"]

DEFAULT_EXCLUDE = ("request_id", "time", "model_version", "reviewer_decision", "overridden")


def floor_to_window(times: pd.Series, window: str) -> pd.Series:
    """Start of the fixed-length window (``"1D"``, ``"6h"``, ``"7D"``) each timestamp falls in.

    Examples
    --------
    >>> import pandas as pd
    >>> floor_to_window(pd.Series(pd.to_datetime(["2025-01-01 17:30"])), "6h").tolist()
    [Timestamp('2025-01-01 12:00:00')]
    """
    try:
        return pd.to_datetime(times).dt.floor(window)
    except ValueError as exc:
        raise SpecError.build(
            "The monitoring window is not a fixed duration",
            expected="a pandas offset such as '1D', '6h' or '7D'",
            got=window,
            fix="Use days or hours ('7D' rather than 'W').",
        ) from exc


@dataclass(frozen=True)
class Chunk:
    """One slice of a frame: its position, time span (if any) and rows."""

    index: int
    start: Any
    end: Any
    frame: pd.DataFrame


def iter_chunks(
    frame: pd.DataFrame,
    *,
    chunk_size: int | None = None,
    freq: str | None = None,
    time_column: str = "time",
) -> Iterator[Chunk]:
    """Cut ``frame`` into chunks of ``chunk_size`` rows or ``freq`` time windows.

    A trailing row chunk smaller than half of ``chunk_size`` is dropped (too noisy to judge);
    empty time windows are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> [len(c.frame) for c in iter_chunks(pd.DataFrame({"a": range(24)}), chunk_size=10)]
    [10, 10]
    """
    if (chunk_size is None) == (freq is None):
        raise SpecError.build(
            "Chunking needs exactly one of 'chunk_size' and 'freq'",
            got={"chunk_size": chunk_size, "freq": freq},
            fix="Pass chunk_size=5000 (rows) or freq='1D' (a time window).",
        )
    if chunk_size is not None:
        if chunk_size < 2:
            raise SpecError.build(
                "The 'chunk_size' is too small",
                expected="at least 2 rows",
                got=chunk_size,
                fix="Use chunks of a few hundred rows or more.",
            )
        for i, lo in enumerate(range(0, len(frame), chunk_size)):
            part = frame.iloc[lo : lo + chunk_size]
            if len(part) < chunk_size / 2 and i > 0:
                break
            yield Chunk(i, lo, lo + len(part) - 1, part)
        return
    if time_column not in frame.columns:
        raise DataError.build(
            f"Time-window chunks need the time column {time_column!r}",
            expected=f"a column named {time_column!r}",
            got=list(frame.columns)[:10],
            fix="Pass time_column=... or use chunk_size instead of freq.",
        )
    times = pd.to_datetime(frame[time_column])
    keyed = frame.assign(_chunk_time=times).set_index("_chunk_time").sort_index()
    i = 0
    for label, part in keyed.groupby(pd.Grouper(freq=freq)):
        if part.empty:
            continue
        start = pd.Timestamp(label)
        yield Chunk(
            i, start, start + pd.tseries.frequencies.to_offset(freq), part.reset_index(drop=True)
        )
        i += 1


def chunk_statistic(kind: str, series: pd.Series, ref_shares: dict[Any, float] | None) -> float:
    """The monitored statistic of one column in one chunk (numeric mean, or JS from reference)."""
    if kind == "numeric":
        values = finite_values(series)
        return float(values.mean()) if values.size else float("nan")
    keys, counts = category_counts(series)
    if counts.sum() == 0 or ref_shares is None:
        return float("nan")
    all_keys = list(ref_shares) + [k for k in keys if k not in ref_shares]
    ref = np.array([ref_shares.get(k, 0.0) for k in all_keys])
    lookup = dict(zip(keys, counts.tolist(), strict=False))
    cur = np.array([lookup.get(k, 0) for k in all_keys], dtype=np.float64)
    return jensenshannon_distance(ref, cur)


def limits_from(
    values: np.ndarray, sigma: float, *, floor: float | None = None
) -> tuple[float, float, float, float]:
    """``(mean, std, lower, upper)`` of reference chunk statistics; ``floor`` clips the lower limit."""
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        raise DataError.build(
            "Chunk limits need at least 2 reference chunks with values",
            expected="2 or more chunks",
            got=int(finite.size),
            fix="Use a smaller chunk_size or freq, or a longer reference.",
        )
    mean, std = float(finite.mean()), float(finite.std(ddof=1))
    lower, upper = mean - sigma * std, mean + sigma * std
    if floor is not None:
        lower = max(lower, floor)
    return mean, std, lower, upper


def flag_runs(outside: np.ndarray, consecutive: int) -> np.ndarray:
    """True where a run of ``outside`` chunks has reached ``consecutive`` chunks.

    Examples
    --------
    >>> import numpy as np
    >>> flag_runs(np.array([True, False, True, True, True]), 2).tolist()
    [False, False, False, True, True]
    """
    run = 0
    out = np.zeros(outside.size, dtype=bool)
    for i, flag in enumerate(outside):
        run = run + 1 if flag else 0
        out[i] = run >= consecutive
    return out


@dataclass(frozen=True)
class ChunkedResult:
    """Per-chunk statistics with their limits, and the alerts (``consecutive`` chunks outside)."""

    table: pd.DataFrame
    consecutive: int
    statistic: str = "per-column mean (numeric) / Jensen-Shannon from reference (categorical)"
    notes: list[str] = field(default_factory=list)

    @property
    def alerting_columns(self) -> list[str]:
        """Columns with at least one alert, in table order."""
        hits = self.table.loc[self.table["alert"], "column"]
        return list(dict.fromkeys(hits.tolist()))

    @property
    def alerts(self) -> list[dict[str, Any]]:
        """The first alerting chunk of each column, with its evidence."""
        out = []
        for column in self.alerting_columns:
            rows = self.table[(self.table["column"] == column) & self.table["alert"]]
            first = rows.iloc[0]
            out.append(
                {
                    "column": column,
                    "chunk": int(first["chunk"]),
                    "start": str(first["start"]),
                    "value": float(first["value"]),
                    "lower": float(first["lower"]),
                    "upper": float(first["upper"]),
                    "alerting_chunks": int(len(rows)),
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        table = self.table.copy()
        for col in ("start", "end"):
            table[col] = table[col].astype(str)
        records = table.to_dict(orient="records")
        for row in records:
            for k, v in row.items():
                if isinstance(v, float) and not np.isfinite(v):
                    row[k] = None
        return {
            "statistic": self.statistic,
            "consecutive": self.consecutive,
            "alerts": self.alerts,
            "chunks": records,
            "notes": self.notes,
        }


class ChunkedMonitor:
    """Per-column control limits from reference chunks; alert after consecutive breaches.

    Parameters
    ----------
    chunk_size : int, optional
        Rows per chunk. Give this or ``freq``.
    freq : str, optional
        Time window per chunk (a pandas offset such as ``"1D"`` or ``"6h"``); needs ``time_column``.
    time_column : str
        Timestamp column used with ``freq``.
    sigma : float
        Limits at mean ± ``sigma`` standard deviations of the reference chunk statistics.
    consecutive : int
        Chunks in a row outside the limits before an alert (2 keeps false alarms low).
    columns : list of str, optional
        Columns to watch (default: every numeric or categorical column not excluded).
    exclude : sequence of str
        Columns never watched.
    """

    def __init__(
        self,
        *,
        chunk_size: int | None = None,
        freq: str | None = None,
        time_column: str = "time",
        sigma: float = 3.0,
        consecutive: int = 2,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
    ) -> None:
        self.chunk_size = chunk_size
        self.freq = freq
        self.time_column = time_column
        self.sigma = sigma
        self.consecutive = consecutive
        self.columns = columns
        self.exclude = exclude

    def fit(self, reference: pd.DataFrame) -> ChunkedMonitor:
        """Learn per-column limits from the reference chunks. Returns ``self``."""
        if self.consecutive < 1 or self.sigma <= 0:
            raise SpecError.build(
                "ChunkedMonitor needs consecutive >= 1 and sigma > 0",
                got={"consecutive": self.consecutive, "sigma": self.sigma},
                fix="Use the defaults sigma=3, consecutive=2.",
            )
        names = (
            self.columns
            if self.columns is not None
            else [c for c in reference.columns if c not in self.exclude]
        )
        kinds = {}
        for name in names:
            kind = infer_column_kind(reference[name])
            if kind in ("numeric", "categorical"):
                kinds[str(name)] = kind
        if not kinds:
            raise DataError.build(
                "No numeric or categorical column to watch in the reference",
                got=list(reference.columns)[:10],
                fix="Pass columns=[...] naming the model inputs.",
            )
        self.kinds_ = kinds
        self.reference_shares_ = {}
        for name, kind in kinds.items():
            if kind == "categorical":
                keys, counts = category_counts(reference[name])
                self.reference_shares_[name] = dict(
                    zip(keys, (counts / counts.sum()).tolist(), strict=False)
                )
        ref_table = self._statistics(reference)
        self.limits_ = {}
        for name, kind in kinds.items():
            values = ref_table.loc[ref_table["column"] == name, "value"].to_numpy(dtype=float)
            self.limits_[name] = limits_from(
                values, self.sigma, floor=0.0 if kind == "categorical" else None
            )
        self.reference_table_ = ref_table
        return self

    def _statistics(self, frame: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
        rows = []
        chunk_size = None if freq is not None else self.chunk_size
        for chunk in iter_chunks(
            frame, chunk_size=chunk_size, freq=freq or self.freq, time_column=self.time_column
        ):
            for name, kind in self.kinds_.items():
                value = chunk_statistic(kind, chunk.frame[name], self.reference_shares_.get(name))
                rows.append(
                    {
                        "chunk": chunk.index,
                        "start": chunk.start,
                        "end": chunk.end,
                        "n": len(chunk.frame),
                        "column": name,
                        "value": value,
                    }
                )
        return pd.DataFrame(rows, columns=["chunk", "start", "end", "n", "column", "value"])

    def detect(self, current: pd.DataFrame, *, freq: str | None = None) -> ChunkedResult:
        """Statistics per chunk of ``current`` against the reference limits.

        ``freq`` cuts ``current`` into time windows although the reference was cut by rows: a
        training reference has no timestamps, so fit with ``chunk_size`` near the rows per window.
        """
        if not hasattr(self, "limits_"):
            raise NotFittedError.build(
                "This ChunkedMonitor is not fitted yet", fix="Call fit(reference_df) first."
            )
        missing = [c for c in self.kinds_ if c not in current.columns]
        if missing:
            raise DataError.build(
                f"The current data lacks watched columns {missing!r}",
                fix="Log every model input, or refit on the columns you have.",
            )
        table = self._statistics(current, freq)
        return _finish(table, self.limits_, self.consecutive)


def _finish(
    table: pd.DataFrame, limits: dict[str, tuple[float, float, float, float]], consecutive: int
) -> ChunkedResult:
    table = table.copy()
    table["lower"] = table["column"].map(lambda c: limits[c][2])
    table["upper"] = table["column"].map(lambda c: limits[c][3])
    outside = ((table["value"] < table["lower"]) | (table["value"] > table["upper"])).to_numpy()
    table["out_of_bounds"] = outside
    table["alert"] = False
    for _column, idx in table.groupby("column", sort=False).groups.items():
        positions = table.index.get_indexer(idx)
        table.loc[idx, "alert"] = flag_runs(outside[positions], consecutive)
    return ChunkedResult(table=table.reset_index(drop=True), consecutive=consecutive)
