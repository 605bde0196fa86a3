"""Regularised linear models fitted data-parallel: the same solution as scikit-learn's, with
the partitions staying on the Dask workers.

* **Ridge** (regression) is solved exactly from sums the workers compute on their partitions,
  ``[X 1]ᵀ[X 1]`` and ``[X 1]ᵀy`` (a few kilobytes each), with the intercept unpenalised, as
  :class:`sklearn.linear_model.Ridge` does.
* **Logistic regression** (binary and multinomial, L2 penalty, optional ``balanced`` class
  weights) minimises scikit-learn's objective, ``C · Σ wᵢ · loss + ½‖coef‖²``, with L-BFGS on
  the driver; each step asks every partition for its loss and gradient.

The result is a plain fitted ``Ridge`` / ``LogisticRegression`` (``coef_``, ``intercept_``,
``classes_``), so the bundle, skops and the ONNX export treat it like any other. Only
``l1_ratio = 0`` is fitted here (an L1 or elastic-net penalty is not smooth): a configuration
with another ``l1_ratio`` is fitted with the L2 penalty, and the record says so.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(400, 3)); y = X @ [1.0, -2.0, 0.5] + 3
>>> parts = [(X[:150], y[:150]), (X[150:], y[150:])]
>>> model = ridge_from_sums([ridge_sums(x, t) for x, t in parts], alpha=1.0)
>>> from sklearn.linear_model import Ridge
>>> bool(np.allclose(model.coef_, Ridge(alpha=1.0).fit(X, y).coef_))
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["logistic_loss_grad", "ridge_from_sums", "ridge_sums"]


def ridge_sums(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One partition's ``[X 1]ᵀ[X 1]``, ``[X 1]ᵀy`` and row count."""
    A = np.hstack([np.asarray(X, dtype=np.float64), np.ones((len(X), 1))])
    return A.T @ A, A.T @ np.asarray(y, dtype=np.float64), len(X)


def ridge_from_sums(sums: Sequence[tuple[np.ndarray, np.ndarray, int]], alpha: float) -> Any:
    """The fitted :class:`~sklearn.linear_model.Ridge` from the partitions' sums."""
    from sklearn.linear_model import Ridge

    gram = np.sum([s[0] for s in sums], axis=0)
    moment = np.sum([s[1] for s in sums], axis=0)
    p = gram.shape[0] - 1
    penalty = np.eye(p + 1) * float(alpha)
    penalty[p, p] = 0.0  # the intercept is not penalised
    w = np.linalg.solve(gram + penalty, moment)
    model = Ridge(alpha=float(alpha))
    model.coef_, model.intercept_ = w[:p].copy(), float(w[p])
    model.n_features_in_ = p
    return model


def logistic_loss_grad(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int, weights: np.ndarray
) -> tuple[float, np.ndarray]:
    """One partition's weighted log loss (summed) and its gradient at ``w``, the flattened
    ``(coef, intercept)``: one column of coefficients for a binary model (the positive class),
    ``n_classes`` for a multinomial one. ``y`` holds class indices, ``weights`` one weight per
    class."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    sw = weights[y]
    p = X.shape[1]
    k = 1 if n_classes == 2 else n_classes
    W = w.reshape(p + 1, k)
    z = X @ W[:p] + W[p]
    if k == 1:
        z = z[:, 0]
        t = (y == 1).astype(np.float64)
        # log(1 + e^z) - t·z, stably
        loss = float(np.sum(sw * (np.logaddexp(0.0, z) - t * z)))
        r = sw * (1.0 / (1.0 + np.exp(-z)) - t)
        grad = np.vstack([X.T @ r[:, None], [[r.sum()]]])
        return loss, grad.ravel()
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = float(-np.sum(sw * logp[np.arange(len(y)), y]))
    r = np.exp(logp)
    r[np.arange(len(y)), y] -= 1.0
    r *= sw[:, None]
    grad = np.vstack([X.T @ r, r.sum(axis=0, keepdims=True)])
    return loss, grad.ravel()


def fit_logistic(
    step: Callable[[np.ndarray], tuple[float, np.ndarray]],
    *,
    n_features: int,
    classes: Sequence[Any],
    C: float,
    max_iter: int = 200,
) -> Any:
    """The fitted :class:`~sklearn.linear_model.LogisticRegression` minimising
    ``C · step(w)[0] + ½‖coef‖²`` with L-BFGS; ``step`` sums the partitions' losses and
    gradients (:func:`logistic_loss_grad`)."""
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    k = 1 if len(classes) == 2 else len(classes)
    shape = (n_features + 1, k)
    penalise = np.ones(shape)
    penalise[n_features] = 0.0  # the intercepts are not penalised

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = step(w)
        pw = penalise.ravel() * w
        return C * loss + 0.5 * float(pw @ w), C * grad + pw

    found = minimize(
        objective,
        np.zeros(shape).ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": 1e-6},
    )
    W = found.x.reshape(shape)
    model = LogisticRegression(C=float(C), max_iter=max_iter)
    model.coef_ = np.ascontiguousarray(W[:n_features].T)
    model.intercept_ = np.ascontiguousarray(W[n_features])
    model.classes_ = np.asarray(classes)
    model.n_features_in_ = n_features
    model.n_iter_ = np.asarray([int(found.nit)], dtype=np.int32)
    return model
