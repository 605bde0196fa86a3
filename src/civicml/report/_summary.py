"""The plain-English summary at the top of the report, generated from the numbers."""

from __future__ import annotations

from typing import Any

__all__ = ["biggest_gap", "plain_summary", "risks"]


def _val(assessment: dict[str, Any], metric: str) -> float | None:
    m = assessment.get("metrics", {}).get(metric)
    return None if m is None else m.get("value")


def _outcome(info: dict[str, Any]) -> str:
    return f"‘{info.get('target', 'the outcome')}: {info.get('positive_label', 'positive')}’"


def biggest_gap(assessment: dict[str, Any]) -> dict[str, Any] | None:
    """The largest selection-rate gap between adequately sized groups of one characteristic."""
    best = None
    for t in assessment.get("fairness", {}).get("characteristics", []):
        rows = [g for g in t.get("groups", []) if g.get("selection_rate") is not None]
        big = [g for g in rows if not g.get("small")] or rows
        if len(big) < 2:
            continue
        lo = min(big, key=lambda g: g["selection_rate"])
        hi = max(big, key=lambda g: g["selection_rate"])
        gap = hi["selection_rate"] - lo["selection_rate"]
        if best is None or gap > best["gap"]:
            best = {"name": t["name"], "low": lo, "high": hi, "gap": gap}
    return best


def plain_summary(
    info: dict[str, Any], assessment: dict[str, Any], spec: dict[str, Any]
) -> list[str]:
    """Short paragraphs a non-specialist can read.

    Examples
    --------
    >>> info = {"target": "ui", "positive_label": "yes", "task": "binary"}
    >>> a = {"metrics": {"precision": {"value": 0.82}, "recall": {"value": 0.6}}}
    >>> plain_summary(info, a, {})[0]
    'Out of every 100 people the model flags as ‘ui: yes’, about 82 really are.'
    """
    out: list[str] = []
    if info.get("task") == "binary":
        prec, rec = _val(assessment, "precision"), _val(assessment, "recall")
        if prec is not None:
            out.append(
                f"Out of every 100 people the model flags as {_outcome(info)}, "
                f"about {round(prec * 100)} really are."
            )
        if rec is not None:
            out.append(
                f"Of every 100 people who really are {_outcome(info)}, it finds about "
                f"{round(rec * 100)}; it misses the other {100 - round(rec * 100)}."
            )
        auc = _val(assessment, "roc_auc")
        if auc is not None:
            word = (
                "weak"
                if auc < 0.7
                else "moderate"
                if auc < 0.8
                else "good"
                if auc < 0.9
                else "very strong"
            )
            out.append(
                f"Its ability to tell the two groups apart is {word} (ROC AUC {auc:.2f}, where "
                "0.5 is guessing and 1 is perfect)."
            )
    elif info.get("task") == "regression":
        mae = _val(assessment, "mae")
        if mae is not None:
            out.append(
                f"On average its estimate of {info.get('target')} is off by about {mae:.3g}."
            )
    else:
        acc = _val(assessment, "accuracy")
        if acc is not None:
            out.append(f"It picks the right category for about {round(acc * 100)} in every 100.")
    gap = biggest_gap(assessment)
    if gap is not None:
        out.append(
            f"The biggest difference between groups is by {gap['name']}: the model flags "
            f"{gap['high']['selection_rate']:.0%} of {gap['high']['group']} and "
            f"{gap['low']['selection_rate']:.0%} of {gap['low']['group']} "
            f"(a gap of {gap['gap'] * 100:.0f} percentage points)."
        )
    if spec.get("intended_use"):
        out.append(f"Intended use: {spec['intended_use']}")
    return out


def risks(
    info: dict[str, Any],
    assessment: dict[str, Any],
    checks: list[dict[str, Any]],
    findings: list[dict[str, Any]],
) -> list[str]:
    """The main risks, most serious first, in plain words."""
    out: list[str] = []
    for c in checks:
        if not c.get("passed"):
            out.append(f"Check '{c['name']}' failed: {c['evidence']}")
    for t in assessment.get("fairness", {}).get("characteristics", []):
        if t.get("kind") == "single":
            out.extend(t.get("warnings", []))
    for p in assessment.get("proxies", []):
        if p.get("flagged"):
            out.append(
                f"'{p['feature']}' predicts {p['characteristic']} (strength {p['strength']:.2f}); "
                "the model can treat groups differently through it even if the characteristic "
                "is not used."
            )
    if findings:
        cols = sorted({str(f.get("column")) for f in findings})
        out.append(f"Personal data was found in: {', '.join(cols)}.")
    prec = _val(assessment, "precision")
    if info.get("task") == "binary" and prec is not None and prec < 0.9:
        out.append(
            f"About {100 - round(prec * 100)} in every 100 people flagged are flagged wrongly: "
            "a person must review each case before anything is decided."
        )
    na = [n["characteristic"] for n in assessment.get("fairness", {}).get("not_assessed", [])]
    if na:
        out.append(
            "Not assessed for fairness (no data): "
            + ", ".join(c.replace("_", " ") for c in na)
            + "."
        )
    return out
