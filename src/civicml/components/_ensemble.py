"""Models that combine already-defined pipelines: a weighted ensemble and a calibrated model.

Both live inside saved bundles, so they import only numpy and scikit-learn and hold nothing but
fitted scikit-learn compatible estimators, numbers and strings (skops can save them safely).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["CalibratedModel", "WeightedEnsemble", "apply_calibrators", "fit_calibrators"]


class WeightedEnsemble(BaseEstimator):
    """A weighted average of several models' probabilities (classification) or values.

    Parameters
    ----------
    estimators : list of estimators
        The members (unfitted; :meth:`fit` fits a clone of each on the same rows).
    weights : list of float
        One non-negative weight per member; normalised to sum to 1.
    task : {"binary", "multiclass", "regression"}

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> ens = WeightedEnsemble([LogisticRegression(), DecisionTreeClassifier()], [3, 1], "binary")
    >>> ens.fit(X, y).predict(X).tolist(), ens.weights_.tolist()
    ([0, 0, 1, 1], [0.75, 0.25])
    """

    def __init__(self, estimators: Any = None, weights: Any = None, task: str = "binary") -> None:
        self.estimators = estimators
        self.weights = weights
        self.task = task

    def fit(self, X: Any, y: Any) -> WeightedEnsemble:
        w = np.asarray(self.weights, dtype=float)
        if len(self.estimators or []) == 0 or len(w) != len(self.estimators) or w.sum() <= 0:
            raise ValueError(
                "WeightedEnsemble needs one positive-sum weight per estimator; "
                f"got {len(self.estimators or [])} estimators and weights {self.weights!r}"
            )
        self.estimators_ = [clone(e).fit(X, y) for e in self.estimators]
        self.weights_ = w / w.sum()
        if self.task != "regression":
            self.classes_ = np.asarray(self.estimators_[0].classes_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        out = None
        for est, w in zip(self.estimators_, self.weights_, strict=True):
            p = np.asarray(est.predict_proba(X), dtype=float) * w
            out = p if out is None else out + p
        return out  # type: ignore[return-value]

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        if self.task == "regression":
            vals = [np.asarray(e.predict(X), dtype=float) for e in self.estimators_]
            return np.average(np.vstack(vals), axis=0, weights=self.weights_)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def fit_calibrators(proba: np.ndarray, y_index: np.ndarray, method: str) -> list[Any]:
    """One-vs-rest calibrators (``"sigmoid"`` or ``"isotonic"``) fitted on probabilities.

    ``proba`` is (n, k); ``y_index`` holds each row's class position. Binary problems get one
    calibrator, for the positive (last) class.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    k = proba.shape[1]
    cols = [k - 1] if k == 2 else list(range(k))
    fitted = []
    for j in cols:
        target = (y_index == j).astype(int)
        if method == "isotonic":
            cal = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            cal.fit(proba[:, j], target)
        else:
            cal = LogisticRegression(C=1e4, max_iter=1000)
            cal.fit(_logit(proba[:, j])[:, None], target)
        fitted.append(cal)
    return fitted


def apply_calibrators(proba: np.ndarray, calibrators: list[Any], method: str) -> np.ndarray:
    """Calibrated probabilities (rows sum to 1) from raw ones."""
    k = proba.shape[1]
    cols = [k - 1] if k == 2 else list(range(k))
    out = np.empty_like(proba, dtype=float)
    for j, cal in zip(cols, calibrators, strict=True):
        if method == "isotonic":
            out[:, j] = cal.predict(proba[:, j])
        else:
            out[:, j] = cal.predict_proba(_logit(proba[:, j])[:, None])[:, 1]
    if k == 2:
        out[:, 0] = 1.0 - out[:, 1]
        return np.clip(out, 0.0, 1.0)
    out = np.clip(out, 1e-9, None)
    return out / out.sum(axis=1, keepdims=True)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


class CalibratedModel(BaseEstimator):
    """A fitted classifier whose probabilities pass through one-vs-rest calibrators.

    civicml fits the calibrators on out-of-fold probabilities (honest), then wraps the model
    refit on all rows with :meth:`from_parts`. :meth:`fit` does the same on its own: it fits
    the calibrators on ``cv``-fold out-of-fold probabilities, then refits the estimator.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0); X = rng.normal(size=(200, 2))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> m = CalibratedModel(LogisticRegression(), method="sigmoid").fit(X, y)
    >>> np.allclose(m.predict_proba(X).sum(axis=1), 1.0), m.classes_.tolist()
    (True, [0, 1])
    """

    def __init__(self, estimator: Any = None, method: str = "sigmoid", cv: int = 3) -> None:
        self.estimator = estimator
        self.method = method
        self.cv = cv

    @classmethod
    def from_parts(cls, fitted: Any, calibrators: list[Any], method: str) -> CalibratedModel:
        """Wrap an already fitted classifier with already fitted calibrators."""
        model = cls(estimator=fitted, method=method)
        model.estimator_ = fitted
        model.calibrators_ = list(calibrators)
        model.classes_ = np.asarray(fitted.classes_)
        return model

    def fit(self, X: Any, y: Any) -> CalibratedModel:
        from sklearn.model_selection import cross_val_predict

        y = np.asarray(y)
        self.classes_ = np.unique(y)
        oof = cross_val_predict(clone(self.estimator), X, y, cv=self.cv, method="predict_proba")
        y_index = np.searchsorted(self.classes_, y)
        self.calibrators_ = fit_calibrators(oof, y_index, self.method)
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrators_")
        raw = np.asarray(self.estimator_.predict_proba(X), dtype=float)
        return apply_calibrators(raw, self.calibrators_, self.method)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
