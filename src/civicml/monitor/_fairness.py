"""Fairness drift and human oversight from the decision log.

- :func:`selection_rates_over_time`: the share of positive decisions per group of each protected
  characteristic, per time window, with each group's ratio to the highest rate in that window
  (below 0.8 fails the "four-fifths" rule of thumb).
- :func:`override_rate`: how often reviewers overturn the model, per window. Near zero suggests
  **automation bias** (reviewers rubber-stamp); a climbing rate suggests the **model's quality**
  has fallen.

Examples
--------
>>> import pandas as pd
>>> log = pd.DataFrame({
...     "time": pd.to_datetime(["2025-01-01"] * 4, utc=True),
...     "sex": ["F", "F", "M", "M"], "decision": [1, 0, 1, 1]})
>>> selection_rates_over_time(log, protected=["sex"])[["group", "selection_rate", "ratio_to_max"]]
  group  selection_rate  ratio_to_max
0     F             0.5           0.5
1     M             1.0           1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError
from civicml.monitor._chunked import floor_to_window

__all__ = ["OverrideReport", "override_rate", "selection_rates_over_time"]

AUTOMATION_BIAS = "possible automation bias"
QUALITY_CONCERN = "model quality concern"


def _windows(times: pd.Series, window: str) -> pd.Series:
    return floor_to_window(times, window)


def _require(log: pd.DataFrame, columns: Sequence[str], fix: str) -> None:
    missing = [c for c in columns if c not in log.columns]
    if missing:
        raise DataError.build(
            f"The decision log lacks columns {missing!r}",
            expected=f"columns {list(columns)!r}",
            got=list(log.columns)[:12],
            fix=fix,
        )


def selection_rates_over_time(
    log: pd.DataFrame,
    protected: Mapping[str, str] | Sequence[str],
    *,
    window: str = "1D",
    time_column: str = "time",
    decision_column: str = "decision",
    positive: Any = 1,
    min_ratio: float = 0.8,
) -> pd.DataFrame:
    """Selection rate per group and window for each protected characteristic.

    Parameters
    ----------
    protected : mapping or sequence
        ``{characteristic: column}`` (e.g. ``{"sex": "sex"}``) or a list of column names.
    positive : scalar
        The decision value that counts as selected.
    min_ratio : float
        ``below_min_ratio`` flags groups whose rate is under this share of the window's highest.

    Returns
    -------
    pandas.DataFrame
        ``window_start, characteristic, group, n, selected, selection_rate, ratio_to_max,
        below_min_ratio``.
    """
    mapping = dict(protected) if isinstance(protected, Mapping) else {c: c for c in protected}
    _require(
        log,
        [time_column, decision_column, *mapping.values()],
        "Log the protected characteristics beside each decision, or name their columns.",
    )
    windows = _windows(log[time_column], window)
    selected = (log[decision_column].to_numpy() == positive).astype(np.int64)
    frames = []
    for characteristic, column in mapping.items():
        df = pd.DataFrame(
            {"window_start": windows, "group": log[column].astype(object), "selected": selected}
        ).dropna(subset=["group"])
        agg = (
            df.groupby(["window_start", "group"], sort=True)["selected"]
            .agg(["size", "sum"])
            .reset_index()
        )
        agg = agg.rename(columns={"size": "n", "sum": "selected"})
        agg["selection_rate"] = agg["selected"] / agg["n"]
        top = agg.groupby("window_start")["selection_rate"].transform("max")
        agg["ratio_to_max"] = np.where(
            top > 0, agg["selection_rate"] / top.where(top > 0, 1.0), np.nan
        )
        agg["below_min_ratio"] = agg["ratio_to_max"] < min_ratio
        agg.insert(1, "characteristic", characteristic)
        agg["group"] = agg["group"].astype(str)
        frames.append(agg)
    cols = [
        "window_start",
        "characteristic",
        "group",
        "n",
        "selected",
        "selection_rate",
        "ratio_to_max",
        "below_min_ratio",
    ]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


@dataclass(frozen=True)
class OverrideReport:
    """Override rate per window and the oversight signals it raises."""

    table: pd.DataFrame
    signals: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        table = self.table.copy()
        table["window_start"] = table["window_start"].astype(str)
        return {
            "signals": self.signals,
            "evidence": self.evidence,
            "windows": table.to_dict(orient="records"),
        }


def override_rate(
    log: pd.DataFrame,
    *,
    window: str = "1D",
    time_column: str = "time",
    decision_column: str = "decision",
    reviewer_column: str = "reviewer_decision",
    overridden_column: str = "overridden",
    near_zero: float = 0.01,
    rise_factor: float = 2.0,
    min_rise: float = 0.05,
    min_reviewed: int = 20,
) -> OverrideReport:
    """Human override rate per window, with automation-bias and model-quality signals.

    A row counts as reviewed when ``overridden`` is not missing (or, without that column, when
    ``reviewer_decision`` is present); it is overridden when ``overridden`` is true (or the
    reviewer's decision differs from the model's).

    Signals (windows with fewer than ``min_reviewed`` reviews are ignored):

    - ``"possible automation bias"`` when the latest window's rate is at most ``near_zero``;
    - ``"model quality concern"`` when the latest rate is at least ``rise_factor`` times the median
      of the earlier windows and at least ``min_rise`` above it.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"time": pd.to_datetime(["2025-01-01"] * 30, utc=True),
    ...                     "decision": [1] * 30, "overridden": [False] * 30})
    >>> override_rate(log).signals
    ['possible automation bias']
    """
    _require(log, [time_column], "Log the decision time.")
    if overridden_column in log.columns:
        flag = log[overridden_column]
        reviewed = flag.notna().to_numpy()
        overridden = flag.fillna(False).astype(bool).to_numpy() & reviewed
    elif reviewer_column in log.columns:
        _require(log, [decision_column], "Log the model's decision beside the reviewer's.")
        reviewed = log[reviewer_column].notna().to_numpy()
        overridden = reviewed & (
            log[reviewer_column].astype(object).to_numpy()
            != log[decision_column].astype(object).to_numpy()
        )
    else:
        raise DataError.build(
            "The decision log has no human review columns",
            expected=f"{overridden_column!r} or {reviewer_column!r}",
            got=list(log.columns)[:12],
            fix="Log the reviewer's decision for human-in-the-loop services.",
        )
    df = pd.DataFrame(
        {
            "window_start": _windows(log[time_column], window),
            "reviewed": reviewed,
            "overridden": overridden,
        }
    )
    table = (
        df.groupby("window_start", sort=True)
        .agg(
            n=("reviewed", "size"), n_reviewed=("reviewed", "sum"), overrides=("overridden", "sum")
        )
        .reset_index()
    )
    table["override_rate"] = np.where(
        table["n_reviewed"] > 0, table["overrides"] / table["n_reviewed"].clip(lower=1), np.nan
    )
    signals: list[str] = []
    evidence: list[str] = []
    usable = table[table["n_reviewed"] >= min_reviewed]
    if not usable.empty:
        last = usable.iloc[-1]
        rate = float(last["override_rate"])
        when = str(last["window_start"])
        if rate <= near_zero:
            signals.append(AUTOMATION_BIAS)
            evidence.append(
                f"Reviewers overrode {int(last['overrides'])} of {int(last['n_reviewed'])} decisions "
                f"({rate:.1%}) in the window starting {when}: check that reviews are real."
            )
        earlier = usable.iloc[:-1]["override_rate"]
        if len(earlier):
            baseline = float(earlier.median())
            if rate >= rise_factor * baseline and rate - baseline >= min_rise:
                signals.append(QUALITY_CONCERN)
                evidence.append(
                    f"The override rate rose to {rate:.1%} in the window starting {when}, from a "
                    f"median of {baseline:.1%} before: reviewers disagree with the model more often."
                )
    return OverrideReport(table=table, signals=signals, evidence=evidence)
