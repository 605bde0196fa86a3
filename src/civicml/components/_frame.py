"""Give ordinal-encoded columns a pandas categorical dtype, so LightGBM splits them natively."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["AsCategorical"]


class AsCategorical(TransformerMixin, BaseEstimator):
    """Mark the first ``n_categorical`` columns as categorical with codes fixed at fit time.

    Input is the numeric output of an ``OrdinalEncoder`` (unknown and missing values as NaN),
    placed first by the column transformer. Output is a DataFrame; codes unseen at fit become NaN.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.5], [1.0, 2.5], [np.nan, 0.0]])
    >>> out = AsCategorical(n_categorical=1).fit(X).transform(np.array([[1.0, 3.0], [7.0, 1.0]]))
    >>> out.dtypes.astype(str).tolist(), out.iloc[:, 0].isna().tolist()
    (['category', 'float64'], [False, True])
    """

    def __init__(self, n_categorical: int = 0) -> None:
        self.n_categorical = n_categorical

    def fit(self, X: Any, y: Any = None) -> AsCategorical:
        arr = np.asarray(X, dtype=float)
        self.n_features_in_ = arr.shape[1]
        self.categories_ = [
            np.unique(arr[:, i][~np.isnan(arr[:, i])]).tolist() for i in range(self.n_categorical)
        ]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "categories_")
        arr = np.asarray(X, dtype=float)
        frame = pd.DataFrame(arr, columns=[f"f{i}" for i in range(arr.shape[1])])
        for i, cats in enumerate(self.categories_):
            frame[f"f{i}"] = pd.Categorical(arr[:, i], categories=cats)
        return frame
