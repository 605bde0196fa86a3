"""The plain-English summary at the top of the report, generated from the numbers."""

from __future__ import annotations

from typing import Any

from civicml.assess import policy_words

__all__ = ["baseline_summary", "biggest_gap", "plain_summary", "quality_lines", "risks"]


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


_POLICY = {
    "flag_everyone": "Flag everyone",
    "flag_no_one": "Flag no one",
    "base_rate": "Flag a random share the size of the base rate",
    "predict_mean": "Predict the average for everyone",
    "predict_median": "Predict the median for everyone",
    "most_common_class": "Predict the most common category for everyone",
    "model": "The model",
}


def policy_rows(assessment: dict[str, Any]) -> list[dict[str, Any]]:
    """The model and each trivial policy as table rows (the report's "how it compares").

    Examples
    --------
    >>> a = {"baselines": {"policies": {"model": {"mae": 1.0}, "predict_mean": {"mae": 2.0}}}}
    >>> [r["label"] for r in policy_rows(a)]
    ['The model', 'Predict the average for everyone']
    """
    pol = (assessment.get("baselines") or {}).get("policies") or {}
    return [{"name": k, "label": _POLICY.get(k, k.replace("_", " ")), **v} for k, v in pol.items()]


def _per100(v: float | None) -> str:
    return "–" if v is None or v != v else f"{round(v * 100)}"


def _signed(v: float, fmt: str) -> str:
    return f"{abs(v):{fmt}} {'lower' if v < 0 else 'higher'}" if v else "no difference"


def _verdict(c: dict[str, Any], what: str) -> str:
    """A comparison's difference and interval, and whether it is reliably better."""
    best = policy_words(c["best_policy"])
    ci = c.get("ci")
    fmt = ",.0f" if c["measure"] == "cost_per_1000" else ".3f"
    if c.get("better") and ci:
        return (
            f"On {what} the model is reliably better than {best}: the 95% interval of the "
            f"difference runs from {_signed(ci[0], fmt)} to {_signed(ci[1], fmt)}."
        )
    span = (
        f"the 95% interval of the difference runs from {_signed(ci[0], fmt)} to "
        f"{_signed(ci[1], fmt)}"
        if ci
        else "there are too few rows for an interval"
    )
    return f"On {what} the model is NOT reliably better than {best}: {span}."


def baseline_summary(info: dict[str, Any], assessment: dict[str, Any]) -> list[str]:
    """The opening paragraphs: the model against what a department could do without it.

    Examples
    --------
    >>> import numpy as np
    >>> from civicml.assess import baseline_comparison
    >>> y = np.array([True] * 70 + [False] * 30); s = np.full(100, 0.9)
    >>> a = {"baselines": baseline_comparison("binary", y, s, metric="roc_auc", n_boot=50)}
    >>> baseline_summary({"target": "ui", "positive_label": "yes"}, a)[0]
    'The model flags 100 of every 100 people (100 of the 100 held-out people); of the 30 who really are not ‘ui: yes’ it flags 30 (100 of every 100).'
    """
    b = assessment.get("baselines") or {}
    pol = b.get("policies") or {}
    if not pol.get("model"):
        return []
    m = pol["model"]
    out: list[str] = []
    if b.get("task") == "binary":
        n, base = int(b.get("n", 0)), float(b.get("base_rate") or 0.0)
        neg = round((1 - base) * n)
        out.append(
            f"The model flags {_per100(m['selection_rate'])} of every 100 people "
            f"({round(m['selection_rate'] * n):,} of the {n:,} held-out people); of the "
            f"{neg:,} who really are not {_outcome(info)} it flags "
            f"{round((m['false_positive_rate'] or 0) * neg):,} "
            f"({_per100(m['false_positive_rate'])} of every 100)."
        )
        every = pol.get("flag_everyone", {})
        out.append(
            f"Out of every 100 people the model flags as {_outcome(info)}, about "
            f"{_per100(m['precision'])} really are; "
            f"{_per100(base)} of every 100 people are (the base rate), so flagging everyone "
            f"would be right about {_per100(every.get('precision'))} times in 100 and find "
            "all of them."
        )
        c = b.get("cost") or {}
        costs = b.get("costs") or {}
        if c.get("best_policy"):
            out.append(
                f"Expected cost per 1,000 cases (a false alarm counts "
                f"{costs.get('false_positive', 1):g}, a missed case "
                f"{costs.get('false_negative', 1):g}): the model {m['cost_per_1000']:,.0f}, "
                f"flag everyone {every.get('cost_per_1000', float('nan')):,.0f}, flag no one "
                f"{pol.get('flag_no_one', {}).get('cost_per_1000', float('nan')):,.0f}. "
                + _verdict(c, "expected cost")
            )
    elif b.get("task") == "regression":
        mean, med = pol.get("predict_mean", {}), pol.get("predict_median", {})
        out.append(
            f"On average the model's estimate of {info.get('target', 'the outcome')} is off by "
            f"{m['mae']:.3g} (RMSE {m['rmse']:.3g}); predicting the average for everyone would "
            f"be off by {mean.get('mae', float('nan')):.3g} (RMSE "
            f"{mean.get('rmse', float('nan')):.3g}), the median by "
            f"{med.get('mae', float('nan')):.3g} (RMSE {med.get('rmse', float('nan')):.3g})."
        )
    else:
        common = pol.get("most_common_class", {})
        out.append(
            f"The model picks the right category {_per100(m.get('accuracy'))} times in 100; "
            "predicting the most common category for everyone would be right "
            f"{_per100(common.get('accuracy'))} times in 100."
        )
    sc = b.get("score") or {}
    if sc.get("best_policy"):
        out.append(
            _verdict(sc, f"{sc['measure']} ({sc['model']:.3f} against {sc['best_value']:.3f})")
        )
    return out


def quality_lines(checks: list[dict[str, Any]], fallback: list[str]) -> list[str]:
    """The data-quality findings, from the ``data_quality`` check when it lists them (so the
    check and the report agree), else ``fallback``.

    Examples
    --------
    >>> quality_lines([{"name": "data_quality", "details": ["'b' has a single value"]}], [])
    ["'b' has a single value"]
    """
    for c in checks:
        if c.get("name") == "data_quality" and c.get("details"):
            return [str(d) for d in c["details"]]
    return fallback


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
    out: list[str] = baseline_summary(info, assessment)
    if info.get("task") == "binary":
        prec, rec = _val(assessment, "precision"), _val(assessment, "recall")
        if prec is not None and not out:  # the comparison above already gave the precision
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
    for c in sorted(checks, key=lambda c: c.get("name") != "beats_baseline"):
        if c.get("passed") is False or (c.get("passed") is None and "status" not in c):
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
