"""Held-out evaluation: confidence intervals, fairness, explanations and promotion checks."""

from civicml.assess._assessment import (
    Assessment,
    AssessOptions,
    assess_model,
    bootstrap_metrics,
)
from civicml.assess._checks import Check, checks_from_dict, checks_to_dict, evaluate_checks
from civicml.assess._explain import Reason, explain_rows, global_importance, partial_dependence
from civicml.assess._fairness import (
    AGE_BANDS,
    FairnessThresholds,
    band_age,
    fairness_table,
    mitigation_tradeoff,
    proxy_check,
)
from civicml.assess._unsupervised import (
    assess_unsupervised,
    unsupervised_checks,
    unsupervised_html,
)

__all__ = [
    "AGE_BANDS",
    "AssessOptions",
    "Assessment",
    "Check",
    "FairnessThresholds",
    "Reason",
    "assess_model",
    "assess_unsupervised",
    "band_age",
    "bootstrap_metrics",
    "checks_from_dict",
    "checks_to_dict",
    "evaluate_checks",
    "explain_rows",
    "fairness_table",
    "global_importance",
    "mitigation_tradeoff",
    "partial_dependence",
    "proxy_check",
    "unsupervised_checks",
    "unsupervised_html",
]
