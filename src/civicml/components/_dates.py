"""Turn date columns into numbers a model can use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DateFeatures"]

_PARTS = ("year", "month", "day", "dayofweek", "day_of_year")
#: the written forms tried at fit, in order of preference: ISO first, then UK day-first before
#: US month-first (a column whose days are all 12 or less reads as day-first, the UK way)
_FORMATS = (
    "ISO8601",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M",
    "%d/%m/%y",
)


class DateFeatures(TransformerMixin, BaseEstimator):
    """Expand each date column into year, month, day, day of week and day of year.

    Each column's written form is learned at fit (the one that reads the most of its values:
    ISO 8601, then day-first ``%d/%m/%Y`` before month-first) and used for every later row, so
    ``05/03/2024`` is always 5 March in a day-first column, never 3 May on some rows. Values
    not in that form (nor ISO 8601) become NaN (the imputer after this step fills them).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"d": ["2024-01-31", "2024-02-29", None]})
    >>> DateFeatures().fit_transform(X)[:2, :3].tolist()
    [[2024.0, 1.0, 31.0], [2024.0, 2.0, 29.0]]
    >>> uk = DateFeatures().fit(pd.DataFrame({"d": ["13/03/2024", "05/03/2024"]}))
    >>> uk.formats_, uk.transform(pd.DataFrame({"d": ["05/03/2024"]}))[0, :3].tolist()
    (['%d/%m/%Y'], [2024.0, 3.0, 5.0])
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.formats_ = [_best_format(frame[c]) for c in frame.columns]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        frame = pd.DataFrame(X)
        out = np.empty((len(frame), len(_PARTS) * frame.shape[1]), dtype=float)
        formats = getattr(self, "formats_", None)  # a model saved before formats were learned
        for i, col in enumerate(frame.columns):
            if formats is None:
                d = pd.to_datetime(frame[col], errors="coerce", format="mixed", utc=True)
            else:
                d = _parse(frame[col], formats[i])
            for j, part in enumerate(_PARTS):
                attr = "day_of_week" if part == "dayofweek" else part  # the name stays for models
                out[:, i * len(_PARTS) + j] = getattr(d.dt, attr).astype("float64").to_numpy()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        names = input_features if input_features is not None else self.feature_names_in_
        return np.asarray([f"{c}_{p}" for c in names for p in _PARTS], dtype=object)


def _parse(values: pd.Series, fmt: str) -> pd.Series:
    """``values`` read in ``fmt``, and in ISO 8601 where that fails (as UTC timestamps)."""
    text = values.astype("string")
    out = pd.to_datetime(text, errors="coerce", format=fmt, utc=True)
    if fmt != "ISO8601":
        iso = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        out = out.fillna(iso)
    return out


def _best_format(values: pd.Series) -> str:
    """The written form that reads the most of a column's values (ties: the earlier form)."""
    sample = values.dropna().astype("string").head(2_000)
    if sample.empty:
        return "ISO8601"
    best, best_n = "ISO8601", -1
    for fmt in _FORMATS:
        n = int(pd.to_datetime(sample, errors="coerce", format=fmt, utc=True).notna().sum())
        if n > best_n:
            best, best_n = fmt, n
    return best
