"""A cheap univariate screen for wide tables, run before the search so the budget is kept.

A table with far more columns than rows (over :data:`WIDE_COLUMNS` feature columns, or more
than :data:`WIDE_RATIO` times as many columns as training rows) makes every fold of every
candidate pay for thousands of columns the few rows cannot support. Such a table is screened
first: each numeric and categorical column gets a p-value from a one-way test against the
target on a sample of the training rows (an F-test for numbers; chi-squared for categories
against a class target, an F-test across the categories' groups for a numeric target), and the
:func:`keep_count` columns with the smallest p-values are kept. Text and date columns are always
kept. The screen sees the training rows only, never the held-out ones, so the held-out metrics
stay honest (the cross-validation scores of a screened table are a little optimistic, since
every fold's columns were chosen with all training rows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from civicml.learn._preprocess import FeatureRoles

__all__ = ["WIDE_COLUMNS", "WIDE_RATIO", "Screen", "is_wide", "keep_count", "screen_features"]

WIDE_COLUMNS = 1000
WIDE_RATIO = 5
SAMPLE_ROWS = 2000
MAX_CATEGORIES = 50


def is_wide(n_rows: int, n_columns: int) -> bool:
    """Whether a table with ``n_rows`` training rows and ``n_columns`` features is screened.

    >>> is_wide(40, 10_000), is_wide(5000, 20), is_wide(100, 600), is_wide(100_000, 1200)
    (True, False, True, True)
    """
    return n_columns > WIDE_COLUMNS or n_columns > WIDE_RATIO * max(n_rows, 1)


def keep_count(n_rows: int, n_columns: int) -> int:
    """How many columns a wide table keeps: five per row, between 50 and 1,000.

    >>> keep_count(40, 10_000), keep_count(5000, 2000), keep_count(4, 300)
    (200, 1000, 50)
    """
    return min(n_columns, max(50, min(WIDE_COLUMNS, WIDE_RATIO * n_rows)))


@dataclass
class Screen:
    """The screen's outcome: the roles kept and, for ``result.extra["screened"]``, a record."""

    roles: FeatureRoles
    kept: list[str]
    dropped: list[str]
    method: str
    rows_used: int
    seconds: float
    unscored: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The plain-data record of what was dropped and why."""
        return {
            "reason": (
                f"{len(self.kept) + len(self.dropped)} feature columns for {self.rows_used} "
                f"rows: kept the {len(self.kept)} with the strongest univariate link to the "
                "target before the search"
            ),
            "method": self.method,
            "n_before": len(self.kept) + len(self.dropped),
            "n_kept": len(self.kept),
            "rows_used": self.rows_used,
            "seconds": round(self.seconds, 3),
            "dropped": list(self.dropped),
            "unscored": list(self.unscored),
        }


def screen_features(
    X: pd.DataFrame,
    y: np.ndarray,
    roles: FeatureRoles,
    *,
    task: str,
    seed: int = 0,
    deadline: float | None = None,
) -> Screen:
    """Keep the :func:`keep_count` numeric and categorical columns most linked to ``y``.

    ``X`` and ``y`` are the training rows. Scoring stops at ``deadline`` (monotonic seconds):
    columns not scored by then rank last and are listed as ``unscored``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(40, 300)), columns=[f"c{i}" for i in range(300)])
    >>> y = (X["c7"] > 0).to_numpy().astype(int)
    >>> s = screen_features(X, y, FeatureRoles(numeric=list(X.columns)), task="binary")
    >>> len(s.kept), "c7" in s.kept, len(s.dropped)
    (200, True, 100)
    """
    started = time.monotonic()
    rng = np.random.default_rng(seed)
    rows = np.arange(len(X))
    if len(rows) > SAMPLE_ROWS:
        rows = np.sort(rng.choice(rows, SAMPLE_ROWS, replace=False))
    Xs, ys = X.iloc[rows], y[rows]
    p = dict(_numeric_pvalues(Xs, ys, list(roles.numeric), task))
    unscored: list[str] = []
    for col in roles.categorical:
        if deadline is not None and time.monotonic() > deadline:
            unscored.append(col)
            continue
        p[col] = _categorical_pvalue(Xs[col], ys, task)
    order = {c: i for i, c in enumerate(roles.features)}
    scored = sorted(p, key=lambda c: (p[c], order[c]))
    ranked = scored + unscored
    n_keep = keep_count(len(X), len(roles.features))
    n_free = len(roles.text) + len(roles.date)  # always kept
    keep = set(ranked[: max(n_keep - n_free, 1)])
    kept_roles = FeatureRoles(
        numeric=[c for c in roles.numeric if c in keep],
        categorical=[c for c in roles.categorical if c in keep],
        text=list(roles.text),
        date=list(roles.date),
    )
    dropped = [c for c in ranked if c not in keep]
    method = (
        "F-test"
        + (" and chi-squared" if roles.categorical and task != "regression" else "")
        + (" (p-value rank)")
    )
    return Screen(
        roles=kept_roles,
        kept=kept_roles.features,
        dropped=dropped,
        method=method,
        rows_used=len(rows),
        seconds=time.monotonic() - started,
        unscored=[c for c in unscored if c not in keep],
    )


def _numeric_pvalues(
    X: pd.DataFrame, y: np.ndarray, cols: list[str], task: str
) -> list[tuple[str, float]]:
    """F-test p-values of the numeric columns (missing values at the column's median; a column
    that is constant on the sample scores 1)."""
    if not cols:
        return []
    from sklearn.feature_selection import f_classif, f_regression

    part = X[cols]
    if all(pd.api.types.is_numeric_dtype(t) for t in part.dtypes):
        values = part.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = part.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        med = np.nanmedian(values, axis=0)
    med = np.where(np.isfinite(med), med, 0.0)
    values = np.where(np.isfinite(values), values, med)
    target = np.asarray(y)
    with np.errstate(all="ignore"):
        if task == "regression":
            _, pv = f_regression(values, target.astype(float))
        else:
            _, pv = f_classif(values, target.astype(str))
    pv = np.where(np.isfinite(pv), pv, 1.0)
    return list(zip(cols, (float(v) for v in pv), strict=True))


def _categorical_pvalue(col: pd.Series, y: np.ndarray, task: str) -> float:
    """Chi-squared (class target) or one-way F-test (numeric target) p-value of one column,
    with missing values a category and the rarest beyond :data:`MAX_CATEGORIES` pooled."""
    from scipy.stats import chi2_contingency, f_oneway

    codes = col.astype("string").fillna("<NA>")
    top = codes.value_counts().index[:MAX_CATEGORIES]
    codes = codes.where(codes.isin(top), "<other>").to_numpy()
    if len(set(codes)) < 2:
        return 1.0
    with np.errstate(all="ignore"):
        if task == "regression":
            target = np.asarray(y, dtype=float)
            groups = [target[codes == c] for c in np.unique(codes)]
            pv = float(f_oneway(*groups).pvalue)
        else:
            table = pd.crosstab(codes, np.asarray(y).astype(str)).to_numpy()
            if table.shape[1] < 2:
                return 1.0
            pv = float(chi2_contingency(table).pvalue)
    return pv if np.isfinite(pv) else 1.0
