"""The smaller feature set and what it costs: data minimisation, measured (UK GDPR Art. 5(1)(c)).

After the model is chosen, :func:`reduced_features` names the inputs it could do without and
:func:`measure_reduced` cross-validates the chosen candidate's configuration on the rest, on the
same folds as the full model, and compares the two with the corrected resampled t-test
(Nadeau & Bengio, 2003). The record (``minimisation.json`` in the bundle) says, in plain words,
what dropping those columns costs and whether that cost is within noise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DROP_KINDS",
    "DocumentView",
    "ReducedSet",
    "measure_reduced",
    "reduced_features",
    "reduced_record",
]

#: The data-minimisation findings that take a column out of the smaller feature set. A column
#: with no recorded purpose, or a protected or special-category one, stays: only a person can
#: say whether the purpose needs it.
DROP_KINDS: tuple[str, ...] = ("identifier", "constant", "unused")

_REASONS = {
    "identifier": "can identify a person",
    "constant": "holds a single value",
    "unused": "the model does not use it (zero importance)",
}
_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "precision-recall AUC",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "f1": "F1",
    "log_loss": "log loss",
    "brier": "Brier score",
}


class DocumentView:
    """A bundle's documents before they are saved, read as a saved bundle's are (``has``,
    ``read_json`` through a JSON round trip), so the findings match the report's.

    >>> DocumentView({"a.json": {"x": (1, 2)}}).read_json("a.json")
    {'x': [1, 2]}
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self.documents = documents

    def has(self, name: str) -> bool:
        return name in self.documents

    def read_json(self, name: str) -> Any:
        import json

        return json.loads(json.dumps(self.documents[name], default=_plain))


