"""The plain-English summary at the top of the report, generated from the numbers."""

from __future__ import annotations

import re
from typing import Any

from civicml.assess import policy_words
from civicml.report._glossary import (
    plain_candidate,
    plain_column,
    plain_group,
    plain_ids,
    plain_metric,
)

__all__ = [
    "baseline_summary",
    "biggest_gap",
    "input_risks",
    "not_assessed_rows",
    "plain_summary",
    "quality_lines",
    "risks",
    "selection_lines",
]


def _val(assessment: dict[str, Any], metric: str) -> float | None:
    m = assessment.get("metrics", {}).get(metric)
    return None if m is None else m.get("value")


def _outcome(info: dict[str, Any], describe: dict[str, str] | None = None) -> str:
    target = plain_column(info.get("target", "the outcome"), describe)
    return f"‘{target}: {info.get('positive_label', 'positive')}’"


def _describe(spec: dict[str, Any] | None) -> dict[str, str]:
    return dict(((spec or {}).get("columns") or {}).get("describe") or {})


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


def baseline_summary(
    info: dict[str, Any], assessment: dict[str, Any], describe: dict[str, str] | None = None
) -> list[str]:
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
            f"{neg:,} who really are not {_outcome(info, describe)} it flags "
            f"{round((m['false_positive_rate'] or 0) * neg):,} "
            f"({_per100(m['false_positive_rate'])} of every 100)."
        )
        every = pol.get("flag_everyone", {})
        out.append(
            f"Out of every 100 people the model flags as {_outcome(info, describe)}, about "
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
            _verdict(
                sc,
                f"{plain_metric(sc['measure'])} ({sc['model']:.3f} against {sc['best_value']:.3f})",
            )
        )
    return out


def quality_lines(
    checks: list[dict[str, Any]], fallback: list[str], spec: dict[str, Any] | None = None
) -> list[str]:
    """The data-quality findings, from the ``data_quality`` check when it lists them (so the
    check and the report agree), else ``fallback``; each quoted column name becomes its plain
    name with the raw name beside it (``columns.describe``).

    Examples
    --------
    >>> quality_lines([{"name": "data_quality", "details": ["'b' has a single value"]}], [])
    ["'b' has a single value"]
    >>> spec = {"columns": {"describe": {"bluecol": "Blue-collar job"}}}
    >>> quality_lines([], ["'bluecol' has a single value"], spec)
    ['Blue-collar job (bluecol) has a single value']
    """
    lines = fallback
    for c in checks:
        if c.get("name") == "data_quality" and c.get("details"):
            lines = [str(d) for d in c["details"]]
            break
    describe = _describe(spec)
    if not describe:
        return list(lines)

    def plain(m: re.Match[str]) -> str:
        raw = m.group(1)
        return f"{describe[raw]} ({raw})" if describe.get(raw) else m.group(0)

    return [re.sub(r"'([^'\n]{1,200})'", plain, line) for line in lines]


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
    describe = _describe(spec)
    out: list[str] = baseline_summary(info, assessment, describe)
    if info.get("task") == "binary":
        prec, rec = _val(assessment, "precision"), _val(assessment, "recall")
        if prec is not None and not out:  # the comparison above already gave the precision
            out.append(
                f"Out of every 100 people the model flags as {_outcome(info, describe)}, "
                f"about {round(prec * 100)} really are."
            )
        if rec is not None:
            out.append(
                f"Of every 100 people who really are {_outcome(info, describe)}, it finds about "
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
                f"On average its estimate of {plain_column(info.get('target'), describe)} is "
                f"off by about {mae:.3g}."
            )
    else:
        acc = _val(assessment, "accuracy")
        if acc is not None:
            out.append(f"It picks the right category for about {round(acc * 100)} in every 100.")
    gap = biggest_gap(assessment)
    if gap is not None:
        cols = [*(info.get("features") or []), *((spec.get("protected") or {}).values())]
        high = plain_group(gap["high"]["group"], cols, describe)
        low = plain_group(gap["low"]["group"], cols, describe)
        out.append(
            f"The biggest difference between groups is by {gap['name']}: the model flags "
            f"{gap['high']['selection_rate']:.0%} of {high} and "
            f"{gap['low']['selection_rate']:.0%} of {low} "
            f"(a gap of {gap['gap'] * 100:.0f} percentage points)."
        )
    if spec.get("intended_use"):
        out.append(f"Intended use: {spec['intended_use']}")
    return out


