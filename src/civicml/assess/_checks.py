"""Checks that gate promotion: each one pass or fail, with the evidence, stored in the bundle.

The registry's governance reads ``checks.json`` in exactly the shape :func:`checks_to_dict`
writes: ``{"checks": [{"name", "passed", "evidence", "value", "limit"}, ...], "passed": bool}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from civicml.assess._baselines import LOWER_IS_BETTER
from civicml.assess._fairness import FairnessThresholds

__all__ = [
    "NAMED_LIMITS",
    "Check",
    "checks_from_dict",
    "checks_to_dict",
    "evaluate_checks",
    "policy_words",
]


@dataclass(frozen=True)
class Check:
    """One gate: its name, whether it passed, the evidence in words, the value and the limit.

    ``passed`` is ``None`` when the check was not made (no limit set in the spec's ``checks:``):
    it counts neither as passed nor as failed.
    """

    name: str
    passed: bool | None
    evidence: str
    value: float | None = None
    limit: float | None = None
    details: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"`` or ``"not_checked"``."""
        return "not_checked" if self.passed is None else "pass" if self.passed else "fail"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "details": list(self.details), "status": self.status}


_LOWER_IS_BETTER = LOWER_IS_BETTER
#: Limits a spec's ``checks:`` may set besides ``min_<metric>`` / ``max_<metric>``.
NAMED_LIMITS = ("max_fairness_gap", "max_calibration_error")


def _get(assessment: Any) -> dict[str, Any]:
    return assessment if isinstance(assessment, dict) else assessment.to_dict()