def _plain(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else str(value)


@dataclass(frozen=True)
class ReducedSet:
    """The model's inputs split into those kept and those the smaller set drops.

    ``dropped`` maps each dropped column to its reasons (kinds of :data:`DROP_KINDS`);
    ``not_inputs`` are columns with a finding that the model already does not take (a constant
    column ``learn.train`` left out), listed for the record but costing nothing.
    """

    features: list[str]
    kept: list[str]
    dropped: dict[str, list[str]]
    not_inputs: dict[str, list[str]]

    @property
    def differs(self) -> bool:
        """Whether the smaller set leaves out any model input (so a refit is needed)."""
        return bool(self.dropped)


def reduced_features(features: Sequence[str], findings: Sequence[Any]) -> ReducedSet:
    """The smaller feature set: the model inputs minus every column with an ``identifier``,
    ``constant`` or ``unused`` finding (:data:`DROP_KINDS`; see
    :func:`civicml.report.minimisation_findings`). Inputs that merely lack a purpose, or hold a
    protected characteristic, stay: whether they are needed is a person's call.

    Examples
    --------
    >>> from types import SimpleNamespace as F
    >>> found = [F(column="email", kind="identifier"), F(column="age", kind="no_purpose"),
    ...          F(column="noise", kind="unused"), F(column="flag", kind="constant")]
    >>> r = reduced_features(["age", "email", "noise", "tenure"], found)
    >>> r.kept, r.dropped, r.not_inputs
    (['age', 'tenure'], {'email': ['identifier'], 'noise': ['unused']}, {'flag': ['constant']})
    """
    features = [str(f) for f in features]
    why: dict[str, list[str]] = {}
    for f in findings:
        if f.kind in DROP_KINDS and f.kind not in why.setdefault(str(f.column), []):
            why[str(f.column)].append(f.kind)
    why = {c: kinds for c, kinds in why.items() if kinds}
    return ReducedSet(
        features=features,
        kept=[f for f in features if f not in why],
        dropped={c: k for c, k in why.items() if c in features},
        not_inputs={c: k for c, k in why.items() if c not in features},
    )


def measure_reduced(
    X: pd.DataFrame,
    y: pd.Series,
    result: Any,
    reduced: ReducedSet,
    *,
    seed: int,
    cv_folds: int,
    groups: pd.Series | None = None,
) -> dict[str, Any]:
    """Cross-validate the chosen candidate on the smaller feature set, on the full model's folds.

    The chosen candidate's family and parameters (each member's, weighted as chosen, for an
    ensemble) are refitted on ``reduced.kept`` fold by fold; the per-fold scores are compared
    with the full model's recorded ones (both before calibration) by the corrected resampled
    t-test. Nothing runs when the smaller set is the full set.

    Parameters
    ----------
    X, y : the training table and target handed to ``learn.train`` (held-out rows included:
        ``result.test_index`` says which they are, and they are left out here too).
    result : civicml.learn.TrainResult
    reduced : ReducedSet
    seed, cv_folds : the spec's, as given to ``learn.train``
    groups : Series, optional
        The row groups kept together in every fold, as given to ``learn.train``.

    Returns
    -------
    dict
        :func:`reduced_record`'s JSON-ready record.
    """
    started = time.monotonic()
    metric = str(result.metric)
    if not reduced.differs:
        return reduced_record(reduced, metric, None, None, seconds=0.0)
    if not reduced.kept:
        return reduced_record(
            reduced,
            metric,
            None,
            None,
            seconds=0.0,
            reason="every input would be dropped, so there is no smaller model to fit",
        )
    from civicml.learn import get_metric

    better = get_metric(metric, result.task).greater_is_better
    try:
        full, small, sizes, repeats = _refit_folds(X, y, result, reduced, seed, cv_folds, groups)
    except _NotMeasured as exc:
        return reduced_record(
            reduced, metric, None, None, seconds=time.monotonic() - started, reason=str(exc)
        )
    except Exception as exc:  # a measurement, never a reason to lose the trained model
        first = str(exc).splitlines()[0] if str(exc) else ""
        why = f"the refit failed ({type(exc).__name__}: {first})"
        return reduced_record(
            reduced, metric, None, None, seconds=time.monotonic() - started, reason=why
        )
    comparison = compare_folds(full, small, sizes, greater_is_better=better)
    return reduced_record(
        reduced,
        metric,
        comparison,
        (full, small),
        seconds=time.monotonic() - started,
        greater_is_better=better,
        repeats=repeats,
    )


class _NotMeasured(Exception):
    """The refit could not be made comparable (said why in the record, never a failed run)."""


def _refit_folds(
    X: pd.DataFrame,
    y: pd.Series,
    result: Any,
    reduced: ReducedSet,
    seed: int,
    cv_folds: int,
    groups: pd.Series | None,
) -> tuple[list[float], list[float], tuple[float, float], int]:
    from civicml.learn import FAMILIES, build_pipeline, cross_validate, cv_splits

    entry = next((e for e in result.leaderboard.entries if e.name == result.best), None)
    if entry is None or not entry.extra.get("fold_scores"):
        raise _NotMeasured(f"the chosen candidate {result.best!r} has no per-fold scores")
    members = _members(entry, result.leaderboard.entries)
    tr = np.setdiff1d(np.arange(len(X)), np.asarray(result.test_index, dtype=int))
    X_tr = X.iloc[tr].reset_index(drop=True)
    y_tr = _encode(y.iloc[tr], result.task)
    g_tr = None if groups is None else groups.iloc[tr].to_numpy()
    classes = np.unique(y_tr) if result.task != "regression" else np.array([])
    estimate = result.extra.get("estimate") or {}
    repeats = int(estimate.get("repeats") or 1)
    # the folds the search used: fewer than asked on a table too large for its budget
    cv_folds = min(cv_folds, int(estimate.get("folds") or cv_folds))
    splits = cv_splits(X_tr, y_tr, result.task, cv_folds, seed, g_tr, repeats=repeats)
    full = [float(v) for v in entry.extra["fold_scores"]]
    if len(full) != len(splits):
        raise _NotMeasured(
            f"the full model has {len(full)} fold scores but the folds rebuilt here are "
            f"{len(splits)}"
        )
    roles = _narrow(result.roles, set(reduced.kept))
    oof: Any = 0.0
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):  # as learn.train: one thread per fit, stable timings
        for member, weight in members:
            pipe = build_pipeline(FAMILIES[member.family], result.task, roles, member.params, seed)
            cv = cross_validate(
                pipe, X_tr[roles.features], y_tr, task=result.task, classes=classes, splits=splits
            )
            if not cv.complete:
                raise _NotMeasured(f"the refit of {member.name} stopped: {cv.error}")
            oof = oof + weight * cv.oof
    # scored as learn scores them: a single candidate on each fold's own predictions, an
    # ensemble on its weighted out-of-fold outputs (averaged over repeats, when repeated)
    if entry.family == "ensemble":
        small = _fold_scores(oof, y_tr, splits, result.task, classes, str(result.metric))
    else:
        small = [float(v) for v in cv.fold_scores(str(result.metric))]
    n_test = float(np.mean([len(va) for _, va in splits]))
    return full, small, (float(len(y_tr)) - n_test, n_test), repeats


