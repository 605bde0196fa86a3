"""Functions used inside saved pipelines (through FunctionTransformer) to tidy text input."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["flatten_text", "to_str"]


def to_str(X: Any) -> np.ndarray:
    """Every value as a string, so mixed or numeric-looking categories encode consistently.

    >>> to_str([[1, "a"], [None, 2.5]]).tolist()
    [['1', 'a'], ['None', '2.5']]
    """
    return np.asarray(X, dtype=object).astype(str)


def flatten_text(X: Any) -> np.ndarray:
    """One text column as a 1-D array of strings, missing values as empty strings.

    >>> flatten_text([["a b"], [None], [float("nan")]]).tolist()
    ['a b', '', '']
    """
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return np.array(["" if v is None or v != v else str(v) for v in arr], dtype=object)
