"""Held-out evaluation: confidence intervals, fairness, explanations and promotion checks."""

from civicml.assess._assessment import (
    Assessment,
    AssessOptions,
    assess_model,
    bootstrap_metrics,
)
from civicml.assess._baselines import LOWER_IS_BETTER, baseline_comparison
from civicml.assess._checks import (
    NAMED_LIMITS,
    Check,
    checks_from_dict,
    checks_to_dict,
    evaluate_checks,
    policy_words,
)
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
    "LOWER_IS_BETTER",
    "NAMED_LIMITS",
    "AssessOptions",
    "Assessment",
    "Check",
    "FairnessThresholds",
    "Reason",
    "assess_model",
    "assess_unsupervised",
    "band_age",
    "baseline_comparison",
    "bootstrap_metrics",
    "checks_from_dict",
    "checks_to_dict",
    "evaluate_checks",
    "explain_rows",
    "fairness_table",
    "global_importance",
    "mitigation_tradeoff",
    "partial_dependence",
    "policy_words",
    "proxy_check",
    "unsupervised_checks",
    "unsupervised_html",
]
