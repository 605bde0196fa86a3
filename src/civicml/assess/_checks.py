"""Checks that gate promotion: each one pass or fail, with the evidence, stored in the bundle.

The registry's governance reads ``checks.json`` in exactly the shape :func:`checks_to_dict`
writes: ``{"checks": [{"name", "passed", "evidence", "value", "limit"}, ...], "passed": bool}``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from civicml.assess._fairness import FairnessThresholds

__all__ = ["Check", "checks_from_dict", "checks_to_dict", "evaluate_checks"]


@dataclass(frozen=True)
class Check:
    """One gate: its name, whether it passed, the evidence in words, the value and the limit."""

    name: str
    passed: bool
    evidence: str
    value: float | None = None
    limit: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_LOWER_IS_BETTER = {"brier", "log_loss", "mae", "rmse", "mse"}


def _get(assessment: Any) -> dict[str, Any]:
    return assessment if isinstance(assessment, dict) else assessment.to_dict()


def evaluate_checks(
    assessment: Any,
    *,
    metric: str,
    min_metric: float | None = None,
    max_fairness_gap: float = 0.2,
    max_calibration_error: float = 0.1,
    data_findings: list[Any] | None = None,
) -> list[Check]:
    """Turn an assessment into pass/fail checks.

    Parameters
    ----------
    assessment : Assessment or dict
        From :func:`~civicml.assess.assess_model` (or its ``to_dict()``).
    metric : str
        The primary metric, e.g. ``"roc_auc"``.
    min_metric : float, optional
        Least acceptable value of ``metric`` on the test rows (greatest, for error metrics such
        as ``mae``). Without it the check is recorded as passed with "no limit set".
    max_fairness_gap : float
        Largest acceptable demographic-parity or equalised-odds difference for any single
        characteristic (groups of adequate size).
    max_calibration_error : float
        Largest acceptable expected calibration error (binary tasks).
    data_findings : list, optional
        Data-quality or personal-data findings (strings, dicts or objects); any finding fails
        the data-quality check.

    Examples
    --------
    >>> a = {"metrics": {"roc_auc": {"value": 0.8, "ci": [0.75, 0.85]}},
    ...      "fairness": {"characteristics": []}, "calibration": {"ece": 0.03}}
    >>> [c.passed for c in evaluate_checks(a, metric="roc_auc", min_metric=0.7)]
    [True, True, True, True]
    """
    doc = _get(assessment)
    return [
        _metric_check(doc, metric, min_metric),
        _fairness_check(doc, max_fairness_gap),
        _calibration_check(doc, max_calibration_error),
        _data_quality_check(list(data_findings or [])),
    ]


def _metric_check(doc: dict[str, Any], metric: str, min_metric: float | None) -> Check:
    """The primary metric on the test rows against ``min_metric`` (a ceiling for error metrics)."""
    m = doc.get("metrics", {}).get(metric)
    value = None if m is None else m.get("value")
    ci = None if m is None else m.get("ci")
    ci_text = f" (95% interval {ci[0]:.3f} to {ci[1]:.3f})" if ci and None not in ci else ""
    lower = metric in _LOWER_IS_BETTER
    if value is None:
        return Check(
            f"min_{metric}",
            False,
            f"{metric} was not measured on the test rows.",
            None,
            min_metric,
        )
    if min_metric is None:
        return Check(
            f"min_{metric}",
            True,
            f"{metric} is {value:.3f}{ci_text}; no limit set.",
            value,
            None,
        )
    ok = value <= min_metric if lower else value >= min_metric
    word = "at most" if lower else "at least"
    return Check(
        f"min_{metric}",
        bool(ok),
        f"{metric} is {value:.3f}{ci_text}; it must be {word} {min_metric:.3f}.",
        value,
        min_metric,
    )


def _fairness_check(doc: dict[str, Any], max_fairness_gap: float) -> Check:
    """The largest gap over single characteristics (intersections are for review only)."""
    worst, where = None, ""
    for t in doc.get("fairness", {}).get("characteristics", []):
        if t.get("kind") == "intersection":
            continue
        for key, label in (
            ("demographic_parity_difference", "selection rate"),
            ("equalized_odds_difference", "equalised odds"),
            ("difference", t.get("metric", "error")),
        ):
            v = t.get(key)
            if v is not None and (worst is None or v > worst):
                worst, where = v, f"{label} by {t.get('name')}"
    if worst is None:
        return Check(
            "max_fairness_gap",
            True,
            "No protected characteristic could be assessed; see the report's 'not assessed' list.",
            None,
            max_fairness_gap,
        )
    return Check(
        "max_fairness_gap",
        bool(worst <= max_fairness_gap),
        f"The largest gap is {worst:.3f} ({where}); the check fails above "
        f"{max_fairness_gap:.3f} (the report flags gaps above "
        f"{FairnessThresholds().max_difference:.3f} for a person to review).",
        worst,
        max_fairness_gap,
    )


def _calibration_check(doc: dict[str, Any], max_calibration_error: float) -> Check:
    ece = doc.get("calibration", {}).get("ece")
    if ece is None:
        return Check(
            "max_calibration_error",
            True,
            "Calibration is not measured for this task.",
            None,
            max_calibration_error,
        )
    return Check(
        "max_calibration_error",
        bool(ece <= max_calibration_error),
        f"Expected calibration error is {ece:.3f}; the limit is {max_calibration_error:.3f}.",
        ece,
        max_calibration_error,
    )


def _data_quality_check(findings: list[Any]) -> Check:
    if not findings:
        return Check("data_quality", True, "No data-quality findings.", 0.0, 0.0)
    shown = "; ".join(_finding_text(f) for f in findings[:5])
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    return Check(
        "data_quality",
        False,
        f"{len(findings)} data finding(s): {shown}{more}.",
        float(len(findings)),
        0.0,
    )


def _finding_text(f: Any) -> str:
    if isinstance(f, str):
        return f
    if isinstance(f, dict):
        col = f.get("column")
        kind = f.get("kind") or f.get("type") or f.get("message") or "finding"
        return f"{kind} in {col!r}" if col else str(kind)
    return str(f)


def checks_to_dict(checks: list[Check]) -> dict[str, Any]:
    """The ``checks.json`` document the registry reads.

    Examples
    --------
    >>> checks_to_dict([Check("x", True, "fine")])["passed"]
    True
    """
    return {"checks": [c.to_dict() for c in checks], "passed": all(c.passed for c in checks)}


def checks_from_dict(doc: dict[str, Any]) -> list[Check]:
    """Read back ``checks.json``."""
    fields = {"name", "passed", "evidence", "value", "limit"}
    return [Check(**{k: v for k, v in c.items() if k in fields}) for c in doc.get("checks", [])]
