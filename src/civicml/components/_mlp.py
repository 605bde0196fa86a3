"""A tabular multi-layer perceptron whose fitted weights are plain numpy arrays.

Training uses torch (the ``deep`` extra) through :mod:`civicml.components._mlp_train`, which
imports torch inside its functions only. Everything a fitted model holds is numpy arrays,
numbers and strings, and :meth:`predict` / :meth:`predict_proba` are a numpy forward pass
(:mod:`civicml.components._mlp_net`), so skops saves the model safely and the serving process
needs neither torch nor ``civicml.learn``.

The input is the preprocessed matrix: the first ``n_categorical`` columns are ordinal codes
(``0..k-1``; missing, unknown or out-of-range codes, NaN included, share index 0 of their
embedding table), the remaining columns are numbers already imputed and standardised (any NaN
left is read as 0). The network is::

    [embed(code_1) | ... | embed(code_c) | numbers] -> (Linear -> ReLU) x L -> Linear
    -> softmax (classification) or * y_scale + y_mean (regression)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from civicml.components._mlp_net import mlp_forward
from civicml.components._mlp_train import fit_tabular_mlp

__all__ = ["TabularMLPClassifier", "TabularMLPRegressor"]


class _TabularMLP(BaseEstimator):
    """Shared parameters, fitting and forward pass of the classifier and the regressor."""

    _task = "regression"

    def __init__(
        self,
        n_categorical: int = 0,
        hidden_units: int = 128,
        hidden_layers: int = 2,
        embedding_dim: int = 0,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int = 8,
        validation_fraction: float = 0.15,
        random_state: int = 0,
    ) -> None:
        self.n_categorical = n_categorical
        self.hidden_units = hidden_units
        self.hidden_layers = hidden_layers
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _fit(self, X: Any, y: Any, deadline: float | None = None) -> Any:
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite="allow-nan")
        if not 0 <= self.n_categorical <= X.shape[1]:
            raise ValueError(
                f"n_categorical={self.n_categorical!r} must be between 0 and the number of "
                f"columns ({X.shape[1]})"
            )
        target: np.ndarray
        if self._task == "regression":
            target = np.asarray(y, dtype=np.float64)
        else:
            check_classification_targets(y)
            self.classes_, target = np.unique(y, return_inverse=True)
        fitted = fit_tabular_mlp(X, target, task=self._task, deadline=deadline, **self.get_params())
        for key, value in fitted.items():
            setattr(self, key, value)
        return self

    def _raw(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return mlp_forward(
            X,
            n_categorical=self.n_categorical,
            cardinalities=self.cardinalities_,
            embeddings=self.embeddings_,
            coefs=self.coefs_,
            intercepts=self.intercepts_,
        )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags


class TabularMLPClassifier(ClassifierMixin, _TabularMLP):
    """An MLP classifier with an embedding table per categorical column.

    Parameters
    ----------
    n_categorical : int
        How many leading columns are ordinal category codes.
    hidden_units, hidden_layers : int
        Width and depth of the ReLU layers.
    embedding_dim : int
        Width of every embedding; 0 picks ``min(16, (k + 1) // 2 + 1)`` per column.
    dropout, learning_rate, weight_decay, batch_size : training settings (AdamW).
    max_epochs, patience, validation_fraction : early stopping on an internal validation split
        (stratified), keeping the weights of the best validation loss.
    random_state : int
        Seeds torch and the split; training is deterministic on one thread.

    Attributes
    ----------
    classes_, cardinalities_, embeddings_, coefs_, intercepts_ : numpy arrays (lists of them)
    n_epochs_, best_epoch_, best_validation_loss_ : the training history's summary

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.integers(0, 3, 200), rng.normal(size=200)]
    >>> y = (X[:, 0] == 1) ^ (X[:, 1] > 0)
    >>> clf = TabularMLPClassifier(n_categorical=1, max_epochs=60).fit(X, y)  # doctest: +SKIP
    >>> clf.score(X, y) > 0.9  # doctest: +SKIP
    True
    """

    _task = "classification"

    def fit(self, X: Any, y: Any, deadline: float | None = None) -> TabularMLPClassifier:
        """Train; with ``deadline`` (monotonic seconds) a ``TimeoutError`` is raised rather
        than training past it (checked every batch and before every epoch)."""
        return self._fit(X, y, deadline)

    def predict_proba(self, X: Any) -> np.ndarray:
        z = self._raw(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class TabularMLPRegressor(RegressorMixin, _TabularMLP):
    """An MLP regressor with an embedding table per categorical column.

    Same parameters as :class:`TabularMLPClassifier`; the target is standardised for training
    and the outputs mapped back (``y_mean_``, ``y_scale_``).
    """

    _task = "regression"

    def fit(self, X: Any, y: Any, deadline: float | None = None) -> TabularMLPRegressor:
        """Train; with ``deadline`` see :meth:`TabularMLPClassifier.fit`."""
        return self._fit(X, y, deadline)

    def predict(self, X: Any) -> np.ndarray:
        return self._raw(X)[:, 0] * self.y_scale_ + self.y_mean_
