"""Multivariate drift: PCA reconstruction error per chunk, for drift no single column shows.

As NannyML's data reconstruction drift: numeric columns are imputed (reference median) and
categorical ones one-hot encoded (top categories), everything is standardised with reference
statistics, and a PCA keeping enough components for ``variance`` (65%) of the reference variance
is fitted. Each row's reconstruction error is the Euclidean distance between the standardised
row and its projection back from the kept components; a chunk's statistic is the mean error.
When the correlation between columns changes, rows leave the learned subspace and the error
rises even if every column's own distribution is unchanged.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(size=(4000, 2))
>>> ref = pd.DataFrame({"a": z[:, 0], "b": 0.95 * z[:, 0] + 0.31 * z[:, 1]})
>>> w = rng.normal(size=(2000, 2))
>>> cur = pd.DataFrame({"a": w[:, 0], "b": -0.95 * w[:, 0] + 0.31 * w[:, 1]})
>>> result = PCAReconstructionDrift(chunk_size=250).fit(ref).detect(cur)
>>> bool(result.table["alert"].any())
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from civicml._errors import DataError, NotFittedError, SpecError
from civicml.monitor._chunked import ChunkedResult, _finish, iter_chunks, limits_from
from civicml.monitor._profile import infer_column_kind

__all__ = ["PCAReconstructionDrift"]

DEFAULT_EXCLUDE = ("request_id", "time", "model_version", "reviewer_decision", "overridden")
_FIT_ROWS = 200_000


class PCAReconstructionDrift:
    """Mean PCA reconstruction error per chunk against limits from reference chunks.

    Parameters
    ----------
    variance : float
        Share of reference variance the kept components must explain (NannyML: 0.65).
    chunk_size, freq, time_column, sigma, consecutive
        As :class:`~civicml.monitor.ChunkedMonitor`.
    columns : list of str, optional
        Input columns (default: numeric and categorical columns not excluded).
    exclude : sequence of str
        Columns never used.
    max_categories : int
        One-hot columns kept per categorical column (most frequent in the reference).
    random_state : int
        Seed of the row sample used to fit the PCA on large references.
    """

    def __init__(
        self,
        *,
        variance: float = 0.65,
        chunk_size: int | None = None,
        freq: str | None = None,
        time_column: str = "time",
        sigma: float = 3.0,
        consecutive: int = 2,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        max_categories: int = 20,
        random_state: int = 0,
    ) -> None:
        self.variance = variance
        self.chunk_size = chunk_size
        self.freq = freq
        self.time_column = time_column
        self.sigma = sigma
        self.consecutive = consecutive
        self.columns = columns
        self.exclude = exclude
        self.max_categories = max_categories
        self.random_state = random_state

    # -- encoding -------------------------------------------------------------------------
    def _encode(self, frame: pd.DataFrame) -> np.ndarray:
        parts = []
        for name in self.numeric_:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            values = np.where(np.isfinite(values), values, self.medians_[name])
            parts.append(values[:, None])
        for name, cats in self.categories_.items():
            col = frame[name].astype(object).to_numpy()
            parts.append(np.stack([col == c for c in cats], axis=1).astype(np.float64))
        x = np.hstack(parts) if parts else np.empty((len(frame), 0))
        return (x - self.mean_) / self.scale_

    def fit(self, reference: pd.DataFrame) -> PCAReconstructionDrift:
        """Fit the encoding and PCA on the reference and learn chunk limits. Returns ``self``."""
        if not 0 < self.variance < 1:
            raise SpecError.build(
                "The PCA 'variance' share is out of range",
                expected="a share in (0, 1)",
                got=self.variance,
                fix="Use 0.65 as NannyML does.",
            )
        names = (
            self.columns
            if self.columns is not None
            else [c for c in reference.columns if c not in self.exclude]
        )
        self.numeric_: list[str] = []
        self.categories_: dict[str, list[Any]] = {}
        self.medians_: dict[str, float] = {}
        for name in names:
            kind = infer_column_kind(reference[name])
            if kind == "numeric":
                self.numeric_.append(str(name))
                self.medians_[str(name)] = float(pd.to_numeric(reference[name]).median())
            elif kind == "categorical":
                top = reference[name].value_counts().index[: self.max_categories]
                self.categories_[str(name)] = [
                    v.item() if isinstance(v, np.generic) else v for v in top
                ]
        width = len(self.numeric_) + sum(len(c) for c in self.categories_.values())
        if width < 2:
            raise DataError.build(
                "Multivariate drift needs at least two encoded input columns",
                got=width,
                fix="Pass more columns, or use the per-column DriftDetector.",
            )
        self.mean_ = np.zeros(width)
        self.scale_ = np.ones(width)
        raw = self._encode(reference)
        self.mean_ = raw.mean(axis=0)
        std = raw.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        x = (raw - self.mean_) / self.scale_
        if len(x) > _FIT_ROWS:
            rng = np.random.default_rng(self.random_state)
            x = x[rng.choice(len(x), _FIT_ROWS, replace=False)]
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        explained = s**2 / np.sum(s**2)
        k = int(np.searchsorted(np.cumsum(explained), self.variance) + 1)
        self.n_components_ = min(k, vt.shape[0])
        self.components_ = vt[: self.n_components_]
        self.explained_variance_ratio_ = explained[: self.n_components_]
        ref_table = self._statistics(reference)
        values = ref_table["value"].to_numpy(dtype=float)
        self.limits_ = {"reconstruction_error": limits_from(values, self.sigma)}
        self.reference_table_ = ref_table
        return self

    def reconstruction_error(self, frame: pd.DataFrame) -> np.ndarray:
        """Per-row Euclidean reconstruction error in the standardised space."""
        if not hasattr(self, "components_"):
            raise NotFittedError.build(
                "This PCAReconstructionDrift is not fitted yet", fix="Call fit(reference_df) first."
            )
        missing = [c for c in [*self.numeric_, *self.categories_] if c not in frame.columns]
        if missing:
            raise DataError.build(
                f"The data lacks the input columns {missing!r}",
                fix="Log every model input, or refit on the columns you have.",
            )
        x = self._encode(frame)
        recon = (x @ self.components_.T) @ self.components_
        return np.sqrt(np.sum((x - recon) ** 2, axis=1))

    def _statistics(self, frame: pd.DataFrame, freq: str | None = None) -> pd.DataFrame:
        rows = []
        chunk_size = None if freq is not None else self.chunk_size
        for chunk in iter_chunks(
            frame, chunk_size=chunk_size, freq=freq or self.freq, time_column=self.time_column
        ):
            err = self.reconstruction_error(chunk.frame)
            rows.append(
                {
                    "chunk": chunk.index,
                    "start": chunk.start,
                    "end": chunk.end,
                    "n": len(chunk.frame),
                    "column": "reconstruction_error",
                    "value": float(err.mean()),
                }
            )
        return pd.DataFrame(rows, columns=["chunk", "start", "end", "n", "column", "value"])

    def detect(self, current: pd.DataFrame, *, freq: str | None = None) -> ChunkedResult:
        """Mean reconstruction error per chunk of ``current`` against the reference limits.

        ``freq`` cuts ``current`` into time windows although the reference was cut by rows (see
        :meth:`civicml.monitor.ChunkedMonitor.detect`).
        """
        if not hasattr(self, "limits_"):
            raise NotFittedError.build(
                "This PCAReconstructionDrift is not fitted yet", fix="Call fit(reference_df) first."
            )
        result = _finish(self._statistics(current, freq), self.limits_, self.consecutive)
        return ChunkedResult(
            table=result.table,
            consecutive=self.consecutive,
            statistic=f"mean PCA reconstruction error ({self.n_components_} components, "
            f"{float(self.explained_variance_ratio_.sum()):.0%} of reference variance)",
        )
