"""scikit-learn estimators around :func:`civicml.learn.train`: ``AutoClassifier``, ``AutoRegressor``.

They take a pandas DataFrame as it is (numbers, strings, categoricals, booleans, dates, free text,
missing values): column roles are inferred as ``civicml train`` infers them (see
:mod:`civicml.learn._frames`), and a frame passed to ``predict`` is checked against the contract
learned at ``fit``. Anything else (a NumPy array, a list of lists) is a matrix of numbers, checked
the scikit-learn way, so the estimators pass ``check_estimator``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from civicml._errors import DataError, SpecError
from civicml.data import DataContract
from civicml.learn._candidates import families_for
from civicml.learn._frames import LearnedFrame, check_frame, feature_frame, learn_frame
from civicml.learn._preprocess import FeatureRoles
from civicml.learn._train import train

__all__ = ["AutoClassifier", "AutoRegressor"]

#: Below this budget (seconds) the default search leaves out the families whose folds cannot be
#: stopped at the deadline (the MLP trains in one uninterruptible call and its first fit imports
#: torch): one such fold alone can run past a budget of a few seconds.
SMALL_BUDGET = 30.0
_UNSTOPPABLE = frozenset({"mlp"})


class _Auto(BaseEstimator):
    _task = "regression"
    contract_: DataContract | None
    learned_: LearnedFrame | None

    def __init__(
        self,
        budget_seconds: float = 60.0,
        max_trials: int | None = None,
        metric: str | None = None,
        seed: int = 0,
        cv_folds: int = 5,
        families: Any = None,
        roles: Mapping[str, str] | None = None,
    ) -> None:
        self.budget_seconds = budget_seconds
        self.max_trials = max_trials
        self.metric = metric
        self.seed = seed
        self.cv_folds = cv_folds
        self.families = families
        self.roles = roles

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.max_trials is None
        return tags

    def _frame(self, X: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            np.asarray(X, dtype=float), columns=[f"x{i}" for i in range(X.shape[1])]
        )

    def _families(self, task: str) -> list[str] | None:
        if self.families is not None:
            return list(self.families)
        if self.max_trials is None and float(self.budget_seconds) < SMALL_BUDGET:
            return [f.name for f in families_for(task) if f.name not in _UNSTOPPABLE]
        return None

    def _prepare(self, X: Any, y: Any, **y_check: Any) -> tuple[pd.DataFrame, FeatureRoles, Any]:
        """The training frame, its roles and the checked ``y``. A DataFrame with named columns
        keeps its columns and has its roles inferred; anything else is a matrix of numbers."""
        if _is_named_frame(X):
            validate_data(self, X, skip_check_array=True)
            learned = learn_frame(X, self.roles)
            self.contract_, self.learned_ = learned.contract, learned
            return X.reset_index(drop=True), learned.roles, _target(X, y, **y_check)
        if self.roles:
            raise SpecError.build(
                "roles= needs X as a pandas DataFrame with named columns",
                got=type(X).__name__,
                fix="Pass a DataFrame, or leave roles out for a matrix of numbers",
            )
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", **y_check)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
        if X.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples; got n_samples = {X.shape[0]}"
            )
        self.contract_, self.learned_ = None, None
        frame = self._frame(X)
        return frame, FeatureRoles(numeric=list(frame.columns)), y

    def _fit(
        self, frame: pd.DataFrame, roles: FeatureRoles, y: Any, task: str, started: float
    ) -> Any:
        # The budget counts from the call to fit: checking and inferring the frame come out of it.
        budget = float(self.budget_seconds)
        if self.max_trials is None and budget > 0:
            budget = max(budget - (time.monotonic() - started), 0.05 * budget)
        result = train(
            frame,
            pd.Series(y, name="target"),
            roles=roles,
            task=task,
            metric=self.metric,
            budget_seconds=budget,
            max_trials=self.max_trials,
            seed=self.seed,
            cv_folds=self.cv_folds,
            test_size=0.0,
            families=self._families(task),
        )
        self.result_ = result
        self.leaderboard_ = result.leaderboard
        self.best_estimator_ = result.pipeline
        self.roles_ = result.roles
        return result

    def _input(self, X: Any, where: str) -> pd.DataFrame:
        check_is_fitted(self, "best_estimator_")
        learned: LearnedFrame | None = self.learned_
        if learned is None:
            X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
            return self._frame(X)
        names = [str(c) for c in self.feature_names_in_]
        if not _is_named_frame(X):
            # scikit-learn's warning that X has no feature names, and its count check
            validate_data(self, X, reset=False, skip_check_array=True)
            X = feature_frame(X, names)
        elif _numbers_only(learned, names):
            # a frame of numbers is checked as scikit-learn checks it: same names, same order
            validate_data(self, X, reset=False, skip_check_array=True)
        return check_frame(X, learned, where=f"{type(self).__name__}.{where}")


def _is_named_frame(X: Any) -> bool:
    return isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)


def _numbers_only(learned: LearnedFrame, names: list[str]) -> bool:
    """Whether the model was fitted on a frame of numbers (every feature numeric, nothing else)."""
    roles = learned.roles
    return list(roles.numeric) == list(roles.features) and len(roles.features) == len(names)


def _target(X: pd.DataFrame, y: Any, **y_check: Any) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    values = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise DataError.build(
            "y must be one column of targets", expected="a 1-d array or Series", got=values.shape
        )
    check_consistent_length(X, values)
    if len(values) < 2:
        raise DataError.build(
            "X has too few rows to learn from", expected="at least 2", got=len(values)
        )
    missing = pd.isna(values)
    if missing.any():
        raise DataError.build(
            f"y has {int(missing.sum()):,} missing values (first at row {int(np.flatnonzero(missing)[0])})",
            fix="Drop the rows without a target before fit, e.g. X[y.notna()], y[y.notna()]",
        )
    if y_check.get("y_numeric"):
        try:
            return values.astype(float)
        except (TypeError, ValueError):
            raise DataError.build(
                "AutoRegressor needs numeric targets",
                got=str(values.dtype),
                fix="Convert y to numbers",
            ) from None
    return values


class AutoClassifier(ClassifierMixin, _Auto):
    """Automatic model search for classification, as a scikit-learn estimator.

    ``X`` may be a pandas DataFrame as it is: numbers, strings, categoricals, booleans, dates
    and free text, with missing values. Each column's role is inferred as ``civicml train``
    infers it (:func:`civicml.data.infer_contract`: ids and single-valued columns are not
    inputs), and ``roles`` overrides it. ``predict`` and ``predict_proba`` check a new frame
    against the contract learned at ``fit``: a missing feature column or one of the wrong type is
    a :class:`~civicml.ContractError` in one line; other columns are ignored; empty values are
    allowed. (A frame of numbers only is checked as scikit-learn checks it: the same columns in
    the same order.) Anything that is not a DataFrame is a matrix of numbers.

    Parameters
    ----------
    budget_seconds : float
        Wall-clock budget for the whole of ``fit``: checking the frame, search, ensembling,
        calibration and refit (ignored with ``max_trials``). Under 30 s the MLP is left out
        unless ``families`` names it (one of its folds cannot be stopped at the deadline).
    max_trials : int, optional
        Exactly this many search trials, wall clock ignored: reproducible with ``seed``.
    metric : str, optional
        The primary metric (default: ROC AUC for two classes, log loss for more).
    seed : int
    cv_folds : int
    families : list of str, optional
        Restrict the search to these families.
    roles : dict, optional
        ``{column: role}`` with roles ``"numeric"``, ``"categorical"``, ``"text"``, ``"date"``,
        ``"id"`` or ``"drop"`` (the last two: not an input), overriding the inferred ones.

    Attributes
    ----------
    best_estimator_ : the fitted pipeline (possibly an ensemble, possibly calibrated)
    leaderboard_ : Leaderboard
    classes_ : ndarray
    result_ : TrainResult
    roles_ : FeatureRoles
        The input columns by role.
    contract_ : DataContract or None
        The contract learned from a DataFrame (its feature columns), None for an array.
    feature_names_in_ : ndarray
        The columns of the DataFrame passed to ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = AutoClassifier(max_trials=1, cv_folds=3, families=["linear"]).fit(X, y)
    >>> clf.score(X, y) > 0.95, clf.leaderboard_.best.family
    (True, 'linear')

    A frame with strings, a date and missing values, as it is:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "month": ["April", "May", None, "June"] * 25,
    ...     "opened": ["01/02/2024", "03/02/2024", "15/03/2024", "30/04/2024"] * 25,
    ...     "age": [30.0, None, 52.0, 61.0] * 25,
    ... })
    >>> paid = ["yes", "no", "no", "yes"] * 25
    >>> clf = AutoClassifier(max_trials=1, cv_folds=3, families=["linear"]).fit(frame, paid)
    >>> clf.roles_.categorical, clf.roles_.date, clf.predict(frame[:2]).tolist()
    (['month'], ['opened'], ['yes', 'no'])
    >>> clf.predict(frame.drop(columns="age"))
    Traceback (most recent call last):
    ...
    civicml._errors.ContractError: The frame given to AutoClassifier.predict does not match the columns the model was fitted on: age: Column 'age' (numeric) is missing. Expected the columns ['month', 'age', 'opened'] (any order; others are ignored); got ['month', 'opened']. Add the missing columns (empty values are allowed) and give each the type it had in training.
    """

    def fit(self, X: Any, y: Any) -> AutoClassifier:
        started = time.monotonic()
        frame, roles, y_checked = self._prepare(X, y)
        check_classification_targets(y_checked)
        classes = np.unique(y_checked)
        if len(classes) < 2:
            raise ValueError(
                f"AutoClassifier needs at least 2 classes in y; got only one class {classes!r}"
            )
        self.classes_ = classes
        task = "binary" if len(classes) == 2 else "multiclass"
        # Labels go through as positions, so any label type round-trips exactly.
        self._fit(frame, roles, np.searchsorted(classes, y_checked), task, started)
        return self

    def _proba(self, X: Any, where: str) -> np.ndarray:
        frame = self._input(X, where)
        proba = np.asarray(self.best_estimator_.predict_proba(frame), dtype=float)
        fitted = np.asarray(self.best_estimator_.classes_)
        out = np.zeros((len(frame), len(self.classes_)))
        out[:, fitted.astype(int)] = proba
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._proba(X, "predict_proba")

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.classes_[np.argmax(self._proba(X, "predict"), axis=1)]


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
        started = time.monotonic()
        frame, roles, y_checked = self._prepare(X, y, y_numeric=True)
        self._fit(frame, roles, np.asarray(y_checked, dtype=float), "regression", started)
        return self

    def predict(self, X: Any) -> np.ndarray:
        frame = self._input(X, "predict")
        return np.asarray(self.best_estimator_.predict(frame), dtype=float)
