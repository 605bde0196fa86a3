"""Per-column drift between the training reference and a window of logged inputs.

:class:`DriftDetector` follows Evidently 0.7's ``DataDriftPreset`` defaults, read from
``evidently/legacy/calculations/stattests/registry.py::_get_default_stattest`` and
``evidently/legacy/calculations/data_drift.py::get_one_column_drift`` (0.7.23):

- NaN and ±inf are dropped from both samples first; the size rule uses the reference rows left.
- ``n_values`` is the number of distinct values in reference and current together.
- Reference of at most 1000 rows: numeric → K-S (or chi-squared / Z-test when ``n_values`` is at
  most 5 / 2); categorical → chi-squared, or Z-test when ``n_values <= 2``; threshold p 0.05.
- Larger reference: numeric → normed Wasserstein, or Jensen–Shannon when ``n_values <= 5``;
  categorical → Jensen–Shannon; threshold 0.1.
- Dataset drift when the share of drifted feature columns is at least ``drift_share`` (0.5).

PSI is reported for every column beside the deciding test. Columns named in
``prediction_columns`` (scores and decisions) are tested the same way and give *prediction
drift*; they do not count towards dataset drift.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> ref = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000)})
>>> cur = pd.DataFrame({"x": rng.normal(0.5, 1, 5000), "c": rng.choice(["a", "b", "c"], 5000)})
>>> report = DriftDetector().fit(ref).detect(cur)
>>> [(c.column, c.stattest, c.drifted) for c in report.columns]
[('x', 'wasserstein', True), ('c', 'jensenshannon', False)]
>>> report.dataset_drift
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import civicml.monitor._stattests as st
from civicml._errors import DataError, NotFittedError, SpecError
from civicml.monitor._profile import (
    SMALL_CARDINALITY,
    ReferenceProfile,
    category_counts,
    finite_values,
    read_reference_files,
)

__all__ = ["STATTESTS", "ColumnDrift", "DriftDetector", "DriftReport"]

#: stattest key -> (display name as Evidently prints it, default threshold, score is a p-value)
STATTESTS: dict[str, tuple[str, float, bool]] = {
    "ks": ("K-S p_value", 0.05, True),
    "chisquare": ("chi-square p_value", 0.05, True),
    "chisquare_2sample": ("chi-square (two-sample) p_value", 0.05, True),
    "z": ("Z-test p_value", 0.05, True),
    "wasserstein": ("Wasserstein distance (normed)", 0.1, False),
    "jensenshannon": ("Jensen-Shannon distance", 0.1, False),
    "psi": ("PSI", 0.1, False),
}
DEFAULT_EXCLUDE = ("request_id", "time", "model_version", "reviewer_decision", "overridden")
DEFAULT_PREDICTIONS = ("score", "prediction", "decision")
_PLOT_BINS = 20
_PLOT_CATEGORIES = 12


@dataclass(frozen=True)
class ColumnDrift:
    """Drift verdict for one column.

    ``score`` is the deciding test's value: a p-value for ``ks``/``chisquare``/``z`` (drift when
    below the threshold), a distance for ``wasserstein``/``jensenshannon``/``psi`` (drift when at or
    above it). ``p_value`` repeats it for p-value tests and is ``None`` otherwise.
    """

    column: str
    role: str
    kind: str
    stattest: str
    stattest_name: str
    score: float
    p_value: float | None
    threshold: float
    drifted: bool
    psi: float
    n_reference: int
    n_current: int
    missing_share_reference: float
    missing_share_current: float
    distribution: dict[str, Any] = field(default_factory=dict, repr=False)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (NaN becomes ``None``)."""
        return {k: _clean(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class DriftReport:
    """Drift of every monitored column plus the dataset-level verdicts."""

    columns: list[ColumnDrift]
    drift_share: float
    n_reference: int
    n_current: int
    reference_sampled: bool = False

    @property
    def features(self) -> list[ColumnDrift]:
        """Feature columns (not scores or decisions)."""
        return [c for c in self.columns if c.role == "feature"]

    @property
    def predictions(self) -> list[ColumnDrift]:
        """Score and decision columns."""
        return [c for c in self.columns if c.role == "prediction"]

    @property
    def n_drifted(self) -> int:
        """Number of drifted feature columns."""
        return sum(c.drifted for c in self.features)

    @property
    def share_drifted(self) -> float:
        """Share of feature columns that drifted."""
        return self.n_drifted / len(self.features) if self.features else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when at least ``drift_share`` of the feature columns drifted."""
        return bool(self.features) and self.share_drifted >= self.drift_share

    @property
    def prediction_drift(self) -> bool | None:
        """True when any score/decision column drifted; ``None`` when none was monitored."""
        preds = self.predictions
        return any(c.drifted for c in preds) if preds else None

    @property
    def drifted_columns(self) -> list[str]:
        """Names of drifted columns (features and predictions), largest evidence first."""
        return [c.column for c in self.columns if c.drifted]

    def __getitem__(self, column: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == column:
                return c
        raise KeyError(column)

    def to_frame(self) -> pd.DataFrame:
        """One row per column (without plot data)."""
        rows = [{k: v for k, v in c.to_dict().items() if k != "distribution"} for c in self.columns]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary and per-column results."""
        return {
            "dataset_drift": self.dataset_drift,
            "prediction_drift": self.prediction_drift,
            "drift_share": self.drift_share,
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "reference_sampled": self.reference_sampled,
            "columns": [c.to_dict() for c in self.columns],
        }


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _check_threshold(name: str, value: float | None) -> None:
    if value is not None and not (isinstance(value, int | float) and float(value) > 0):
        raise SpecError.build(
            f"The drift parameter {name!r} is invalid",
            expected="a positive number",
            got=value,
            fix=f"Set {name} to a positive number, e.g. 0.05 for p-values or 0.1 for distances.",
        )


class DriftDetector:
    """Column and dataset drift against a training reference, Evidently's rules, numpy speed.

    Parameters
    ----------
    stattest : str, optional
        Force one test for every column (``ks``, ``chisquare``, ``chisquare_2sample``, ``z``,
        ``wasserstein``, ``jensenshannon``, ``psi``); default chooses per column as Evidently does.
    num_stattest, cat_stattest : str, optional
        Force a test for numeric / categorical columns only. ``cat_stattest="chisquare_2sample"``
        fixes the excess false alarms of Evidently's chi-squared on small references.
    stattest_threshold : float, optional
        Threshold for every column instead of each test's default (0.05 / 0.1).
    per_column_stattest, per_column_threshold : dict, optional
        Per-column overrides of the two above.
    drift_share : float
        Dataset drift when at least this share of feature columns drifted.
    small_reference_rows : int
        References up to this many rows use the p-value tests (Evidently: 1000).
    sample_size : int or None
        Reference rows kept for numeric distribution tests; ``None`` keeps all.
    columns : list of str, optional
        Monitor only these columns.
    exclude : sequence of str
        Never monitored (identifiers, timestamps, review columns of the decision log).
    prediction_columns : sequence of str
        Score/decision columns: tested for prediction drift, not counted in dataset drift.
    random_state : int
        Seed of the reference sample.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"flag": ["y", "n"] * 200})
    >>> cur = pd.DataFrame({"flag": ["y"] * 300 + ["n"] * 100})
    >>> r = DriftDetector().fit(ref).detect(cur)
    >>> r["flag"].kind, r["flag"].stattest, r["flag"].drifted
    ('binary', 'z', True)
    """

    def __init__(
        self,
        *,
        stattest: str | None = None,
        num_stattest: str | None = None,
        cat_stattest: str | None = None,
        stattest_threshold: float | None = None,
        per_column_stattest: Mapping[str, str] | None = None,
        per_column_threshold: Mapping[str, float] | None = None,
        drift_share: float = 0.5,
        small_reference_rows: int = 1000,
        sample_size: int | None = 100_000,
        columns: list[str] | None = None,
        exclude: tuple[str, ...] = DEFAULT_EXCLUDE,
        prediction_columns: tuple[str, ...] = DEFAULT_PREDICTIONS,
        random_state: int = 0,
    ) -> None:
        self.stattest = stattest
        self.num_stattest = num_stattest
        self.cat_stattest = cat_stattest
        self.stattest_threshold = stattest_threshold
        self.per_column_stattest = per_column_stattest
        self.per_column_threshold = per_column_threshold
        self.drift_share = drift_share
        self.small_reference_rows = small_reference_rows
        self.sample_size = sample_size
        self.columns = columns
        self.exclude = exclude
        self.prediction_columns = prediction_columns
        self.random_state = random_state

    # -- sklearn-style API ----------------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn convention)."""
        return {
            "stattest": self.stattest,
            "num_stattest": self.num_stattest,
            "cat_stattest": self.cat_stattest,
            "stattest_threshold": self.stattest_threshold,
            "per_column_stattest": self.per_column_stattest,
            "per_column_threshold": self.per_column_threshold,
            "drift_share": self.drift_share,
            "small_reference_rows": self.small_reference_rows,
            "sample_size": self.sample_size,
            "columns": self.columns,
            "exclude": self.exclude,
            "prediction_columns": self.prediction_columns,
            "random_state": self.random_state,
        }

    def set_params(self, **params: Any) -> DriftDetector:
        """Set constructor parameters (scikit-learn convention). Returns ``self``."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise SpecError.build(
                    f"DriftDetector has no parameter {key!r}",
                    expected=f"one of {sorted(valid)}",
                    got=key,
                    fix="Check the parameter name.",
                )
            setattr(self, key, value)
        return self

    def _validate_params(self) -> None:
        for name in ("stattest", "num_stattest", "cat_stattest"):
            value = getattr(self, name)
            if value is not None and value not in STATTESTS:
                raise SpecError.build(
                    f"The drift parameter {name!r} names an unknown test",
                    expected=f"one of {list(STATTESTS)}",
                    got=value,
                    fix="Pick a test from the list or leave it unset for Evidently's defaults.",
                )
        for col, test in (self.per_column_stattest or {}).items():
            if test not in STATTESTS:
                raise SpecError.build(
                    f"The drift test for column {col!r} is unknown",
                    expected=f"one of {list(STATTESTS)}",
                    got=test,
                    fix="Fix per_column_stattest.",
                )
        _check_threshold("stattest_threshold", self.stattest_threshold)
        for col, thr in (self.per_column_threshold or {}).items():
            _check_threshold(f"per_column_threshold[{col!r}]", thr)
        if not 0 < float(self.drift_share) <= 1:
            raise SpecError.build(
                "The drift parameter 'drift_share' is out of range",
                expected="a share in (0, 1]",
                got=self.drift_share,
                fix="Use 0.5 to flag dataset drift when half of the columns drift.",
            )
        if self.sample_size is not None and self.sample_size < self.small_reference_rows:
            raise SpecError.build(
                "The drift parameter 'sample_size' is smaller than 'small_reference_rows'",
                expected=f"at least {self.small_reference_rows}",
                got=self.sample_size,
                fix="Raise sample_size or set it to None to keep every reference row.",
            )

    def fit(
        self,
        reference: pd.DataFrame,
        column_types: Mapping[str, str] | None = None,
        *,
        sketches: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DriftDetector:
        """Profile the training reference. Returns ``self``.

        Parameters
        ----------
        reference : pandas.DataFrame
            The data the model was trained on (features, and scores/decisions if available).
        column_types : mapping, optional
            ``{column: "numeric" | "categorical"}`` to override the inferred kinds.
        sketches : mapping, optional
            Distributions of columns the reference keeps without raw values (personal,
            special-category and free-text columns; see :func:`civicml.monitor.sketch_column`).
            A value-count sketch gives the same scores as the raw column.
        """
        self._validate_params()
        self.profile_ = ReferenceProfile.from_frame(
            reference,
            column_types=column_types,
            columns=self.columns,
            exclude=self.exclude,
            sample_size=self.sample_size,
            random_state=self.random_state,
            sketches=sketches,
        )
        self.n_features_in_ = len(self.profile_.summaries)
        self.feature_names_in_ = list(self.profile_.summaries)
        return self

    def _check_fitted(self) -> ReferenceProfile:
        profile = getattr(self, "profile_", None)
        if profile is None:
            raise NotFittedError.build(
                "This DriftDetector is not fitted yet",
                fix="Call fit(reference_df) or DriftDetector.load(directory) first.",
            )
        return profile

    def detect(self, current: pd.DataFrame) -> DriftReport:
        """Test every profiled column of ``current`` against the reference."""
        profile = self._check_fitted()
        if not isinstance(current, pd.DataFrame):
            raise DataError.build(
                "The current window must be a pandas DataFrame",
                got=type(current).__name__,
                fix="Pass the logged inputs as a DataFrame.",
            )
        missing = [c for c in profile.summaries if c not in current.columns]
        if missing:
            raise DataError.build(
                f"The current window lacks reference columns {missing!r}",
                expected=f"columns {list(profile.summaries)!r}",
                fix="Log every model input, or refit the detector on the columns you have.",
            )
        results = [self._column(profile, name, current[name]) for name in profile.summaries]
        return DriftReport(
            columns=results,
            drift_share=float(self.drift_share),
            n_reference=profile.n_rows,
            n_current=len(current),
            reference_sampled=not profile.sample_is_complete,
        )

    # -- one column -----------------------------------------------------------------------
    def _threshold(self, column: str, test: str) -> float:
        per = (self.per_column_threshold or {}).get(column)
        if per is not None:
            return float(per)
        if self.stattest_threshold is not None:
            return float(self.stattest_threshold)
        return STATTESTS[test][1]

    def _choose(self, column: str, kind: str, n_ref: int, n_values: int) -> str:
        forced = (self.per_column_stattest or {}).get(column) or self.stattest
        if forced is None:
            forced = self.num_stattest if kind == "numeric" else self.cat_stattest
        if forced is not None:
            return forced
        if n_ref <= self.small_reference_rows:
            if kind == "numeric" and n_values > 5:
                return "ks"
            return "chisquare" if n_values > 2 else "z"
        if kind == "numeric" and n_values > 5:
            return "wasserstein"
        return "jensenshannon"

    def _column(self, profile: ReferenceProfile, name: str, series: pd.Series) -> ColumnDrift:
        summary = profile.summaries[name]
        kind = summary["kind"]
        n_total = len(series)
        if kind == "numeric":
            if not pd.api.types.is_numeric_dtype(series.dtype):
                raise DataError.build(
                    f"The current column {name!r} should be numeric like the reference",
                    expected="a numeric dtype",
                    got=str(series.dtype),
                    fix="Fix the logged type or refit the detector.",
                )
            cur = finite_values(series)
            n_cur = int(cur.size)
            result = self._numeric(profile, name, summary, cur)
        else:
            cur_keys, cur_counts = category_counts(series)
            n_cur = int(cur_counts.sum())
            result = self._categorical(name, summary, cur_keys, cur_counts)
        role = "prediction" if name in self.prediction_columns else "feature"
        missing_ref = summary["n_missing"] / max(summary["n"] + summary["n_missing"], 1)
        missing_cur = (n_total - n_cur) / n_total if n_total else 0.0
        return ColumnDrift(
            column=name,
            role=role,
            n_reference=int(summary["n"]),
            n_current=n_cur,
            missing_share_reference=float(missing_ref),
            missing_share_current=float(missing_cur),
            **result,
        )

    def _verdict(
        self, name: str, kind: str, test: str, score: float, n_values: int
    ) -> dict[str, Any]:
        threshold = self._threshold(name, test)
        display, _, is_p = STATTESTS[test]
        if np.isnan(score):
            drifted = False
        elif is_p:
            drifted = score <= threshold if test == "ks" else score < threshold
        else:
            drifted = score >= threshold
        return {
            "kind": "binary" if n_values <= 2 else kind,
            "stattest": test,
            "stattest_name": display,
            "score": float(score),
            "p_value": float(score) if is_p else None,
            "threshold": threshold,
            "drifted": bool(drifted),
        }

    def _empty(self, name: str, kind: str, note: str) -> dict[str, Any]:
        test = self.stattest or ("wasserstein" if kind == "numeric" else "jensenshannon")
        out = self._verdict(name, kind, test, float("nan"), 3)
        out.update(psi=float("nan"), distribution={}, note=note)
        return out

    def _categorical(
        self, name: str, summary: dict[str, Any], cur_keys: list[Any], cur_counts: np.ndarray
    ) -> dict[str, Any]:
        if cur_counts.sum() == 0:
            return self._empty(name, "categorical", "no values in the current window")
        keys = list(summary["categories"])
        index = {k: i for i, k in enumerate(keys)}
        for k in cur_keys:
            if k not in index:
                index[k] = len(keys)
                keys.append(k)
        ref = np.zeros(len(keys), dtype=np.int64)
        ref[: len(summary["counts"])] = summary["counts"]
        cur = np.zeros(len(keys), dtype=np.int64)
        cur[[index[k] for k in cur_keys]] = cur_counts
        return self._from_counts(name, "categorical", summary["n"], keys, ref, cur)

    def _from_counts(
        self, name: str, kind: str, n_ref: int, keys: list[Any], ref: np.ndarray, cur: np.ndarray
    ) -> dict[str, Any]:
        present = (ref > 0) | (cur > 0)
        n_values = int(present.sum())
        test = self._choose(name, kind, n_ref, n_values)
        score = _score_counts(test, keys, ref, cur)
        out = self._verdict(name, kind, test, score, n_values)
        out["psi"] = st.psi_from_counts(ref, cur, n_ref=int(ref.sum()), n_cur=int(cur.sum()))
        order = np.argsort(-ref, kind="stable")[:_PLOT_CATEGORIES]
        n_r, n_c = max(int(ref.sum()), 1), max(int(cur.sum()), 1)
        out["distribution"] = {
            "type": "categories",
            "labels": [str(keys[i]) for i in order],
            "reference": [float(ref[i] / n_r) for i in order],
            "current": [float(cur[i] / n_c) for i in order],
        }
        out["note"] = None
        return out

    def _numeric(
        self, profile: ReferenceProfile, name: str, summary: dict[str, Any], cur: np.ndarray
    ) -> dict[str, Any]:
        if cur.size == 0:
            return self._empty(name, "numeric", "no finite values in the current window")
        if summary["nunique"] <= SMALL_CARDINALITY and "values" in summary:
            cur_vals, cur_counts = np.unique(cur, return_counts=True)
            keys = [float(v) for v in summary["values"]]
            index = {k: i for i, k in enumerate(keys)}
            for v in cur_vals.tolist():
                if v not in index:
                    index[v] = len(keys)
                    keys.append(v)
            ref_c = np.zeros(len(keys), dtype=np.int64)
            ref_c[: len(summary["counts"])] = summary["counts"]
            cur_c = np.zeros(len(keys), dtype=np.int64)
            cur_c[[index[v] for v in cur_vals.tolist()]] = cur_counts
            n_values = int(((ref_c > 0) | (cur_c > 0)).sum())
            test = self._choose(name, "numeric", summary["n"], n_values)
            if test in ("chisquare", "z", "jensenshannon"):
                return self._from_counts(name, "numeric", summary["n"], keys, ref_c, cur_c)
            # a continuous test on a low-cardinality column: PSI still by value (Evidently)
            out = self._continuous(profile, name, summary, cur, test, n_values)
            out["psi"] = st.psi_from_counts(
                ref_c, cur_c, n_ref=int(ref_c.sum()), n_cur=int(cur_c.sum())
            )
            return out
        test = self._choose(name, "numeric", summary["n"], n_values=SMALL_CARDINALITY + 1)
        out = self._continuous(profile, name, summary, cur, test, SMALL_CARDINALITY + 1)
        return out

    def _continuous(
        self,
        profile: ReferenceProfile,
        name: str,
        summary: dict[str, Any],
        cur: np.ndarray,
        test: str,
        n_values: int,
    ) -> dict[str, Any]:
        ref_sorted = profile.sorted_values(name)
        cur_sorted = np.sort(cur)
        lo = min(float(ref_sorted[0]), float(cur_sorted[0]))
        hi = max(float(ref_sorted[-1]), float(cur_sorted[-1]))
        edges = st.sturges_edges(lo, hi, ref_sorted.size + cur_sorted.size)
        ref_h = st.histogram_from_sorted(ref_sorted, edges)
        cur_h = st.histogram_from_sorted(cur_sorted, edges)
        if test == "wasserstein":
            score = st.wasserstein_normed(ref_sorted, cur_sorted, ref_std=float(summary["std"]))
        elif test == "ks":
            score = st.ks_pvalue(ref_sorted, cur_sorted)
        elif test == "psi":
            score = st.psi_from_counts(ref_h, cur_h, n_ref=ref_sorted.size, n_cur=cur_sorted.size)
        else:
            raise SpecError.build(
                f"The drift test {test!r} does not apply to the numeric column {name!r}",
                expected="one of ['ks', 'wasserstein', 'psi'] for a continuous column",
                got=test,
                fix="Change per_column_stattest for this column.",
            )
        out = self._verdict(name, "numeric", test, score, n_values)
        out["psi"] = st.psi_from_counts(ref_h, cur_h, n_ref=ref_sorted.size, n_cur=cur_sorted.size)
        out["distribution"] = _numeric_plot_data(ref_sorted, cur_sorted)
        out["note"] = None
        return out

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``reference.parquet`` + ``reference.json`` (profile and parameters), no pickle."""
        profile = self._check_fitted()
        params = self.get_params()
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
        return profile.save(directory, extra={"detector_params": params})

    @classmethod
    def load(cls, directory: str | Path) -> DriftDetector:
        """Read a detector written by :meth:`save`."""
        data, sample = read_reference_files(directory)
        params = dict(data.get("detector_params", {}))
        for key in ("exclude", "prediction_columns"):
            if key in params and params[key] is not None:
                params[key] = tuple(params[key])
        detector = cls(**params)
        detector.profile_ = ReferenceProfile.from_dict(data, sample=sample)
        detector.n_features_in_ = len(detector.profile_.summaries)
        detector.feature_names_in_ = list(detector.profile_.summaries)
        return detector


def _score_counts(test: str, keys: list[Any], ref: np.ndarray, cur: np.ndarray) -> float:
    if test == "chisquare":
        return st.chisquare_pvalue(ref, cur)
    if test == "chisquare_2sample":
        return st.chisquare_2sample_pvalue(ref, cur)
    if test == "z":
        # which category counts as "first" does not change a two-sided p-value
        present = (ref > 0) | (cur > 0)
        return st.z_test_pvalue(ref[present], cur[present])
    if test == "jensenshannon":
        return st.jensenshannon_distance(ref, cur)
    if test == "psi":
        return st.psi_from_counts(ref, cur, n_ref=int(ref.sum()), n_cur=int(cur.sum()))
    raise SpecError.build(
        f"The drift test {test!r} does not apply to a categorical column",
        expected="one of ['chisquare', 'z', 'jensenshannon', 'psi']",
        got=test,
        fix="Change stattest or per_column_stattest.",
    )


def _numeric_plot_data(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> dict[str, Any]:
    def q(a: np.ndarray, p: float) -> float:
        return float(a[min(int(p * (a.size - 1)), a.size - 1)])

    lo = min(q(ref_sorted, 0.005), q(cur_sorted, 0.005))
    hi = max(q(ref_sorted, 0.995), q(cur_sorted, 0.995))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, _PLOT_BINS + 1)
    ref_h = st.histogram_from_sorted(ref_sorted, edges) / ref_sorted.size
    cur_h = st.histogram_from_sorted(cur_sorted, edges) / cur_sorted.size
    return {
        "type": "histogram",
        "edges": [float(e) for e in edges],
        "reference": [float(v) for v in ref_h],
        "current": [float(v) for v in cur_h],
        "reference_mean": float(ref_sorted.mean()),
        "current_mean": float(cur_sorted.mean()),
    }
