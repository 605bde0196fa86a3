"""Held-out evaluation of a fitted model: metrics with intervals, curves, fairness, explanations.

:func:`assess_model` gathers everything a report needs into one :class:`Assessment` whose
``to_dict()`` is saved in the bundle as ``assessment.json``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from civicml._errors import SpecError
from civicml.assess._baselines import baseline_comparison
from civicml.assess._explain import (
    explain_rows,
    global_importance,
    partial_dependence,
    score_function,
)
from civicml.assess._fairness import FairnessThresholds, fairness_table, group_labels, proxy_check
from civicml.assess._metrics import (
    _binary_metrics,
    _multiclass_metrics,
    _regression_metrics,
)

__all__ = ["AssessOptions", "Assessment", "assess_model", "bootstrap_metrics"]

MAX_CURVE_POINTS = 100


@dataclass
class Assessment:
    """Everything measured on the held-out rows. ``to_dict()`` is JSON-able.

    Attributes
    ----------
    task : str
    n_test : int
    metrics : dict
        Metric name -> ``{"value", "ci": [low, high]}`` (bootstrap 95% interval).
    curves, confusion, calibration : dict
        ROC and precision-recall points, the confusion matrix at the threshold and reliability
        bins (binary tasks; empty otherwise).
    fairness : dict
        Per-characteristic tables, gaps and "not assessed" characteristics.
    proxies : list
        Features that predict a protected characteristic.
    importance, partial_dependence, examples : dict / list
        Explanations: global importance, partial dependence for the top features and reasons for
        a few example rows.
    baselines : dict
        The model against what a department could do without it (flag everyone, flag no one,
        the base rate; the mean or median for regression) on the same rows, with bootstrap
        intervals of the differences (:func:`~civicml.assess.baseline_comparison`).
    """

    task: str
    n_test: int
    classes: list[Any] = field(default_factory=list)
    positive_label: Any = None
    threshold: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    confusion: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    fairness: dict[str, Any] = field(default_factory=dict)
    proxies: list[dict[str, Any]] = field(default_factory=list)
    importance: dict[str, Any] = field(default_factory=dict)
    partial_dependence: list[dict[str, Any]] = field(default_factory=list)
    examples: list[dict[str, Any]] = field(default_factory=list)
    baselines: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (NaN may remain; the bundle writer turns it into null)."""
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Assessment:
        """Rebuild from ``to_dict()`` output (e.g. a bundle's assessment.json)."""
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _downsample(*arrays: np.ndarray, n: int = MAX_CURVE_POINTS) -> list[list[float]]:
    size = len(arrays[0])
    idx: np.ndarray | list[int] = (
        np.unique(np.linspace(0, size - 1, min(n, size)).round().astype(int)) if size else []
    )
    return [[float(a[i]) for i in idx] for a in arrays]


def bootstrap_metrics(
    fn: Any, *arrays: np.ndarray, n_boot: int = 200, seed: int = 0, deadline: float | None = None
) -> dict[str, dict[str, Any]]:
    """Point values of ``fn(*arrays)`` with percentile bootstrap 95% intervals.

    Examples
    --------
    >>> y = np.array([1.0, 2, 3, 4]); out = bootstrap_metrics(
    ...     lambda a: {"mean": float(a.mean())}, y, n_boot=50)
    >>> out["mean"]["value"], len(out["mean"]["ci"])
    (2.5, 2)
    """
    point = fn(*arrays)
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n_boot):
        if deadline is not None and time.monotonic() > deadline:
            break
        idx = rng.integers(0, n, n)
        for k, v in fn(*(a[idx] for a in arrays)).items():
            if v == v:
                draws[k].append(v)
    out = {}
    for k, v in point.items():
        d = draws[k]
        ci = [float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))] if len(d) > 10 else None
        out[k] = {"value": float(v), "ci": ci, "n_boot": len(d)}
    return out


class AssessOptions(TypedDict, total=False):
    """How :func:`assess_model` assesses, as keyword arguments (each optional)."""

    seed: int
    budget_seconds: float
    fairness_thresholds: FairnessThresholds | None
    n_boot: int
    metric: str | None
    costs: tuple[float, float]
    n_boot_baseline: int
    private_columns: Sequence[str]


