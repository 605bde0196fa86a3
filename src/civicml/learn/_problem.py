"""The supervised problem once the held-out rows are set aside: what the search and finish share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from civicml.learn._metrics import Metric
from civicml.learn._preprocess import FeatureRoles

__all__ = ["Problem"]


@dataclass(frozen=True)
class Problem:
    """Training and held-out rows, the task and the cross-validation splits of the training rows.

    Attributes
    ----------
    X_tr, y_tr : the training rows (the search never sees the held-out ones)
    X_te, y_te : the held-out rows (none when ``test_size`` is 0)
    task : ``"binary"``, ``"multiclass"`` or ``"regression"``
    classes : the sorted class labels (empty for regression)
    splits : (train, validation) row indices into ``X_tr`` for each fold
    roles : the feature roles the pipelines are built from
    metric : the primary metric
    seed : seeds every model refit after the search
    repeats : how many times the k folds were reshuffled and repeated (``splits`` holds
        ``n_folds * repeats`` splits; each repeat's folds partition the rows)
    fresh_splits : folds of the same shape as ``splits`` but shuffled with another seed, which
        the search never sees; on a small table the choice must beat LightGBM's defaults on
        them too (see ``learn._confirm``). Empty where there are none (a large table, or
        grouped folds that a new seed does not reshuffle).
    fresh_seed : the seed ``fresh_splits`` were shuffled with (None without them)
    """

    X_tr: pd.DataFrame
    y_tr: np.ndarray
    X_te: pd.DataFrame
    y_te: np.ndarray
    task: str
    classes: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    roles: FeatureRoles
    metric: Metric
    seed: int
    repeats: int = 1
    fresh_splits: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    fresh_seed: int | None = None

    @property
    def n_folds(self) -> int:
        """How many cross-validation folds (k, per repeat)."""
        return max(1, len(self.splits) // max(self.repeats, 1))
