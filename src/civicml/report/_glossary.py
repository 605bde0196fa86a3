"""Plain words for the ids civicml uses: metrics, candidates and columns, and a glossary.

The report's prose names things as a person would ("precision-recall AUC", "random forest
(candidate 2)", "Not white"); tables keep the raw id beside the plain name so an analyst can
find it in the bundle.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "GLOSSARY",
    "glossary_rows",
    "plain_candidate",
    "plain_column",
    "plain_group",
    "plain_ids",
    "plain_metric",
    "round_sig",
]

#: metric id -> (plain name, what it means)
GLOSSARY: dict[str, tuple[str, str]] = {
    "roc_auc": (
        "ROC AUC",
        "How well the scores rank people who really are the outcome above people who are "
        "not: 0.5 is guessing, 1 is perfect.",
    ),
    "pr_auc": (
        "precision-recall AUC",
        "The average precision across all thresholds; compare it with the base rate, which is "
        "what flagging at random scores.",
    ),
    "accuracy": ("accuracy", "The share of people the model gets right."),
    "balanced_accuracy": (
        "balanced accuracy",
        "Accuracy averaged over the classes, so a rare class counts as much as a common one.",
    ),
    "precision": ("precision", "Of the people flagged, the share who really are the outcome."),
    "recall": (
        "recall",
        "Of the people who really are the outcome, the share the model flags.",
    ),
    "f1": ("F1 score", "A single number balancing precision and recall (their harmonic mean)."),
    "log_loss": (
        "log loss",
        "How far the predicted probabilities are from what happened; lower is better.",
    ),
    "brier": (
        "Brier score",
        "The average squared error of the predicted probabilities; lower is better.",
    ),
    "mae": ("mean absolute error", "The average size of a prediction's error."),
    "rmse": (
        "root mean squared error",
        "Like the mean absolute error, but large errors count more.",
    ),
    "r2": ("R²", "The share of the outcome's variation the model explains: 1 is perfect."),
    "selection_rate": ("selection rate", "The share of a group the model flags."),
    "fpr": ("false positive rate", "Of the people who are not the outcome, the share flagged."),
    "fnr": ("false negative rate", "Of the people who are the outcome, the share missed."),
    "cost_per_1000": (
        "expected cost per 1,000 cases",
        "False alarms and missed cases counted at the costs set in civicml.yaml, per 1,000.",
    ),
}

#: candidate family id -> plain name
_FAMILIES = {
    "linear": "linear model",
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
    "catboost": "CatBoost",
    "hist_gb": "histogram gradient boosting",
    "random_forest": "random forest",
    "extra_trees": "extra trees",
    "knn": "nearest neighbours",
    "mlp": "neural network",
    "baseline": "baseline (no model)",
    "ensemble": "ensemble",
}


def plain_metric(metric: str | None) -> str:
    """A metric id in words.

    >>> plain_metric("pr_auc"), plain_metric("roc_auc"), plain_metric("my_score")
    ('precision-recall AUC', 'ROC AUC', 'my score')
    """
    if not metric:
        return "the score"
    hit = GLOSSARY.get(metric)
    return hit[0] if hit else metric.replace("_", " ")


def plain_ids(text: str) -> str:
    """``text`` with the metric ids that read as code (those with an underscore) in words.

    >>> plain_ids("its roc_auc is 0.668; pr_auc 0.79, precision 0.7")
    'its ROC AUC is 0.668; precision-recall AUC 0.79, precision 0.7'
    """
    ids = "|".join(re.escape(k) for k in GLOSSARY if "_" in k)
    return re.sub(rf"\b({ids})\b", lambda m: GLOSSARY[m.group(1)][0], text)


def plain_candidate(name: str | None) -> str:
    """A candidate id in words: ``random_forest_2`` -> "random forest (candidate 2)".

    >>> plain_candidate("random_forest_2"), plain_candidate("mlp"), plain_candidate("lightgbm_3")
    ('random forest (candidate 2)', 'neural network', 'LightGBM (candidate 3)')
    """
    if not name:
        return "the model"
    m = re.fullmatch(r"(.+?)_(\d+)", name)
    family, number = (m.group(1), m.group(2)) if m else (name, None)
    words = _FAMILIES.get(family, family.replace("_", " "))
    return f"{words} (candidate {number})" if number else words


def plain_column(name: Any, describe: dict[str, str] | None = None) -> str:
    """A column's plain name: its ``columns.describe`` entry, else the raw name made readable.

    >>> plain_column("nwhite", {"nwhite": "Not white"}), plain_column("school_12")
    ('Not white', 'school 12')
    """
    text = str(name)
    if describe and describe.get(text):
        return describe[text]
    return text.replace("_", " ")


def plain_group(group: Any, columns: list[str], describe: dict[str, str] | None) -> str:
    """A fairness group label with each column's plain name: "nwhite: no / 45 to 54" ->
    "Not white: no / 45 to 54".

    >>> plain_group("nwhite: no / 45 to 54", ["nwhite"], {"nwhite": "Not white"})
    'Not white: no / 45 to 54'
    >>> plain_group("45 to 54", ["age"], None)
    '45 to 54'
    """
    parts = []
    for part in str(group).split(" / "):
        col, sep, value = part.partition(": ")
        if sep and col in columns:
            part = f"{plain_column(col, describe)}: {value}"
        parts.append(part)
    return " / ".join(parts)


def round_sig(v: float | None, digits: int = 2) -> str:
    """``v`` rounded for people, to ``digits`` significant figures (trailing zeros dropped,
    never scientific notation).

    >>> round_sig(0.0002328898306529193), round_sig(12.34), round_sig(1234.5), round_sig(None)
    ('0.00023', '12', '1,200', 'unknown')
    """
    if v is None or not math.isfinite(v):
        return "unknown"
    if v == 0:
        return "0"
    places = digits - 1 - math.floor(math.log10(abs(v)))
    r = round(v, places)
    if places <= 0:
        return f"{int(r):,}"
    return f"{r:.{places}f}".rstrip("0").rstrip(".")


def glossary_rows(used: list[str]) -> list[dict[str, str]]:
    """The glossary entries for the metric ids a report uses, in a fixed order.

    >>> [r["term"] for r in glossary_rows(["pr_auc", "roc_auc", "unknown"])]
    ['ROC AUC', 'precision-recall AUC']
    """
    return [
        {"id": k, "term": name, "meaning": meaning}
        for k, (name, meaning) in GLOSSARY.items()
        if k in used
    ]