def assess_model(
    model: Any,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    *,
    task: str,
    classes: list[Any],
    threshold: float | None,
    protected: dict[str, str],
    frame_test: pd.DataFrame,
    features: list[str],
    **options: Unpack[AssessOptions],
) -> Assessment:
    """Evaluate a fitted model on held-out rows: everything the report and checks need.

    Parameters
    ----------
    model : fitted pipeline
        Has ``predict_proba`` (classifiers) or ``predict``; takes raw feature frames.
    X_test, y_test : DataFrame, Series
        Held-out features and targets (original labels).
    task : {"binary", "multiclass", "regression"}
    classes : list
        Class labels in model order; the last one is the positive class for binary tasks.
    threshold : float or None
        Decision threshold on P(positive); 0.5 when None.
    protected : dict
        Equality Act characteristic -> column, as in ``ProjectSpec.protected``.
    frame_test : DataFrame
        The raw held-out rows (aligned with ``X_test``) including protected columns that are
        not features. Numeric age is banded.
    features : list of str
    **options
        :class:`AssessOptions`: ``seed`` (0), ``budget_seconds`` (30; a soft limit: later,
        optional parts such as intervals and partial dependence are cut short),
        ``fairness_thresholds`` (:class:`FairnessThresholds` defaults), ``n_boot`` (200
        bootstrap draws), ``metric`` (the primary metric, for the comparison with trivial
        policies), ``costs`` (false positive, false negative; ``(1, 1)``) and
        ``n_boot_baseline`` (1,000 resamples for that comparison) and ``private_columns``
        (personal-data and free-text inputs: no partial-dependence curve, and example reasons
        name them without their values).

    Returns
    -------
    Assessment
    """
    if task not in ("binary", "multiclass", "regression"):
        raise SpecError.build(
            "assess_model cannot assess this task",
            expected="'binary', 'multiclass' or 'regression'",
            got=task,
        )
    unknown = sorted(set(options) - set(AssessOptions.__annotations__))
    if unknown:
        raise TypeError(f"assess_model() got unexpected keyword arguments {unknown}")
    seed = options.get("seed", 0)
    started = time.monotonic()
    X = X_test[features].reset_index(drop=True)
    y_raw = pd.Series(y_test).reset_index(drop=True).to_numpy()
    frame = frame_test.reset_index(drop=True)
    if len(frame) != len(X):
        raise SpecError.build(
            "frame_test and X_test have different numbers of rows",
            expected=f"{len(X)} rows",
            got=len(frame),
            fix="Pass the raw held-out rows in the same order as X_test",
        )
    run = _Run(
        model=model,
        X=X,
        y_raw=y_raw,
        frame=frame,
        task=task,
        classes=classes,
        protected=protected,
        features=features,
        thresholds=options.get("fairness_thresholds") or FairnessThresholds(),
        seed=seed,
        n_boot=options.get("n_boot", 200),
        started=started,
        budget_seconds=options.get("budget_seconds", 30),
        metric=options.get("metric"),
        costs=options.get("costs", (1.0, 1.0)),
        n_boot_baseline=options.get("n_boot_baseline", 1000),
        private=frozenset(options.get("private_columns", ())),
    )
    a = Assessment(task=task, n_test=len(X), classes=list(classes))
    if task == "binary":
        _assess_binary(a, run, threshold)
    else:
        _assess_predictions(a, run)
    with run.lap("proxies"):
        try:
            a.proxies = proxy_check(frame, features=features, protected=protected, seed=seed)
        except Exception as exc:
            a.notes.append(f"Proxy check skipped: {type(exc).__name__}: {exc}")
    _explain(a, run)
    run.timings["total"] = round(time.monotonic() - started, 3)
    a.seconds = run.timings
    return a


@dataclass
class _Run:
    """What every step of :func:`assess_model` reads, and the seconds each step took."""

    model: Any
    X: pd.DataFrame
    y_raw: np.ndarray
    frame: pd.DataFrame
    task: str
    classes: list[Any]
    protected: dict[str, str]
    features: list[str]
    thresholds: FairnessThresholds
    seed: int
    n_boot: int
    started: float
    budget_seconds: float
    metric: str | None = None
    costs: tuple[float, float] = (1.0, 1.0)
    n_boot_baseline: int = 1000
    private: frozenset[str] = frozenset()
    timings: dict[str, float] = field(default_factory=dict)

    def baselines(self, y: np.ndarray, prediction: np.ndarray, threshold: float | None) -> Any:
        """The comparison with trivial policies on these rows (timed as ``baselines``)."""
        with self.lap("baselines"):
            return baseline_comparison(
                self.task,
                y,
                prediction,
                metric=self.metric,
                threshold=threshold,
                costs=self.costs,
                n_boot=self.n_boot_baseline,
                seed=self.seed,
            )

    @property
    def deadline(self) -> float:
        """When later, optional parts are cut short."""
        return self.started + self.budget_seconds

    @contextmanager
    def lap(self, name: str) -> Iterator[None]:
        """Time the block as ``timings[name]``."""
        t0 = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - t0, 3)


