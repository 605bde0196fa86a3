"""Candidate model families: how to build each as a full pipeline, with known-good defaults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sklearn.pipeline import Pipeline

from civicml.learn._preprocess import FeatureRoles, build_preprocessor

__all__ = ["FAMILIES", "Family", "build_pipeline", "families_for", "family_of"]


@dataclass(frozen=True)
class Family:
    """A model family: its estimator factory, preprocessing flavour and default parameters.

    ``simplicity`` ranks how easy the model is to explain (1 = simplest).
    """

    name: str
    label: str
    flavour: str
    simplicity: int
    interpretable: bool
    make: Callable[[str, dict[str, Any], int], Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    native_categorical: bool = False


def _baseline(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if task == "regression":
        return DummyRegressor(strategy="mean")
    return DummyClassifier(strategy="prior")


def _linear(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "regression":
        return Ridge(alpha=params.get("alpha", 1.0))
    # an elastic-net or lasso penalty (the small-data space) needs the saga solver
    l1_ratio = float(params.get("l1_ratio", 0.0))
    return LogisticRegression(
        C=params.get("C", 1.0),
        l1_ratio=l1_ratio,
        solver="saga" if l1_ratio > 0 else "lbfgs",
        class_weight=params.get("class_weight"),
        max_iter=2000,
    )


def _forest(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
    return cls(n_jobs=1, random_state=seed, **params)


def _extra_trees(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    cls = ExtraTreesRegressor if task == "regression" else ExtraTreesClassifier
    return cls(n_jobs=1, random_state=seed, **params)


def _knn(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(n_jobs=1, **params)


def _hist_gb(task: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    return cls(random_state=seed, categorical_features="from_dtype", **params)


def _mlp(task: str, params: dict[str, Any], seed: int) -> Any:
    from civicml.components import TabularMLPClassifier, TabularMLPRegressor

    cls = TabularMLPRegressor if task == "regression" else TabularMLPClassifier
    return cls(random_state=seed, **params)


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _lightgbm(task: str, params: dict[str, Any], seed: int) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(random_state=seed, n_jobs=1, verbose=-1, **params)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family("baseline", "Constant baseline", "tree", 0, True, _baseline),
        Family("linear", "Regularised linear model", "scaled", 1, True, _linear),
        Family(
            "knn",
            "k nearest neighbours",
            "scaled",
            2,
            False,
            _knn,
            {"n_neighbors": 15, "weights": "distance"},
        ),
        Family(
            "random_forest",
            "Random forest",
            "tree",
            3,
            False,
            _forest,
            {"n_estimators": 200, "min_samples_leaf": 2, "max_features": "sqrt"},
        ),
        Family(
            "extra_trees",
            "Extra trees",
            "tree",
            3,
            False,
            _extra_trees,
            {"n_estimators": 200, "min_samples_leaf": 2, "max_features": 0.7},
        ),
        Family(
            "hist_gb",
            "Histogram gradient boosting",
            "tree",
            4,
            False,
            _hist_gb,
            {"learning_rate": 0.06, "max_iter": 250, "early_stopping": False},
            native_categorical=True,
        ),
        Family(
            "lightgbm",
            "LightGBM",
            "tree",
            4,
            False,
            _lightgbm,
            {
                "n_estimators": 300,
                "learning_rate": 0.04,
                "num_leaves": 15,
                "min_child_samples": 20,
                "subsample": 0.8,
                "subsample_freq": 1,
                "colsample_bytree": 0.8,
            },
            native_categorical=True,
        ),
        # The deep extra (torch): an MLP with an embedding table per categorical column, trained
        # with early stopping; fitted weights are numpy arrays (serving needs no torch).
        Family(
            "mlp",
            "Neural network (MLP)",
            "deep",
            5,
            False,
            _mlp,
            {"hidden_units": 128, "hidden_layers": 2, "dropout": 0.1, "max_epochs": 60},
        ),
    ]
}


def families_for(task: str) -> list[Family]:
    """The families tried for ``task``, simplest first (``mlp`` only where torch imports).

    >>> [f.name for f in families_for("binary")][:7]
    ['baseline', 'linear', 'knn', 'random_forest', 'extra_trees', 'hist_gb', 'lightgbm']
    """
    found = [f for f in FAMILIES.values() if f.flavour != "deep" or _torch_available()]
    return sorted(found, key=lambda f: f.simplicity)


def family_of(name: str) -> Family:
    """The family called ``name``."""
    return FAMILIES[name]


def build_pipeline(
    family: Family, task: str, roles: FeatureRoles, params: Mapping[str, Any] | None, seed: int
) -> Pipeline:
    """The full pipeline (preprocessing + estimator) for one candidate.

    ``params`` may hold ``"text"`` (``"tfidf"`` or ``"embed"``): how text columns are turned into
    numbers; it goes to the preprocessor, not the model. Without it, text columns are embedded
    when the deep extra is installed (the search also tries TF-IDF) and TF-IDF otherwise.
    """
    from civicml.learn._spaces import text_choices

    merged = {**family.defaults, **(params or {})}
    # defaults and warm starts read text with TF-IDF (fast, always there); the search also
    # tries sentence embeddings when the deep extra is installed
    text = str(merged.pop("text", None) or text_choices()[0])
    pre = build_preprocessor(
        roles, family.flavour, native_categorical=family.native_categorical, text=text
    )
    if family.flavour == "deep":
        merged["n_categorical"] = len(roles.categorical)
    return Pipeline([("prep", pre), ("model", family.make(task, merged, seed))])
