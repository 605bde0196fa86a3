"""Turn date columns into numbers a model can use."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["DateFeatures"]

_PARTS = ("year", "month", "day", "dayofweek", "day_of_year")


class DateFeatures(TransformerMixin, BaseEstimator):
    """Expand each date column into year, month, day, day of week and day of year.

    Unparseable values become NaN (the imputer after this step fills them).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"d": ["2024-01-31", "2024-02-29", None]})
    >>> DateFeatures().fit_transform(X)[:2, :3].tolist()
    [[2024.0, 1.0, 31.0], [2024.0, 2.0, 29.0]]
    """

    def __init__(self) -> None:
        pass

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        frame = pd.DataFrame(X)
        out = np.empty((len(frame), len(_PARTS) * frame.shape[1]), dtype=float)
        for i, col in enumerate(frame.columns):
            d = pd.to_datetime(frame[col], errors="coerce", format="mixed", utc=True)
            for j, part in enumerate(_PARTS):
                out[:, i * len(_PARTS) + j] = getattr(d.dt, part).astype("float64").to_numpy()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        names = input_features if input_features is not None else self.feature_names_in_
        return np.asarray([f"{c}_{p}" for c in names for p in _PARTS], dtype=object)