def _assess_binary(a: Assessment, run: _Run, threshold: float | None) -> None:
    """Metrics, curves, confusion, calibration and fairness of a score thresholded at ``t``."""
    with run.lap("metrics"):
        a.positive_label = run.classes[-1]
        t = 0.5 if threshold is None else float(threshold)
        a.threshold = t
        s = score_function(run.model, run.classes)(run.X)
        y = run.y_raw == run.classes[-1]
        _binary_outputs(a, y, s, t)
        a.metrics = bootstrap_metrics(
            lambda yy, ss: _binary_metrics(yy, ss, t),
            y,
            s,
            n_boot=run.n_boot,
            seed=run.seed,
            deadline=run.started + run.budget_seconds * 0.3,
        )
    a.baselines = run.baselines(y, s, t)
    with run.lap("fairness"):
        a.fairness = fairness_table(
            run.frame,
            y,
            s >= t,
            protected=run.protected,
            score=s,
            thresholds=run.thresholds,
            seed=run.seed,
            n_boot=run.n_boot if time.monotonic() < run.deadline else 0,
        )


def _assess_predictions(a: Assessment, run: _Run) -> None:
    """Metrics (and a confusion matrix for multiclass) and per-group error of the predictions."""
    with run.lap("metrics"):
        pred = np.asarray(run.model.predict(run.X))
        if run.task == "regression":
            yv = pd.to_numeric(pd.Series(run.y_raw), errors="coerce").to_numpy(float)
            pv = pred.astype(float)
            a.metrics = bootstrap_metrics(
                _regression_metrics, yv, pv, n_boot=run.n_boot, seed=run.seed
            )
        else:
            yv, pv = run.y_raw.astype(str), pred.astype(str)
            a.metrics = bootstrap_metrics(
                _multiclass_metrics, yv, pv, n_boot=run.n_boot, seed=run.seed
            )
            labels = [str(c) for c in run.classes]
            from sklearn.metrics import confusion_matrix

            a.confusion = {
                "labels": labels,
                "matrix": confusion_matrix(yv, pv, labels=labels).tolist(),
            }
    keep = yv == yv if run.task == "regression" else np.ones(len(yv), bool)
    a.baselines = run.baselines(yv[keep], pv[keep], None)
    with run.lap("fairness"):
        a.fairness = _group_errors(run.frame, yv, pv, run.task, run.protected, run.thresholds)


def _explain(a: Assessment, run: _Run) -> None:
    """Global importance, then (time allowing) partial dependence and example reasons."""
    with run.lap("importance"):
        a.importance = global_importance(
            run.model,
            run.X,
            run.y_raw,
            features=run.features,
            task=run.task,
            classes=run.classes,
            seed=run.seed,
            **_importance_effort(
                run.model,
                run.X,
                len(run.features),
                max(3.0, (run.deadline - time.monotonic()) / 3),
            ),
        )
    if run.task == "multiclass":
        return
    if time.monotonic() >= run.deadline:
        a.notes.append("Partial dependence and example reasons skipped: time budget spent.")
        return
    with run.lap("partial_dependence"):
        # a personal column's curve would list its values (postcodes): never drawn
        top = [r["feature"] for r in a.importance["features"] if r["feature"] not in run.private]
        top = top[:3]
        a.partial_dependence = partial_dependence(
            run.model, run.X, features=run.features, columns=top, classes=run.classes, seed=run.seed
        )
    with run.lap("examples"):
        reasons = explain_rows(
            run.model,
            run.X.head(3),
            features=run.features,
            reference=run.X,
            top_k=3,
            classes=run.classes if run.task == "binary" else None,
        )
        a.examples = [
            {"row": i, "reasons": [_private_reason(r.to_dict(), run.private) for r in rs]}
            for i, rs in enumerate(reasons)
        ]