#: column-name tokens that likely stand for a protected characteristic (Equality Act 2010) or
#: special-category data, and what they stand for
_STAND_INS: tuple[tuple[str, str], ...] = (
    (
        r"married|marital|marriage|spouse|civil_?partner\w*|widow\w*",
        "marriage and civil partnership",
    ),
    (r"relig\w*|faith|belief", "religion or belief"),
    (r"ethnic\w*|race|racial|n?white|black|asian", "race"),
    (r"nationality|citizenship|country_?of_?birth|birth_?country", "race (nationality)"),
    (
        r"post_?codes?|postal_?code|zip_?code|outcode",
        "race and other characteristics (where people live)",
    ),
    (r"sex|gender", "sex"),
    (r"age|dob|date_?of_?birth|birth_?date|birth_?year|age_?band|age_?group", "age"),
    (r"disab\w*|disabled|impairment", "disability"),
    (r"pregnan\w*|maternity", "pregnancy and maternity"),
    (r"sexual_?orientation|orientation", "sexual orientation"),
)
_NEEDS = "its use needs a recorded justification (columns.justification in civicml.yaml)"


def _stands_for(column: str) -> str | None:
    """What a column's name suggests it holds, or None.

    >>> _stands_for("married"), _stands_for("wage"), _stands_for("home_post_code")
    ('marriage and civil partnership', None, 'race and other characteristics (where people live)')
    """
    name = column.casefold()
    words = [t for t in re.split(r"[^a-z0-9]+|_", name) if t]
    tokens = [*words, *(f"{a}_{b}" for a, b in zip(words, words[1:], strict=False))]
    tokens += [f"{a}_{b}_{c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)]
    for pattern, what in _STAND_INS:
        if re.fullmatch(pattern, name) or any(re.fullmatch(pattern, t) for t in tokens):
            return what
    return None


def input_risks(info: dict[str, Any], spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Protected and special-category characteristics the model uses as direct inputs, and
    inputs whose names suggest they stand for one; each with its recorded justification.

    Returns dicts with ``column``, ``risk`` (the sentence) and ``justification`` (the spec's
    ``columns.justification`` entry, or None while none is recorded).

    Examples
    --------
    >>> info = {"features": ["married", "nwhite", "tenure"],
    ...         "special_category": {"nwhite": {"category": "racial-or-ethnic-origin"}}}
    >>> spec = {"protected": {"race": "nwhite"},
    ...         "columns": {"describe": {"nwhite": "Not white"},
    ...                     "justification": {"married": "Eligibility depends on household."}}}
    >>> [(r["column"], r["justification"]) for r in input_risks(info, spec)]
    [('nwhite', None), ('married', 'Eligibility depends on household.')]
    >>> input_risks(info, spec)[0]["risk"][:60]
    "'Not white' (column nwhite) holds race, a protected characte"
    """
    spec = spec or {}
    features = [str(f) for f in info.get("features") or []]
    protected = {str(v): str(k) for k, v in (spec.get("protected") or {}).items() if v}
    special = info.get("special_category") or {}
    cols = spec.get("columns") or {}
    describe, why = cols.get("describe") or {}, cols.get("justification") or {}
    out: list[dict[str, Any]] = []
    for col in [*[f for f in features if f in protected or f in special], *features]:
        if any(r["column"] == col for r in out):
            continue
        reasons = []
        if col in protected:
            reasons.append(
                f"{protected[col].replace('_', ' ')}, a protected characteristic (Equality Act 2010)"
            )
        if col in special:
            cat = str((special[col] or {}).get("category", "special category")).replace("-", " ")
            reasons.append(f"special-category data ({cat}, UK GDPR Art. 9)")
        what = None if reasons else _stands_for(col)
        if not reasons and what is None:
            continue
        name = plain_column(col, describe)
        label = f"'{name}' (column {col})" if name != col else f"'{col}'"
        text = (
            f"{label} holds {' and '.join(reasons)} and is a direct input of the model"
            if reasons
            else f"{label} is a direct input of the model and likely stands for {what}, "
            "a protected characteristic"
        )
        out.append({"column": col, "risk": f"{text}: {_NEEDS}.", "justification": why.get(col)})
    return out


def not_assessed_rows(info: dict[str, Any], assessment: dict[str, Any]) -> list[dict[str, Any]]:
    """The characteristics fairness was not assessed for, each with its reason; a reason of
    "no data" is corrected when a direct input likely holds the characteristic.

    >>> a = {"fairness": {"not_assessed": [{"characteristic": "marriage_and_civil_partnership",
    ...      "reason": "not named under 'protected' in civicml.yaml"}]}}
    >>> not_assessed_rows({"features": ["married"]}, a)[0]["input"]
    'married'
    """
    rows = []
    for n in assessment.get("fairness", {}).get("not_assessed", []):
        what = str(n.get("characteristic", ""))
        words = what.replace("_", " ")
        col = next(
            (f for f in info.get("features") or [] if (_stands_for(str(f)) or "") == words),
            None,
        )
        reason = str(n.get("reason", ""))
        if col:
            reason = (
                f"not assessed for fairness ({reason}), although the model uses '{col}', which "
                f"likely holds it; name it under 'protected' to assess it"
            )
        rows.append({"characteristic": what, "reason": reason, "input": col})
    return rows


def _selection_members(
    board: dict[str, Any], selection: dict[str, Any], chosen: str | None
) -> dict[str, float]:
    weights = (selection.get("ensemble") or {}).get("weights") or {}
    for e in board.get("entries", []):
        members = (e.get("params") or {}).get("members") if e.get("name") == chosen else None
        if isinstance(members, dict) and members:
            weights = members
    return {str(k): float(w) for k, w in weights.items()}


def selection_lines(
    info: dict[str, Any], board: dict[str, Any], selection: dict[str, Any] | None = None
) -> list[str]:
    """Why the chosen model: the test against the runner-up, "prefer the simpler" when it
    applies, what selection traded, and an ensemble's members with their weights.

    ``selection`` is the bundle's ``selection.json``; ``board`` its ``leaderboard.json``.

    Examples
    --------
    >>> sel = {"comparison": {"better": "ensemble", "other": "lightgbm", "p_value": 0.091,
    ...        "reliable": False, "text": "ensemble is not reliably better than lightgbm"},
    ...        "ensemble": {"weights": {"lightgbm": 0.6, "random_forest_2": 0.4}}}
    >>> for line in selection_lines({"candidate": "ensemble"}, {}, sel):
    ...     print(line)
    The chosen model, ensemble, is not reliably better than the runner-up, LightGBM (corrected t-test over the cross-validation folds, p = 0.091): prefer the simpler of the two if that matters.
    The ensemble averages LightGBM (weight 0.60) and random forest (candidate 2) (weight 0.40).
    """
    selection = selection or {}
    chosen = info.get("candidate")
    comp = selection.get("comparison") or board.get("comparison") or {}
    out = []
    if comp.get("other"):
        p = comp.get("p_value")
        ptxt = f", p = {p:.3f}" if isinstance(p, (int, float)) else ""
        test = f"corrected t-test over the cross-validation folds{ptxt}"
        best, other = plain_candidate(comp.get("better")), plain_candidate(comp["other"])
        if comp.get("reliable"):
            out.append(
                f"The chosen model, {best}, is reliably better than the runner-up, {other} ({test})."
            )
        else:
            out.append(
                f"The chosen model, {best}, is not reliably better than the runner-up, {other} "
                f"({test}): prefer the simpler of the two if that matters."
            )
    elif comp.get("text"):
        out.append(str(comp["text"]))
    traded = ((selection.get("selection") or {}).get("given_up") or {}).get("text")
    if traded:
        out.append(f"What selection traded: {traded}")
    out += search_evidence_lines(dict(board.get("extra") or {}))
    members = _selection_members(board, selection, chosen)
    if members:
        parts = [f"{plain_candidate(k)} (weight {w:.2f})" for k, w in members.items()]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        out.append(f"The {plain_candidate(chosen)} averages {listed}.")
    return out


def search_evidence_lines(extra: dict[str, Any]) -> list[str]:
    """What the cross-validated estimate rests on, and the two checks on the choice: a simpler
    model chosen within the noise (only one that also beats the best default configuration out
    of fold), and the defaults kept or beaten out of fold (from the leaderboard's ``extra``).

    Examples
    --------
    >>> extra = {"estimate": {"rows": 344, "folds": 5, "repeats": 3, "fits_per_candidate": 15,
    ...          "validation_rows_per_fold": 69, "small_data": True},
    ...          "noise_selection": {"chosen_for_noise": True, "chosen": "linear",
    ...          "best_scoring": "lightgbm_4", "behind_best": 0.004, "standard_error": 0.011,
    ...          "best_default": "lightgbm", "passed_over": ["knn"]},
    ...          "defaults_check": {"kept_default": False, "best_default": "lightgbm",
    ...          "chosen": "linear"}}
    >>> for line in search_evidence_lines(extra):
    ...     print(line)
    The cross-validated scores rest on 344 training rows: 5 folds repeated 3 times (15 fits per candidate, about 69 rows held out in each). This is a small table, so the folds were repeated for a steadier estimate.
    A simpler model, linear model, was chosen over the best-scoring LightGBM (candidate 4): it scores 0.004 lower, within one corrected standard error (0.011), so on this data the difference cannot be told from noise; it still beats the best default configuration, LightGBM, out of fold.
    Not chosen although within the noise too, because it scores below the default configuration LightGBM out of fold: nearest neighbours.
    >>> search_evidence_lines({"defaults_check": {"kept_default": True, "kept_because": "noise",
    ...     "chosen": "lightgbm_2", "without_noise_step": "lightgbm_7", "margin": 0.0031,
    ...     "standard_error": 0.0054}})[0]
    'The best alternative, LightGBM (candidate 7), did not beat LightGBM with its library defaults (LightGBM (candidate 2)) beyond the noise of the estimate (by 0.0031 out of fold, one corrected standard error 0.0054), so the default configuration was kept.'
    >>> search_evidence_lines({"defaults_check": {"kept_default": True,
    ...     "kept_because": "fresh folds", "chosen": "lightgbm_2", "without_fresh_check": "knn_41",
    ...     "fresh_folds": {"folds": 15, "margin": 0.004, "standard_error": 0.011,
    ...                     "alpha": 0.05, "bar": 1.761}}})[0]
    "Nearest neighbours (candidate 41) beat LightGBM with its library defaults (LightGBM (candidate 2)) beyond the noise on the search's folds, but not on 15 fresh folds the search never saw (by 0.0040, one corrected standard error 0.0110; a one-sided test at the 5% level needs a lead of 1.76 standard errors): its lead came from being picked as the best of many trials on those folds, so the default configuration was kept."
    """
    out: list[str] = []
    parallel = extra.get("data_parallel") or {}
    if parallel.get("note"):
        out.append(f"{parallel['note']}.")
    est = extra.get("estimate") or {}
    if est.get("rows"):
        repeats = int(est.get("repeats") or 1)
        how = f"{est.get('folds')} folds" + (f" repeated {repeats} times" if repeats > 1 else "")
        line = (
            f"The cross-validated scores rest on {int(est['rows']):,} training rows: {how} "
            f"({est.get('fits_per_candidate')} fits per candidate, about "
            f"{int(est.get('validation_rows_per_fold') or 0):,} rows held out in each)."
        )
        if est.get("small_data"):
            line += " This is a small table, so the folds were repeated for a steadier estimate."
        out.append(line)
    noise = extra.get("noise_selection") or {}
    if noise.get("chosen_for_noise"):
        out.append(
            f"A simpler model, {plain_candidate(noise.get('chosen'))}, was chosen over the "
            f"best-scoring {plain_candidate(noise.get('best_scoring'))}: it scores "
            f"{float(noise.get('behind_best') or 0):.3f} lower, within one corrected standard "
            f"error ({float(noise.get('standard_error') or 0):.3f}), so on this data the "
            "difference cannot be told from noise"
            + (
                f"; it still beats the best default configuration, "
                f"{plain_candidate(noise['best_default'])}, out of fold."
                if noise.get("best_default") and noise["best_default"] != noise.get("chosen")
                else "."
            )
        )
    passed = list(noise.get("passed_over") or [])
    if passed and noise.get("best_default"):
        out.append(
            f"Not chosen although within the noise too, because "
            f"{'it scores' if len(passed) == 1 else 'they score'} below the default "
            f"configuration {plain_candidate(noise['best_default'])} out of fold: "
            + ", ".join(plain_candidate(n) for n in passed)
            + "."
        )
    defaults = extra.get("defaults_check") or {}
    if defaults.get("kept_default") and defaults.get("kept_because") == "noise":
        out.append(
            f"The best alternative, {plain_candidate(defaults.get('without_noise_step'))}, did "
            f"not beat LightGBM with its library defaults "
            f"({plain_candidate(defaults.get('chosen'))}) beyond the noise of the estimate (by {float(defaults.get('margin') or 0):.4f} out of "
            f"fold, one corrected standard error {float(defaults.get('standard_error') or 0):.4f}"
            "), so the default configuration was kept."
        )
    elif defaults.get("kept_default") and defaults.get("unconfirmed"):
        out.append(_unconfirmed_kept(defaults))
    elif defaults.get("kept_default") and defaults.get("kept_because") == "fresh folds":
        fresh = defaults.get("fresh_folds") or {}
        who = plain_candidate(defaults.get("without_fresh_check"))
        out.append(
            f"{who[:1].upper()}{who[1:]} beat LightGBM with its "
            f"library defaults ({plain_candidate(defaults.get('chosen'))}) beyond the noise on "
            f"the search's folds, but not on {fresh.get('folds')} fresh folds the search never "
            f"saw (by {float(fresh.get('margin') or 0):.4f}, one corrected standard error "
            f"{float(fresh.get('standard_error') or 0):.4f}{_fresh_bar(fresh)}): its lead came "
            "from being picked as the best of many trials on those folds, so the default "
            "configuration was kept."
        )
    elif defaults.get("kept_default"):
        out.append(
            f"No tuned model or ensemble beat the default configuration "
            f"{plain_candidate(defaults.get('chosen'))} out of fold, so the default was kept."
        )
    out.extend(_fresh_check_lines(defaults))
    return out


def _fresh_check_lines(defaults: dict[str, Any]) -> list[str]:
    """The fresh-fold check's outcome when the choice stood (passed, or could not run).

    >>> _fresh_check_lines({"chosen": "linear_4", "fresh_folds": {"beats": True, "folds": 15,
    ...     "margin": 0.021, "standard_error": 0.008, "alpha": 0.05, "bar": 1.761}})[0]
    'The choice, linear model (candidate 4), also beat LightGBM with its library defaults beyond the noise on 15 fresh folds the search never saw (by 0.0210, one corrected standard error 0.0080; a one-sided test at the 5% level needs a lead of 1.76 standard errors).'
    >>> _fresh_check_lines({"chosen": "knn_3", "fresh_check_not_run": "not run: no time"})[0]
    "The choice, nearest neighbours (candidate 3), was not checked again on fresh folds (not run: no time); it rests on the search's own folds."
    """
    fresh = defaults.get("fresh_folds") or {}
    choice = plain_candidate(defaults.get("chosen"))
    if fresh.get("beats"):
        return [
            f"The choice, {choice}, also beat LightGBM with its library defaults beyond the "
            f"noise on {fresh.get('folds')} fresh folds the search never saw (by "
            f"{float(fresh.get('margin') or 0):.4f}, one corrected standard error "
            f"{float(fresh.get('standard_error') or 0):.4f}{_fresh_bar(fresh)})."
        ]
    if defaults.get("fresh_check_not_run"):
        test = defaults.get("unconfirmed") or {}
        bar = (
            f" There it passed{_fresh_bar(test)}: its lead of {float(test['margin']):.4f} is "
            f"{float(test['margin']) / float(test['standard_error']):.2f} corrected standard "
            "errors, though being picked as the best of many trials on those folds flatters it."
            if test.get("beats") and test.get("standard_error")
            else ""
        )
        return [
            f"The choice, {choice}, was not checked again on fresh folds "
            f"({defaults['fresh_check_not_run']}); it rests on the search's own folds.{bar}"
        ]
    return []


def _unconfirmed_kept(defaults: dict[str, Any]) -> str:
    """Why the defaults were kept when the fresh folds could not run and the choice's lead on
    the search's own folds did not pass the one-sided test.

    >>> print(_unconfirmed_kept({"chosen": "lightgbm_2", "without_fresh_check": "linear_5",
    ...     "fresh_check_not_run": "not run: no time", "unconfirmed": {"beats": False,
    ...     "margin": 0.07, "standard_error": 0.047, "alpha": 0.05, "bar": 1.761}}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Linear model (candidate 5) beat LightGBM with its library defaults (LightGBM (candidate
    2)) by 0.0700 out of fold, one corrected standard error 0.0470, but could not be
    checked on fresh folds (not run: no time), and on the search's own folds its lead did not
    pass a one-sided test at the 5% level (a lead of 1.76 standard errors), so the default
    configuration was kept.
    """
    test = defaults.get("unconfirmed") or {}
    who = plain_candidate(defaults.get("without_fresh_check"))
    return (
        f"{who[:1].upper()}{who[1:]} beat LightGBM with its library defaults "
        f"({plain_candidate(defaults.get('chosen'))}) by {float(test.get('margin') or 0):.4f} "
        f"out of fold, one corrected standard error {float(test.get('standard_error') or 0):.4f}, "
        f"but could not be checked on fresh folds ({defaults.get('fresh_check_not_run')}), and "
        "on the search's own folds its lead did not pass a one-sided test at the "
        f"{float(test.get('alpha') or 0.05):.0%} level (a lead of "
        f"{float(test.get('bar') or 0):.2f} standard errors), so the default configuration "
        "was kept."
    )


def _fresh_bar(fresh: dict[str, Any]) -> str:
    """The fresh-fold check's bar in words, for a record that names it (older ones do not).

    Examples
    --------
    >>> _fresh_bar({"alpha": 0.05, "bar": 1.761})
    '; a one-sided test at the 5% level needs a lead of 1.76 standard errors'
    >>> _fresh_bar({})
    ''
    """
    if fresh.get("bar") is None or fresh.get("alpha") is None:
        return ""
    return (
        f"; a one-sided test at the {float(fresh['alpha']):.0%} level needs a lead of "
        f"{float(fresh['bar']):.2f} standard errors"
    )


def risks(
    info: dict[str, Any],
    assessment: dict[str, Any],
    checks: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    spec: dict[str, Any] | None = None,
) -> list[str]:
    """The main risks, most serious first, in plain words.

    With ``spec``, protected and special-category inputs and inputs that likely stand for a
    protected characteristic are risks too (:func:`input_risks`), with the recorded
    justification quoted when there is one.
    """
    out: list[str] = []
    for c in sorted(checks, key=lambda c: c.get("name") != "beats_baseline"):
        if c.get("passed") is False or (c.get("passed") is None and "status" not in c):
            out.append(f"Check '{c['name']}' failed: {plain_ids(str(c['evidence']))}")
    for t in assessment.get("fairness", {}).get("characteristics", []):
        if t.get("kind") == "single":
            out.extend(t.get("warnings", []))
    describe = _describe(spec)
    for p in assessment.get("proxies", []):
        if p.get("flagged"):
            name = plain_column(p["feature"], describe)
            label = f"'{name}' (column {p['feature']})" if name != p["feature"] else f"'{name}'"
            out.append(
                f"{label} predicts {p['characteristic']} (strength {p['strength']:.2f}); "
                "the model can treat groups differently through it even if the characteristic "
                "is not used."
            )
    if findings:
        cols = sorted({str(f.get("column")) for f in findings})
        out.append(f"Personal data was found in: {', '.join(cols)}.")
    for r in input_risks(info, spec) if spec is not None else []:
        why = r["justification"]
        out.append(
            r["risk"] + (f" Justification recorded: “{why}”" if why else " None is recorded.")
        )
    prec = _val(assessment, "precision")
    if info.get("task") == "binary" and prec is not None and prec < 0.9:
        out.append(
            f"About {100 - round(prec * 100)} in every 100 people flagged are flagged wrongly: "
            "a person must review each case before anything is decided."
        )
    na = [n["characteristic"] for n in not_assessed_rows(info, assessment) if not n["input"]]
    if na:
        out.append(
            "Not assessed for fairness (no data): "
            + ", ".join(c.replace("_", " ") for c in na)
            + "."
        )
    return out
