"""Explanations: global importance, partial dependence and per-prediction reasons.

Global importance is permutation importance on held-out rows (the shuffled copies stacked into
a few model calls, in one process: threads fight over small machines) and, when the final estimator is LightGBM, tree SHAP values from LightGBM's own
``pred_contrib=True`` (no ``shap`` package). Per-row reasons use tree SHAP for LightGBM and, for
any other model, occlusion: how much the score moves when one feature is set to a typical value
from the reference sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Reason",
    "explain_rows",
    "global_importance",
    "partial_dependence",
    "permutation_drops",
    "score_function",
]


@dataclass(frozen=True)
class Reason:
    """One feature's part in one prediction, in plain words.

    Attributes
    ----------
    feature : str
    value : Any
        The row's value of the feature (JSON-able).
    contribution : float
        Change in the score this value caused (probability for classifiers; units of the target
        for regression; log-odds for LightGBM tree SHAP).
    text : str
        E.g. ``"tenure of 21 raised the score"``.
    """

    feature: str
    value: Any
    contribution: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _final(model: Any) -> Any:
    return model.steps[-1][1] if hasattr(model, "steps") else model


def is_lightgbm(model: Any) -> bool:
    """True when the last step of ``model`` is a LightGBM estimator."""
    return type(_final(model)).__module__.startswith("lightgbm")


def score_function(model: Any, classes: list[Any] | None = None) -> Any:
    """A function frame -> 1-D score: P(positive class) for binary, the prediction otherwise."""
    if hasattr(model, "predict_proba") and classes is not None and len(classes) == 2:
        model_classes = list(getattr(model, "classes_", classes))
        pos = model_classes.index(classes[-1]) if classes[-1] in model_classes else -1
        return lambda X: np.asarray(model.predict_proba(X))[:, pos]
    if hasattr(model, "predict_proba") and classes:
        return lambda X: np.asarray(model.predict_proba(X)).max(axis=1)
    return lambda X: np.asarray(model.predict(X), dtype=float)


def _map_columns(names: list[str], features: list[str]) -> list[str | None]:
    """Map transformed column names (``num__age``, ``cat__state_12``) back to raw features."""
    by_len = sorted(features, key=len, reverse=True)
    out: list[str | None] = []
    for name in names:
        base = name.split("__", 1)[1] if "__" in name else name
        base = base.removeprefix("missingindicator_")
        hit = next((f for f in by_len if base == f or base.startswith(f + "_")), None)
        out.append(hit)
    return out


def tree_shap(model: Any, X: pd.DataFrame, features: list[str]) -> np.ndarray | None:
    """Per-row, per-raw-feature tree SHAP values (log-odds) for a LightGBM pipeline, else None."""
    if not is_lightgbm(model):
        return None
    try:
        prep = model[:-1] if hasattr(model, "steps") and len(model.steps) > 1 else None
        Xt = prep.transform(X) if prep is not None else X
        contrib = np.asarray(_final(model).predict(Xt, pred_contrib=True))
        names = list(prep.get_feature_names_out()) if prep is not None else list(X.columns)
    except Exception:
        return None
    if contrib.ndim != 2 or contrib.shape[1] != len(names) + 1:
        return None  # multiclass layout or an unexpected shape
    mapping = _map_columns([str(n) for n in names], features)
    out = np.zeros((len(X), len(features)))
    for j, f in enumerate(mapping):
        if f is not None:
            out[:, features.index(f)] += contrib[:, j]
    return out


def _typical(reference: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in features:
        s = reference[f] if f in reference.columns else pd.Series([], dtype=float)
        if s.dropna().empty:
            out[f] = np.nan
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[f] = s.median()
        else:
            out[f] = s.mode(dropna=True).iloc[0]
    return out


def occlusion(
    model: Any, X: pd.DataFrame, *, features: list[str], reference: pd.DataFrame, classes: Any
) -> np.ndarray:
    """Score(row) - score(row with one feature set to its typical reference value)."""
    score = score_function(model, classes)
    base = score(X)
    typical = _typical(reference, features)
    n = len(X)
    stacked = pd.concat([X] * len(features), ignore_index=True)
    for j, f in enumerate(features):
        col = stacked[f].copy()
        if pd.api.types.is_integer_dtype(col) and float(typical[f]) != int(typical[f]):
            col = col.astype(float)
        col.iloc[j * n : (j + 1) * n] = typical[f]
        stacked[f] = col
    moved = score(stacked).reshape(len(features), n).T
    return base[:, None] - moved


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "missing"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.3g}"
    return str(value)


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def explain_rows(
    model: Any,
    X: pd.DataFrame,
    *,
    features: list[str],
    reference: pd.DataFrame,
    top_k: int = 3,
    classes: list[Any] | None = None,
) -> list[list[Reason]]:
    """The ``top_k`` features that moved each row's score most, in plain words.

    Parameters
    ----------
    model : fitted pipeline
        Takes raw feature frames.
    X : DataFrame
        Rows to explain (raw features).
    features : list of str
        The model's input columns.
    reference : DataFrame
        A sample of training rows (the bundle's ``reference.parquet``): typical values.
    classes : list, optional
        The model's classes; the last is the positive class for binary models.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"tenure": [1.0, 5, 9, 21], "age": [30.0, 30, 30, 30]})
    >>> m = LinearRegression().fit(X, X["tenure"] * 2)
    >>> explain_rows(m, X.tail(1), features=["tenure", "age"], reference=X, top_k=1)[0][0].text
    'tenure of 21 raised the score'
    """
    if classes is None:
        classes = [_py(c) for c in getattr(_final(model), "classes_", [])] or None
    X = X[features].reset_index(drop=True)
    contrib = tree_shap(model, X, features)
    if contrib is None:
        contrib = occlusion(model, X, features=features, reference=reference, classes=classes)
    out: list[list[Reason]] = []
    for i in range(len(X)):
        order = np.argsort(-np.abs(contrib[i]), kind="stable")[:top_k]
        reasons = []
        for j in order:
            c = float(contrib[i, j])
            if c == 0:
                continue
            f = features[j]
            v = X.iloc[i][f]
            is_num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
                v, (bool, np.bool_)
            )
            joiner = "of" if is_num else "is"
            verb = "raised" if c > 0 else "lowered"
            reasons.append(Reason(f, _py(v), c, f"{f} {joiner} {_fmt(v)} {verb} the score"))
        out.append(reasons)
    return out


def global_importance(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    features: list[str],
    task: str,
    classes: list[Any] | None,
    seed: int = 0,
    n_repeats: int = 3,
    max_rows: int = 400,
) -> dict[str, Any]:
    """Permutation importance (and tree SHAP for LightGBM), features sorted most important first.

    Returns
    -------
    dict
        ``method``, ``scoring``, ``n_rows``, ``features``: a list of
        ``{feature, importance, std, shap}`` (``shap`` is mean |SHAP| or None).
    """
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X), size=min(max_rows, len(X)), replace=False))
    Xs = X[features].iloc[idx].reset_index(drop=True)
    ys = np.asarray(y)[idx]
    scoring = {"binary": "roc_auc", "multiclass": "accuracy"}.get(task, "r2")
    if task == "binary" and len(np.unique(ys)) < 2:
        scoring = "accuracy"
    drops = permutation_drops(model, Xs, ys, _scorer(scoring, classes), n_repeats, seed)
    shap = tree_shap(model, Xs, features)
    shap_mean = np.abs(shap).mean(axis=0) if shap is not None else None
    rows: list[dict[str, Any]] = [
        {
            "feature": f,
            "importance": float(drops[j].mean()),
            "std": float(drops[j].std()),
            "shap": None if shap_mean is None else float(shap_mean[j]),
        }
        for j, f in enumerate(features)
    ]
    rows.sort(key=lambda r: -r["importance"])
    return {
        "method": "permutation importance" + (" and tree SHAP" if shap is not None else ""),
        "scoring": scoring,
        "n_rows": len(Xs),
        "n_repeats": n_repeats,
        "features": rows,
    }


#: The most rows :func:`permutation_drops` sends to the model in one call.
BATCH_ROWS = 50_000


def permutation_drops(
    model: Any,
    X: pd.DataFrame,
    y: np.ndarray,
    scorer: tuple[Callable[[Any, pd.DataFrame], np.ndarray], Callable[[Any, np.ndarray], float]],
    n_repeats: int,
    seed: int,
) -> np.ndarray:
    """How much the score drops when each column of ``X`` is shuffled: an array of shape
    (columns, ``n_repeats``), as scikit-learn's ``permutation_importance`` gives.

    The shuffled copies are stacked and sent to the model in a few large calls (at most
    :data:`BATCH_ROWS` rows each) instead of one call per column and repeat, so a model with a
    fixed cost per call (an ensemble, a pipeline) is not paid for a thousand times on a wide
    table. ``scorer`` is ``(outputs, metric)``: the model's outputs for rows, and the score of
    outputs against ``y``.

    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"used": np.arange(50.0), "unused": np.zeros(50)})
    >>> y = 2 * X["used"].to_numpy()
    >>> drops = permutation_drops(LinearRegression().fit(X, y), X, y, _scorer("r2", None), 3, 0)
    >>> drops.shape, bool((drops[0] > 1).all()), bool((drops[1] == 0).all())
    ((2, 3), True, True)
    """
    outputs, metric = scorer
    n, cols = len(X), list(X.columns)
    base = metric(y, outputs(model, X))
    rng = np.random.default_rng(seed)
    jobs = [(j, rng.permutation(n)) for j in range(len(cols)) for _ in range(n_repeats)]
    drops = np.zeros(len(jobs))
    per_call = max(1, BATCH_ROWS // max(n, 1))
    for start in range(0, len(jobs), per_call):
        chunk = jobs[start : start + per_call]
        rows = {c: np.tile(np.arange(n), len(chunk)) for c in range(len(cols))}
        for b, (j, perm) in enumerate(chunk):
            rows[j][b * n : (b + 1) * n] = perm
        stacked = pd.DataFrame(
            {c: X[c].iloc[rows[k]].reset_index(drop=True) for k, c in enumerate(cols)}
        )
        out = outputs(model, stacked)
        for b in range(len(chunk)):
            drops[start + b] = base - metric(y, out[b * n : (b + 1) * n])
    return drops.reshape(len(cols), n_repeats)


def _scorer(
    name: str, classes: list[Any] | None
) -> tuple[Callable[[Any, pd.DataFrame], np.ndarray], Callable[[Any, np.ndarray], float]]:
    """``(outputs, metric)`` for :func:`permutation_drops`: the model's outputs read directly, so
    it works for any estimator (ensembles and calibrated wrappers included), not only those
    scikit-learn tags."""
    from sklearn import metrics as skm

    def outputs(model: Any, X: pd.DataFrame) -> np.ndarray:
        if name == "roc_auc":
            return np.asarray(model.predict_proba(X))[:, -1]
        return np.asarray(model.predict(X))

    def metric(y: Any, out: np.ndarray) -> float:
        if name == "roc_auc":
            positive = classes[-1] if classes else 1
            return float(skm.roc_auc_score(np.asarray(y) == positive, out))
        if name == "accuracy":
            return float(skm.accuracy_score(y, out))
        return float(skm.r2_score(y, out))

    return outputs, metric


def partial_dependence(
    model: Any,
    X: pd.DataFrame,
    *,
    features: list[str],
    columns: list[str],
    classes: list[Any] | None,
    grid_size: int = 15,
    max_rows: int = 200,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Average score as one feature varies (others as observed), for each of ``columns``.

    Numeric features use quantiles as the grid; others their most common values.
    """
    score = score_function(model, classes)
    Xs = X[features].sample(n=min(max_rows, len(X)), random_state=seed).reset_index(drop=True)
    out = []
    for col in columns:
        s = X[col].dropna()
        if s.empty:
            continue
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        if numeric:
            grid = list(np.unique(np.quantile(s.astype(float), np.linspace(0, 1, grid_size))))
        else:
            grid = list(s.value_counts().index[:grid_size])
        stacked = pd.concat([Xs] * len(grid), ignore_index=True)
        vals = np.repeat(np.array(grid, dtype=object), len(Xs))
        stacked[col] = pd.Series(vals).astype(X[col].dtype) if numeric else vals
        if not numeric:
            stacked[col] = stacked[col].astype(X[col].dtype)
        avg = score(stacked).reshape(len(grid), len(Xs)).mean(axis=1)
        out.append(
            {
                "feature": col,
                "kind": "numeric" if numeric else "categorical",
                "grid": [_py(g) for g in grid],
                "average": [float(a) for a in avg],
            }
        )
    return out
