"""Functions used inside saved pipelines (through FunctionTransformer) to tidy text input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["flatten_text", "to_str"]


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
