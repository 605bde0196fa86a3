"""The tabular MLP's network in numpy: embedding widths, embedding indices and the forward pass.

Shared by training (:mod:`civicml.components._mlp_train`, torch) and prediction
(:mod:`civicml.components._mlp`, numpy only), so both read the input the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["embedding_dims", "embedding_indices", "mlp_forward"]


def embedding_dims(cardinalities: np.ndarray, embedding_dim: int = 0) -> list[int]:
    """Embedding width per categorical column (index 0 is the missing/unknown row).

    >>> embedding_dims(np.array([2, 40, 1000]))
    [2, 16, 16]
    >>> embedding_dims(np.array([2, 40]), embedding_dim=4)
    [4, 4]
    """
    if embedding_dim:
        return [int(embedding_dim)] * len(cardinalities)
    return [int(min(16, (int(k) + 1) // 2 + 1)) for k in cardinalities]


def embedding_indices(codes: np.ndarray, cardinalities: np.ndarray) -> np.ndarray:
    """Row indices into each embedding table: ``code + 1`` for a valid code, else 0.

    A valid code is a finite whole number in ``0..cardinality-1``.

    >>> embedding_indices(np.array([[0.0, 2.0], [np.nan, 5.0], [1.0, -1.0]]), np.array([2, 3]))
    array([[1, 3],
           [0, 0],
           [2, 0]])
    """
    codes = np.asarray(codes, dtype=np.float64)
    card = np.asarray(cardinalities, dtype=np.float64).reshape(1, -1)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(codes) & (codes >= 0) & (codes < card) & (codes == np.floor(codes))
    safe = np.where(valid, codes, -1.0)
    return (safe + 1).astype(np.int64)


def mlp_forward(
    X: np.ndarray,
    *,
    n_categorical: int,
    cardinalities: np.ndarray,
    embeddings: list[np.ndarray],
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
) -> np.ndarray:
    """The network's raw outputs (logits, or standardised values) for ``X``, as float64."""
    X = np.asarray(X, dtype=np.float64)
    parts = []
    if n_categorical:
        idx = embedding_indices(X[:, :n_categorical], cardinalities)
        parts += [np.asarray(e, dtype=np.float64)[idx[:, j]] for j, e in enumerate(embeddings)]
    parts.append(np.nan_to_num(X[:, n_categorical:], nan=0.0, posinf=0.0, neginf=0.0))
    h = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
        h = h @ np.asarray(w, dtype=np.float64) + np.asarray(b, dtype=np.float64)
        if i < len(coefs) - 1:
            h = np.maximum(h, 0.0)
    return h