def _members(entry: Any, entries: Sequence[Any]) -> list[tuple[Any, float]]:
    """The chosen candidate as weighted members: itself, or an ensemble's weighted candidates."""
    if entry.family != "ensemble":
        return [(entry, 1.0)]
    by_name = {e.name: e for e in entries}
    weights = (entry.params or {}).get("members") or {}
    missing = [n for n in weights if n not in by_name]
    if missing or not weights:
        raise _NotMeasured(f"the ensemble's members {missing or '(none)'} are not on the board")
    total = float(sum(weights.values()))
    return [(by_name[n], float(w) / total) for n, w in weights.items()]


def _narrow(roles: Any, keep: set[str]) -> Any:
    from civicml.learn import FeatureRoles

    return FeatureRoles(
        numeric=[c for c in roles.numeric if c in keep],
        categorical=[c for c in roles.categorical if c in keep],
        text=[c for c in roles.text if c in keep],
        date=[c for c in roles.date if c in keep],
    )


def _encode(y: pd.Series, task: str) -> np.ndarray:
    """The target as ``learn.train`` holds it (so stratified folds come out the same)."""
    if task == "regression":
        return pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    if pd.api.types.is_bool_dtype(y) or pd.api.types.is_numeric_dtype(y):
        return y.to_numpy()
    return y.astype(str).to_numpy(dtype=object)


def _fold_scores(
    oof: np.ndarray,
    y: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    task: str,
    classes: np.ndarray,
    metric: str,
) -> list[float]:
    from civicml.learn import compute_metrics

    out: list[float] = []
    for _, va in splits:
        pred = oof[va]
        if task == "regression":
            m = compute_metrics(task, y[va], values=pred)
        else:
            m = compute_metrics(
                task,
                y[va],
                labels=classes[np.argmax(pred, axis=1)],
                proba=pred if pred.shape[1] > 2 else pred[:, 1],
                classes=list(classes),
            )
        out.append(float(m.get(metric, float("nan"))))
    return out


def compare_folds(
    full: Sequence[float],
    reduced: Sequence[float],
    sizes: tuple[float, float],
    *,
    greater_is_better: bool,
    level: float = 0.95,
) -> dict[str, float]:
    """The cost of the smaller set (positive: it scores worse) with the corrected t-test.

    ``sizes`` is ``(n_train, n_test)`` of a fold. The interval on the mean cost uses the same
    corrected variance as the test, ``(1/k + n_test/n_train) * var``, with Student's t.

    Examples
    --------
    >>> c = compare_folds([0.80, 0.82, 0.81], [0.79, 0.82, 0.80], (800, 200),
    ...                   greater_is_better=True)
    >>> round(c["cost"], 4), c["p_value"] > 0.05, c["low"] < 0 < c["high"]
    (0.0067, True, True)
    """
    from scipy import stats

    from civicml.learn import corrected_ttest

    a, b = np.asarray(full, dtype=float), np.asarray(reduced, dtype=float)
    sign = 1.0 if greater_is_better else -1.0
    d = sign * (a - b)
    d = d[~np.isnan(d)]
    t, p = corrected_ttest(
        list(sign * a), list(sign * b), n_train=int(sizes[0]), n_test=int(sizes[1])
    )
    cost = float(np.mean(d)) if len(d) else float("nan")
    half = float("nan")
    if len(d) >= 2:
        se = math.sqrt((1.0 / len(d) + sizes[1] / sizes[0]) * float(np.var(d, ddof=1)))
        half = float(stats.t.ppf(0.5 + level / 2, df=len(d) - 1)) * se
    return {
        "cost": cost,
        "low": cost - half,
        "high": cost + half,
        "level": level,
        "t": float(t),
        "p_value": float(p),
        "n_folds": float(len(d)),
        "n_train": float(sizes[0]),
        "n_test": float(sizes[1]),
    }


def _label(metric: str) -> str:
    return _LABELS.get(metric, metric.replace("_", " "))