def evaluate_checks(
    assessment: Any,
    *,
    metric: str,
    min_metric: float | None = None,
    max_fairness_gap: float | None = 0.2,
    max_calibration_error: float | None = 0.1,
    data_findings: list[Any] | None = None,
    limits: Mapping[str, float | None] | None = None,
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
        as ``mae``). Without it the check is recorded as "not checked".
    max_fairness_gap : float, optional
        Largest acceptable demographic-parity or equalised-odds difference for any single
        characteristic (groups of adequate size). ``None``: not checked.
    max_calibration_error : float, optional
        Largest acceptable expected calibration error (binary tasks). ``None``: not checked.
    data_findings : list, optional
        Data-quality or personal-data findings (strings, dicts or objects). A dict with
        ``"problem": False`` is a note; every other finding fails the data-quality check.
    limits : mapping, optional
        The spec's ``checks:`` section: ``min_<metric>`` or ``max_<metric>`` for any measured
        metric, ``max_fairness_gap`` and ``max_calibration_error``. Its values win over the
        keyword arguments; a limit of ``None`` turns the check into "not checked".

    The ``beats_baseline`` check always runs when the assessment compared the model with the
    trivial policies (flag everyone, flag no one, the base rate; the mean or median).

    Examples
    --------
    >>> a = {"metrics": {"roc_auc": {"value": 0.8, "ci": [0.75, 0.85]}},
    ...      "fairness": {"characteristics": []}, "calibration": {"ece": 0.03}}
    >>> [c.status for c in evaluate_checks(a, metric="roc_auc", limits={"min_roc_auc": 0.7})]
    ['pass', 'not_checked', 'not_checked', 'pass', 'pass']
    >>> evaluate_checks(a, metric="roc_auc")[0].evidence
    'roc_auc is 0.800 (95% interval 0.750 to 0.850); not checked: no limit set (add min_roc_auc under checks: in civicml.yaml).'
    """
    doc = _get(assessment)
    lim = dict(limits or {})
    lower = metric in _LOWER_IS_BETTER
    primary = f"{'max' if lower else 'min'}_{metric}"
    if primary not in lim and f"min_{metric}" in lim:
        primary = f"min_{metric}"
    out = [
        _metric_check(doc, metric, lim.pop(primary, min_metric), primary),
        _baseline_check(doc),
    ]
    measured = doc.get("metrics", {})
    for key in sorted(k for k in lim if k not in NAMED_LIMITS):
        name = key.split("_", 1)[1] if "_" in key else key
        if lim[key] is None and name not in measured:
            continue  # e.g. the template's min_roc_auc: null on a regression task
        out.append(_metric_check(doc, name, lim[key], key))
    out += [
        _fairness_check(doc, lim.get("max_fairness_gap", max_fairness_gap)),
        _calibration_check(doc, lim.get("max_calibration_error", max_calibration_error)),
        _data_quality_check(list(data_findings or [])),
    ]
    return out


def _metric_check(
    doc: dict[str, Any], metric: str, limit: float | None, name: str | None = None
) -> Check:
    """A metric on the test rows against ``limit`` (a ceiling for error metrics)."""
    lower = metric in _LOWER_IS_BETTER
    name = name or f"{'max' if lower else 'min'}_{metric}"
    m = doc.get("metrics", {}).get(metric)
    value = None if m is None else m.get("value")
    ci = None if m is None else m.get("ci")
    ci_text = f" (95% interval {ci[0]:.3f} to {ci[1]:.3f})" if ci and None not in ci else ""
    if value is None:
        if limit is None:
            return Check(name, None, f"{metric} was not measured; no limit set.", None, None)
        return Check(name, False, f"{metric} was not measured on the test rows.", None, limit)
    if limit is None:
        return Check(
            name,
            None,
            f"{metric} is {value:.3f}{ci_text}; not checked: no limit set (add {name} under "
            "checks: in civicml.yaml).",
            value,
            None,
        )
    ok = value <= limit if name.startswith("max_") else value >= limit
    word = "at most" if name.startswith("max_") else "at least"
    return Check(
        name,
        bool(ok),
        f"{metric} is {value:.3f}{ci_text}; it must be {word} {limit:.3f}.",
        value,
        limit,
    )


_POLICY_WORDS = {
    "flag_everyone": "flagging everyone",
    "flag_no_one": "flagging no one",
    "base_rate": "flagging a random share the size of the base rate",
    "predict_mean": "predicting the average for everyone",
    "predict_median": "predicting the median for everyone",
    "most_common_class": "predicting the most common category for everyone",
}


def policy_words(name: str | None) -> str:
    """A trivial policy's name in plain words.

    Examples
    --------
    >>> policy_words("flag_everyone")
    'flagging everyone'
    """
    return _POLICY_WORDS.get(str(name), str(name).replace("_", " "))


def _comparison_words(c: dict[str, Any]) -> str:
    """One comparison (score or cost) in words, with its interval."""
    cost = c["measure"] == "cost_per_1000"
    fmt = (lambda v: f"{abs(v):,.0f}") if cost else (lambda v: f"{abs(v):.3f}")
    what = "expected cost per 1,000 cases" if cost else c["measure"]
    lower = bool(c.get("lower_is_better"))
    diff = float(c["difference"])
    good = (diff < 0) if lower else (diff > 0)
    way = ("lower" if diff < 0 else "higher") if diff else "no different"
    head = (
        f"its {what} is {fmt(c['model'])} against {fmt(c['best_value'])} for "
        f"{policy_words(c['best_policy'])}, {fmt(diff)} {way}"
        if diff
        else f"its {what} is {fmt(c['model'])}, the same as {policy_words(c['best_policy'])}"
    )
    ci = c.get("ci")
    if not ci:
        return head + " (too few rows for an interval)"
    lo, hi = ci

    def signed(v: float) -> str:
        return f"{fmt(v)} {'lower' if v < 0 else 'higher'}" if v else "no difference"

    verdict = (
        "reliably better" if c.get("better") else "not reliably better" if good else "not better"
    )
    return f"{head} (95% interval of the difference: {signed(lo)} to {signed(hi)}; {verdict})"


def _baseline_check(doc: dict[str, Any]) -> Check:
    """Is the model reliably better than the best policy that needs no model?"""
    b = doc.get("baselines") or {}
    parts = [c for c in (b.get("score"), b.get("cost")) if c and c.get("best_policy")]
    if not parts:
        return Check(
            "beats_baseline",
            None,
            "Not checked: the assessment holds no comparison with policies that need no model.",
        )
    ok = all(c.get("better") for c in parts)
    words = "; ".join(_comparison_words(c) for c in parts)
    head = (
        "The model is reliably better than every policy that needs no model: "
        if ok
        else "The model is NOT reliably better than a policy that needs no model: "
    )
    score = b.get("score") or {}
    diff = score.get("difference")
    return Check(
        "beats_baseline",
        bool(ok),
        head + words + ". Intervals from "
        f"{max(c.get('n_boot', 0) for c in parts):,} bootstrap resamples of the "
        f"{b.get('n', 0):,} held-out rows.",
        None if diff is None else float(diff),
        0.0,
    )


def _fairness_check(doc: dict[str, Any], max_fairness_gap: float | None) -> Check:
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
            None,
            "Not checked: no protected characteristic could be assessed; see the report's "
            "'not assessed' list.",
            None,
            max_fairness_gap,
        )
    if max_fairness_gap is None:
        return Check(
            "max_fairness_gap",
            None,
            f"The largest gap is {worst:.3f} ({where}); not checked: no limit set "
            "(add max_fairness_gap under checks: in civicml.yaml).",
            worst,
            None,
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


def _calibration_check(doc: dict[str, Any], max_calibration_error: float | None) -> Check:
    ece = doc.get("calibration", {}).get("ece")
    if ece is None:
        return Check(
            "max_calibration_error",
            None,
            "Not checked: calibration is not measured for this task.",
            None,
            max_calibration_error,
        )
    if max_calibration_error is None:
        return Check(
            "max_calibration_error",
            None,
            f"Expected calibration error is {ece:.3f}; not checked: no limit set "
            "(add max_calibration_error under checks: in civicml.yaml).",
            ece,
            None,
        )
    return Check(
        "max_calibration_error",
        bool(ece <= max_calibration_error),
        f"Expected calibration error is {ece:.3f}; the limit is {max_calibration_error:.3f}.",
        ece,
        max_calibration_error,
    )


def _is_problem(f: Any) -> bool:
    return not (isinstance(f, dict) and f.get("problem") is False)


def _data_quality_check(findings: list[Any]) -> Check:
    """Fails on any problem among the findings; notes (``"problem": False``) are listed only.
    ``details`` keeps every finding in words: the report lists them from here."""
    problems = [f for f in findings if _is_problem(f)]
    notes = [f for f in findings if not _is_problem(f)]
    note_text = (
        f" Notes, not problems: {'; '.join(_finding_text(f) for f in notes[:5])}"
        + (f" and {len(notes) - 5} more" if len(notes) > 5 else "")
        + "."
        if notes
        else ""
    )
    details = tuple(_finding_text(f) for f in [*problems, *notes])
    if not problems:
        return Check(
            "data_quality",
            True,
            "No data-quality problems were found." + note_text,
            0.0,
            0.0,
            details,
        )
    shown = "; ".join(_finding_text(f) for f in problems[:5])
    more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
    return Check(
        "data_quality",
        False,
        f"{len(problems)} data finding(s) need a person's review: {shown}{more}.{note_text}",
        float(len(problems)),
        0.0,
        details,
    )


def _finding_text(f: Any) -> str:
    if isinstance(f, str):
        return f
    if isinstance(f, dict):
        if f.get("message"):
            return str(f["message"])
        col = f.get("column")
        kind = f.get("kind") or f.get("type") or "finding"
        return f"{kind} in {col!r}" if col else str(kind)
    return str(f)


def checks_to_dict(checks: list[Check]) -> dict[str, Any]:
    """The ``checks.json`` document the registry reads.

    Examples
    --------
    >>> checks_to_dict([Check("x", True, "fine"), Check("y", None, "no limit")])["passed"]
    True

    A check that was not made (``passed`` is ``None``, status ``"not_checked"``) counts
    neither way.
    """
    counted = [c.passed for c in checks if c.passed is not None]
    return {"checks": [c.to_dict() for c in checks], "passed": all(counted)}


def checks_from_dict(doc: dict[str, Any]) -> list[Check]:
    """Read back ``checks.json``."""
    fields = {"name", "passed", "evidence", "value", "limit"}
    return [
        Check(
            **{k: v for k, v in c.items() if k in fields},
            details=tuple(str(d) for d in c.get("details") or ()),
        )
        for c in doc.get("checks", [])
    ]
