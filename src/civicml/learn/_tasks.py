"""Which learning task a target implies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["detect_task"]

_MAX_INT_CLASSES = 20


def detect_task(y: Any) -> str:
    """``"binary"``, ``"multiclass"`` or ``"regression"`` from the target's values.

    Text, booleans and whole numbers with at most 20 distinct values are classes; other numbers
    are a regression target.

    Examples
    --------
    >>> detect_task(pd.Series(["yes", "no", "yes"]))
    'binary'
    >>> detect_task(pd.Series([1, 2, 3, 1]))
    'multiclass'
    >>> detect_task(pd.Series([0.5, 1.25, 3.0]))
    'regression'
    """
    s = pd.Series(y).dropna()
    n_unique = s.nunique()
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "binary" if n_unique <= 2 else "multiclass"
    values = s.to_numpy(dtype=float)
    whole = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if n_unique <= 2:
        return "binary"
    if whole and n_unique <= _MAX_INT_CLASSES:
        return "multiclass"
    return "regression"