def _num(v: float) -> str:
    """Three decimals, without a minus sign on a value that rounds to zero.

    >>> _num(-0.0004), _num(0.0123), _num(float("nan"))
    ('0.000', '0.012', 'n/a')
    """
    return "n/a" if v != v else f"{v + 0.0:.3f}" if round(v, 3) else "0.000"


def reduced_record(
    reduced: ReducedSet,
    metric: str,
    comparison: Mapping[str, float] | None,
    scores: tuple[Sequence[float], Sequence[float]] | None,
    *,
    seconds: float,
    reason: str | None = None,
    alpha: float = 0.05,
    greater_is_better: bool = True,
    repeats: int = 1,
) -> dict[str, Any]:
    """The JSON-ready record, with its verdict in plain words.

    Examples
    --------
    >>> r = ReducedSet(["a", "b"], ["a", "b"], {}, {"c": ["constant"]})
    >>> doc = reduced_record(r, "roc_auc", None, None, seconds=0.0)
    >>> doc["refit"], doc["verdict"].endswith("no refit was needed and it costs nothing.")
    (False, True)
    """
    dropped = [
        {"column": c, "kinds": k, "reason": "; ".join(_REASONS[x] for x in k)}
        for c, k in reduced.dropped.items()
    ]
    doc: dict[str, Any] = {
        "rule": "model inputs minus direct identifiers, constant columns and inputs the model "
        "does not use (zero importance across folds); inputs with no purpose or with a "
        "protected characteristic are left for a person to decide",
        "metric": metric,
        "features": reduced.features,
        "kept": reduced.kept,
        "dropped": dropped,
        "not_model_inputs": [
            {"column": c, "kinds": k, "reason": "; ".join(_REASONS[x] for x in k)}
            for c, k in reduced.not_inputs.items()
        ],
        "refit": comparison is not None,
        "seconds": round(float(seconds), 3),
        "reason": reason,
    }
    label = _label(metric)
    if not reduced.differs:
        doc["verdict"] = (
            "No model input would be dropped, so the smaller feature set is the full set: no "
            "refit was needed and it costs nothing."
        )
        return doc
    n = len(dropped)
    names = ", ".join(reduced.dropped)
    what = f"{n} column{'s' if n != 1 else ''} ({names})"
    if comparison is None or scores is None:
        doc["verdict"] = f"Dropping {what} was not measured: {reason or 'no refit ran'}."
        return doc
    full, small = scores
    sign = 1.0 if greater_is_better else -1.0
    doc["greater_is_better"] = greater_is_better
    k = max(1, len(full) // max(1, repeats))  # folds per repeat
    doc["repeats"] = repeats
    doc["folds"] = [
        {
            "fold": i % k + 1,
            "repeat": i // k + 1,
            "full": float(f),
            "reduced": float(s),
            "cost": sign * (f - s),
        }
        for i, (f, s) in enumerate(zip(full, small, strict=True))
    ]
    doc.update(
        full_mean=float(np.nanmean(full)), reduced_mean=float(np.nanmean(small)), **comparison
    )
    folds = f"{k} folds" + (f" × {repeats} repeats" if repeats > 1 else "")
    doc["verdict"] = _verdict(what, "them" if n != 1 else "it", label, comparison, folds, alpha)
    doc["within_noise"] = not (comparison["p_value"] < alpha)
    return doc


def _verdict(
    what: str, them: str, label: str, c: Mapping[str, float], folds: str, alpha: float
) -> str:
    cost, p = c["cost"], c["p_value"]
    ci = (
        f"cost {c['level']:.0%} interval {_num(c['low'])} to {_num(c['high'])}, corrected "
        f"t-test p = {_num(p)}, {folds}"
    )
    if p == p and p < alpha and cost > 0:
        return (
            f"Dropping {what} costs {_num(cost)} {label}, a real loss ({ci}): the model "
            f"needs {'it' if them == 'it' else 'at least some of them'}."
        )
    if p == p and p < alpha and cost < 0:
        return f"Dropping {what} improves {label} by {_num(-cost)}, beyond noise ({ci})."
    if cost >= 0:
        return f"Dropping {what} costs {_num(cost)} {label}, within noise ({ci})."
    return (
        f"Dropping {what} costs nothing measurable: {label} is {_num(-cost)} better without "
        f"{them}, within noise ({ci})."
    )
