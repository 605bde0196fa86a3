"""scikit-learn estimators around :func:`civicml.learn.train`: ``AutoClassifier``, ``AutoRegressor``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from civicml.learn._preprocess import FeatureRoles
from civicml.learn._train import train

__all__ = ["AutoClassifier", "AutoRegressor"]


class _Auto(BaseEstimator):
    _task = "regression"

    def __init__(
        self,
        budget_seconds: float = 60.0,
        max_trials: int | None = None,
        metric: str | None = None,
        seed: int = 0,
        cv_folds: int = 5,
        families: Any = None,
    ) -> None:
        self.budget_seconds = budget_seconds
        self.max_trials = max_trials
        self.metric = metric
        self.seed = seed
        self.cv_folds = cv_folds
        self.families = families

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.max_trials is None
        return tags

    def _frame(self, X: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            np.asarray(X, dtype=float), columns=[f"x{i}" for i in range(X.shape[1])]
        )

    def _fit(self, X: Any, y: Any, task: str) -> Any:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype="numeric")
        frame = self._frame(X)
        roles = FeatureRoles(numeric=list(frame.columns))
        return train(
            frame,
            pd.Series(y, name="target"),
            roles=roles,
            task=task,
            metric=self.metric,
            budget_seconds=self.budget_seconds,
            max_trials=self.max_trials,
            seed=self.seed,
            cv_folds=self.cv_folds,
            test_size=0.0,
            families=None if self.families is None else list(self.families),
        )

    def _input(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "best_estimator_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
        return self._frame(X)


class AutoClassifier(ClassifierMixin, _Auto):
    """Automatic model search for classification, as a scikit-learn estimator.

    Parameters
    ----------
    budget_seconds : float
        Wall-clock budget for search, ensembling, calibration and refit (ignored with
        ``max_trials``).
    max_trials : int, optional
        Exactly this many search trials, wall clock ignored: reproducible with ``seed``.
    metric : str, optional
        The primary metric (default: ROC AUC for two classes, log loss for more).
    seed : int
    cv_folds : int
    families : list of str, optional
        Restrict the search to these families.

    Attributes
    ----------
    best_estimator_ : the fitted pipeline (possibly an ensemble, possibly calibrated)
    leaderboard_ : Leaderboard
    classes_ : ndarray
    result_ : TrainResult

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = AutoClassifier(max_trials=1, cv_folds=3, families=["linear"]).fit(X, y)
    >>> clf.score(X, y) > 0.95, clf.leaderboard_.best.family
    (True, 'linear')
    """

    def fit(self, X: Any, y: Any) -> AutoClassifier:
        X_checked, y_checked = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y_checked)
        classes = np.unique(y_checked)
        if len(classes) < 2:
            raise ValueError(
                f"AutoClassifier needs at least 2 classes in y; got only one class {classes!r}"
            )
        self.classes_ = classes
        task = "binary" if len(classes) == 2 else "multiclass"
        # Labels go through as positions, so any label type round-trips exactly.
        result = self._fit(X_checked, np.searchsorted(classes, y_checked), task)
        self.result_ = result
        self.leaderboard_ = result.leaderboard
        self.best_estimator_ = result.pipeline
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        frame = self._input(X)
        proba = np.asarray(self.best_estimator_.predict_proba(frame), dtype=float)
        fitted = np.asarray(self.best_estimator_.classes_)
        out = np.zeros((len(frame), len(self.classes_)))
        out[:, fitted.astype(int)] = proba
        return out

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class AutoRegressor(RegressorMixin, _Auto):
    """Automatic model search for regression, as a scikit-learn estimator.

    Takes the same parameters as :class:`AutoClassifier` (the default metric is RMSE).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = AutoRegressor(max_trials=1, cv_folds=3, families=["linear"]).fit(X, y)
    >>> reg.score(X, y) > 0.4
    True
    """

    def fit(self, X: Any, y: Any) -> AutoRegressor:
        X_checked, y_checked = validate_data(
            self, X, y, ensure_all_finite="allow-nan", y_numeric=True
        )
        result = self._fit(X_checked, np.asarray(y_checked, dtype=float), "regression")
        self.result_ = result
        self.leaderboard_ = result.leaderboard
        self.best_estimator_ = result.pipeline
        return self

    def predict(self, X: Any) -> np.ndarray:
        frame = self._input(X)
        return np.asarray(self.best_estimator_.predict(frame), dtype=float)