def _private_reason(reason: dict[str, Any], private: frozenset[str]) -> dict[str, Any]:
    """An example reason with a personal column's value left out (``"postcode raised the
    score"``, never whose postcode).

    >>> _private_reason({"feature": "postcode", "value": "QZ6 7WX", "contribution": 0.2,
    ...     "text": "postcode is QZ6 7WX raised the score"}, frozenset({"postcode"}))["text"]
    'postcode raised the score'
    """
    if reason.get("feature") not in private:
        return reason
    verb = "raised" if float(reason.get("contribution") or 0) > 0 else "lowered"
    return {**reason, "value": None, "text": f"{reason['feature']} {verb} the score"}


def _importance_effort(model: Any, X: pd.DataFrame, n_features: int, seconds: float) -> dict:
    """Rows and repeats for permutation importance that fit in about ``seconds``."""
    rows = min(len(X), 300)
    t0 = time.monotonic()
    model.predict(X.head(rows)) if not hasattr(model, "predict_proba") else model.predict_proba(
        X.head(rows)
    )
    per_call = max(time.monotonic() - t0, 1e-4)
    repeats = int(seconds / (per_call * max(n_features, 1)))
    if repeats < 1:
        rows = max(50, int(rows * seconds / (per_call * n_features)))
    return {"n_repeats": int(min(max(repeats, 1), 5)), "max_rows": rows}


def _binary_outputs(a: Assessment, y: np.ndarray, s: np.ndarray, t: float) -> None:
    from sklearn.metrics import precision_recall_curve, roc_curve

    if len(np.unique(y)) == 2:
        fpr, tpr, _ = roc_curve(y, s)
        prec, rec, _ = precision_recall_curve(y, s)
        fpr_d, tpr_d = _downsample(fpr, tpr)
        rec_d, prec_d = _downsample(rec[::-1], prec[::-1])
        a.curves = {
            "roc": {"fpr": fpr_d, "tpr": tpr_d},
            "pr": {"recall": rec_d, "precision": prec_d, "base_rate": float(y.mean())},
        }
    p = s >= t
    tp, fp = int((y & p).sum()), int((~y & p).sum())
    fn, tn = int((y & ~p).sum()), int((~y & ~p).sum())
    neg = a.classes[0] if a.classes else "negative"
    a.confusion = {
        "labels": [str(neg), str(a.positive_label)],
        "matrix": [[tn, fp], [fn, tp]],
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "threshold": t,
    }
    bins = []
    edges = np.linspace(0, 1, 11)
    idx = np.minimum((s * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        m = idx == b
        if m.any():
            mp, ob = float(s[m].mean()), float(y[m].mean())
            ece += m.sum() * abs(mp - ob)
            bins.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "n": int(m.sum()),
                    "mean_predicted": mp,
                    "observed": ob,
                }
            )
    a.calibration = {"bins": bins, "ece": float(ece / max(len(y), 1)), "strategy": "uniform"}


def _group_errors(
    frame: pd.DataFrame,
    y: np.ndarray,
    pred: np.ndarray,
    task: str,
    protected: dict[str, str],
    th: FairnessThresholds,
) -> dict[str, Any]:
    """Per-group error for regression (MAE) and multiclass (accuracy) tasks."""
    from civicml.spec import EQUALITY_ACT_CHARACTERISTICS

    metric = "mae" if task == "regression" else "accuracy"
    tables, not_assessed = [], []
    for char, col in protected.items():
        if col not in frame.columns:
            not_assessed.append({"characteristic": char, "reason": f"column {col!r} is missing"})
            continue
        g = group_labels(frame[col], char).to_numpy()
        rows: list[dict[str, Any]] = []
        for label in sorted(set(g)):
            m = g == label
            val = (
                float(np.abs(pred[m] - y[m]).mean())
                if task == "regression"
                else float((pred[m] == y[m]).mean())
            )
            rows.append(
                {
                    "group": str(label),
                    "n": int(m.sum()),
                    "small": int(m.sum()) < th.min_group_size,
                    metric: val,
                }
            )
        vals = [r[metric] for r in rows if not r["small"]] or [r[metric] for r in rows]
        tables.append(
            {
                "name": char,
                "characteristic": char,
                "column": col,
                "kind": "single",
                "groups": rows,
                "metric": metric,
                "difference": (max(vals) - min(vals)) if len(vals) > 1 else None,
                "warnings": [],
            }
        )
    not_assessed += [
        {"characteristic": c, "reason": "not named under 'protected' in civicml.yaml"}
        for c in EQUALITY_ACT_CHARACTERISTICS
        if c not in protected
    ]
    return {"characteristics": tables, "not_assessed": not_assessed, "thresholds": asdict(th)}
