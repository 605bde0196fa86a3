"""Functions used inside saved pipelines (through FunctionTransformer) to tidy text input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["TextSVD", "flatten_text", "to_str"]


def _as_text(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))  # 42.0 and 42 are the same category
    return str(value)


_AS_TEXT = np.frompyfunc(_as_text, 1, 1)


def to_str(X: Any) -> np.ndarray:
    """Every value as a string, so mixed or numeric-looking categories encode consistently.

    Whole numbers read as floats (``42.0``, as a column with a blank becomes in a CSV, or as a
    JSON client may send) give the same text as the integer ``42``.

    >>> to_str([[1, "a"], [None, 2.5]]).tolist()
    [['1', 'a'], ['None', '2.5']]
    >>> to_str([[42.0], [42]]).tolist()
    [['42'], ['42']]
    """
    return _AS_TEXT(np.asarray(X, dtype=object)).astype(str)


def flatten_text(X: Any) -> np.ndarray:
    """One text column as a 1-D array of strings, missing values as empty strings.

    >>> flatten_text([["a b"], [None], [float("nan")]]).tolist()
    ['a b', '', '']
    """
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return np.array(["" if v is None or v != v else str(v) for v in arr], dtype=object)


class TextSVD(TransformerMixin, BaseEstimator):
    """TruncatedSVD that fits whatever vocabulary the text gives: ``n_components`` at most,
    fewer when the TF-IDF matrix has fewer columns (a short free-text column in a small table),
    so a small vocabulary never stops training.

    Examples
    --------
    >>> from scipy.sparse import csr_matrix
    >>> X = csr_matrix(np.eye(5))
    >>> TextSVD(n_components=32).fit_transform(X).shape
    (5, 4)
    """

    def __init__(self, n_components: int = 32, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> TextSVD:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD

        n = max(1, min(self.n_components, X.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=n, random_state=self.random_state)
        out: np.ndarray = self.svd_.fit_transform(X)
        return out

    def transform(self, X: Any) -> np.ndarray:
        out: np.ndarray = self.svd_.transform(X)
        return out
