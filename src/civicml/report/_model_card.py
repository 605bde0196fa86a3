"""The model card, in markdown."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from civicml.report._approval_view import approval_lines

__all__ = [
    "CARD_SECTIONS",
    "dataset_card_links",
    "energy_lines",
    "front_matter",
    "model_card",
    "split_front_matter",
]


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.0%}"


#: the sections every supervised model card has, in order (Mitchell et al., "Model Cards for
#: Model Reporting", 2019), then civicml's own
CARD_SECTIONS = (
    "Model details",
    "Intended use",
    "Out-of-scope uses",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
    "Most important features",
    "Energy and carbon",
    "Promotion checks",
    "Approval",
)
#: what the card says of a fact the spec and bundle do not give
NOT_RECORDED = "not recorded"
#: the task names model hubs use, by civicml task
_HUB_TASK = {
    "binary": "tabular-classification",
    "multiclass": "tabular-classification",
    "regression": "tabular-regression",
    "clustering": "tabular-clustering",
    "anomaly": "tabular-anomaly-detection",
}
#: why each kind of metric is reported, in plain words
_WHY_METRIC = {
    "roc_auc": "how well the scores rank people who are 'yes' above those who are 'no', "
    "whatever the threshold",
    "pr_auc": "precision and recall together, which matters when 'yes' is rare",
    "average_precision": "precision and recall together, which matters when 'yes' is rare",
    "precision": "of the people flagged, the share who really are 'yes' (false alarms)",
    "recall": "of the people who really are 'yes', the share the model finds (missed cases)",
    "f1": "precision and recall in one number",
    "accuracy": "the share of all decisions that are right",
    "balanced_accuracy": "accuracy with every class counted equally",
    "brier": "how close the predicted probabilities are to what happened",
    "log_loss": "how close the predicted probabilities are to what happened",
    "rmse": "the typical size of an error, with big errors weighing more",
    "mae": "the typical size of an error, in the target's own units",
    "r2": "the share of the target's variation the model explains",
}


#: the endings of a source path that ``civicml run`` profiles (a folder has none)
_PROFILED = (".csv", ".csv.gz", ".tsv", ".txt", ".parquet")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a source name, as the spec checks it


def dataset_card_links(spec: Mapping[str, Any]) -> list[dict[str, str]]:
    """The dataset card and profile ``civicml run`` writes for each file source of ``spec``
    (a bundle's ``spec.json``), as links relative to the report folder: ``data/<source>/``.

    A SQL source, or a file of a format the profile does not read (Excel, JSON lines), has
    none, and so has a name that is not a SQL name (the spec allows no other, so a link can
    never leave ``data/``). Each entry holds ``source``, ``card`` and ``profile``.

    Examples
    --------
    >>> dataset_card_links({"data": {"path": "data/claims.csv"}})
    [{'source': 'data', 'card': 'data/data/dataset_card.md', 'profile': 'data/data/profile.html'}]
    >>> dataset_card_links({"sources": {"people": {"path": "p.parquet"},
    ...                                 "notes": {"path": "n.xlsx", "format": "excel"},
    ...                                 "q": {"sql": "SELECT 1"}}})[0]["card"]
    'data/people/dataset_card.md'
    >>> dataset_card_links({"sources": {"../x": {"path": "x.csv"}}})  # not a source name
    []
    """
    sources = spec.get("sources") or ({"data": spec["data"]} if spec.get("data") else {})
    out = []
    for name, source in dict(sources).items():
        source = source if isinstance(source, Mapping) else {}
        path = str(source.get("path") or "")
        fmt = str(source.get("format") or "auto")
        tail = path.rsplit("/", 1)[-1].lower()
        if not path or fmt not in ("auto", "csv", "parquet") or not _NAME.fullmatch(str(name)):
            continue
        if "." in tail and not tail.endswith(_PROFILED):
            continue
        folder = f"data/{name}"
        out.append(
            {
                "source": str(name),
                "card": f"{folder}/dataset_card.md",
                "profile": f"{folder}/profile.html",
            }
        )
    return out


def _card_link_lines(spec: Mapping[str, Any]) -> list[str]:
    links = dataset_card_links(spec)
    if not links:
        return ["- Dataset card: none (no file source civicml can profile)"]
    return [
        f"- Dataset card of `{' '.join(x['source'].split())}`: [{x['card']}]({x['card']}) "
        f"(exploratory analysis: [{x['profile']}]({x['profile']}))"
        for x in links
    ]


def model_card(ctx: dict[str, Any]) -> str:
    """Markdown model card from the report context (see ``write_report``).

    It opens with a YAML metadata header (between ``---`` lines, as model hubs read it: model
    name, licence, language, tags, data sets and each test metric with its value) and has every
    section of Mitchell et al. (2019): model details, intended use, factors, metrics, evaluation
    data, training data, quantitative analyses, ethical considerations, caveats and
    recommendations. A fact the spec does not give reads "not recorded".

    Examples
    --------
    >>> ctx = {"info": {"name": "m", "task": "binary", "target": "y", "candidate": "linear"},
    ...        "spec": {}, "assessment": {}, "summary": ["Hello."], "risks": [], "checks": [],
    ...        "lineage": {}, "digest": "abc"}
    >>> meta, body = split_front_matter(model_card(ctx))
    >>> meta["model_name"], meta["license"], body.splitlines()[0]
    ('m', 'other', '# Model card: m')
    """
    info = ctx["info"]
    lines = [front_matter(ctx), f"# Model card: {info.get('name')}", ""]
    lines += ["## Summary", "", *[x for p in ctx["summary"] for x in (str(p), "")]]
    lines += _details_lines(ctx) + _use_lines(ctx) + _factors_lines(ctx)
    lines += _metrics_lines(ctx) + _data_lines(ctx) + _quantitative_lines(ctx)
    lines += _ethics_lines(ctx) + _caveats_lines(ctx)
    lines += ["## Most important features", ""]
    for r in ctx["assessment"].get("importance", {}).get("features", [])[:10]:
        lines.append(f"- {r['feature']}: {r['importance']:.4f}")
    lines += energy_lines(ctx.get("energy"), ctx.get("traded"))
    lines += ["", "## Promotion checks", ""]
    for c in ctx["checks"]:
        lines.append(f"- {_result(c)} `{c['name']}`: {c['evidence']}")
    if not ctx["checks"]:
        lines.append("- No checks recorded in the bundle.")
    lines += approval_lines(ctx.get("approval"))
    lines.append("")
    return "\n".join(lines)


def _result(check: dict[str, Any]) -> str:
    passed = check.get("passed")
    return "PASS" if passed is True else "FAIL" if passed is False else "NOT CHECKED"


def _num(v: Any) -> Any:
    """A metric value for the YAML header: a float rounded to 4 places, else None."""
    return round(float(v), 4) if isinstance(v, int | float) else None


def front_matter(ctx: dict[str, Any]) -> str:
    """The model card's YAML metadata header, ``---`` lines included.

    Keys as model hubs read them: ``model_name``, ``license`` ("other" unless the spec gives
    ``license``), ``language``, ``tags``, ``library_name``, ``datasets``, ``metrics`` (their
    names) and ``model-index`` (each test metric's value and 95% interval).
    """
    import yaml

    info, spec, a = ctx["info"], ctx["spec"], ctx["assessment"]
    task = str(info.get("task") or "unknown")
    source = (ctx["lineage"].get("data") or {}).get("source")
    metrics = [
        {
            "type": name,
            "name": name.replace("_", " "),
            "value": _num(m.get("value")),
            **(
                {"ci_95": [_num(m["ci"][0]), _num(m["ci"][1])]}
                if m.get("ci") and None not in m["ci"]
                else {}
            ),
        }
        for name, m in a.get("metrics", {}).items()
        if isinstance(m, dict)
    ]
    meta = {
        "model_name": str(info.get("name")),
        "license": str(spec.get("license") or "other"),
        "license_name": str(spec.get("license") or NOT_RECORDED),
        "language": ["en"],
        "library_name": "civicml",
        "tags": ["civicml", "tabular", task, _HUB_TASK.get(task, "tabular"), "model-card"],
        "pipeline_tag": _HUB_TASK.get(task, "tabular"),
        "datasets": [str(source)] if source else [],
        "metrics": [m["type"] for m in metrics],
        "model-index": [
            {
                "name": str(info.get("name")),
                "results": [
                    {
                        "task": {"type": _HUB_TASK.get(task, task)},
                        "dataset": {
                            "name": "held-out test rows",
                            "type": str(source or NOT_RECORDED),
                            "split": "test",
                        },
                        "metrics": metrics,
                    }
                ],
            }
        ],
        "bundle_sha256": str(ctx.get("digest") or ""),
    }
    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{text}---\n"


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """A markdown file's YAML header (``{}`` if none) and the markdown after it.

    >>> split_front_matter("---\\na: 1\\n---\\n# Title\\n")
    ({'a': 1}, '# Title\\n')
    >>> split_front_matter("# No header\\n")
    ({}, '# No header\\n')
    """
    import yaml

    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return {}, text
    meta = yaml.safe_load(text[4:end]) or {}
    return (meta if isinstance(meta, dict) else {}), text[end + 5 :].lstrip("\n")


def _owner(spec: dict[str, Any]) -> tuple[str, str]:
    owner = spec.get("owner") or {}
    who = ", ".join(
        str(owner[k]) for k in ("organisation", "team", "senior_responsible_owner") if owner.get(k)
    )
    return who or NOT_RECORDED, str(owner.get("contact") or NOT_RECORDED)


def _details_lines(ctx: dict[str, Any]) -> list[str]:
    info, spec = ctx["info"], ctx["spec"]
    who, contact = _owner(spec)
    reg = ctx.get("registry_info") or {}
    version = f"{reg['name']} version {reg['version']}" if reg.get("version") else NOT_RECORDED
    return [
        "## Model details",
        "",
        f"- Owner: {who}",
        f"- Contact: {contact}",
        f"- Description: {spec.get('description') or NOT_RECORDED}",
        f"- Task: {info.get('task')}; target `{info.get('target')}`"
        + (
            f", positive class `{info.get('positive_label')}`" if info.get("positive_label") else ""
        ),
        f"- Model: {info.get('candidate')}; bundle sha256 `{ctx['digest']}`",
        f"- Registry version: {version}",
        f"- Decision threshold: {info['threshold']:.3f}"
        if info.get("threshold") is not None
        else "- Decision threshold: not applicable",
        f"- Trained on {info.get('n_train')} rows; tested on {info.get('n_test')} held-out rows",
        f"- Created {ctx['lineage'].get('created_at', 'unknown')} with civicml",
        f"- Licence: {spec.get('license') or NOT_RECORDED}",
        *_selection_lines(ctx),
        "",
    ]


def _selection_lines(ctx: dict[str, Any]) -> list[str]:
    """Why this candidate: the test against the runner-up, and an ensemble's members.

    >>> ctx = {"info": {"candidate": "ensemble"}, "board_raw": {
    ...     "comparison": {"better": "ensemble", "other": "lightgbm", "p_value": 0.091},
    ...     "entries": [{"name": "ensemble", "params": {"members": {"lightgbm": 0.6,
    ...     "linear": 0.4}}}]}}
    >>> for line in _selection_lines(ctx):
    ...     print(line)
    - How it was chosen: The chosen model, ensemble, is not reliably better than the runner-up, LightGBM (corrected t-test over the cross-validation folds, p = 0.091): prefer the simpler of the two if that matters.
    - The ensemble averages LightGBM (weight 0.60) and linear model (weight 0.40).
    """
    from civicml.report._summary import selection_lines

    board = ctx.get("board_raw") or {}
    selection = dict(board.get("selection_json") or {})
    if ctx.get("traded") and not selection.get("selection"):
        selection["selection"] = {"given_up": {"text": ctx["traded"]}}
    out = []
    for line in selection_lines(ctx["info"], board, selection):
        if line.startswith("What selection traded: ") or " averages " in line:
            out.append(f"- {line}")
        else:
            out.append(f"- How it was chosen: {line}")
    return out


def _use_lines(ctx: dict[str, Any]) -> list[str]:
    spec = ctx["spec"]
    users = spec.get("intended_users") or spec.get("users")
    return [
        "## Intended use",
        "",
        spec.get("intended_use") or "Not stated in civicml.yaml.",
        "",
        f"Intended users: {users or NOT_RECORDED + ' (the owner above answers for its use)'}.",
        "",
        "## Out-of-scope uses",
        "",
        *([f"- {u}" for u in spec.get("out_of_scope_uses", [])] or ["- None stated."]),
        "",
    ]


def _factors_lines(ctx: dict[str, Any]) -> list[str]:
    spec, a = ctx["spec"], ctx["assessment"]
    protected = spec.get("protected") or {}
    lines = ["## Factors", ""]
    lines.append(
        "Groups the model was evaluated across (protected characteristics, Equality Act 2010): "
        + (
            "; ".join(f"{k.replace('_', ' ')} (column `{v}`)" for k, v in protected.items())
            if protected
            else "none named under 'protected' in civicml.yaml"
        )
        + "."
    )
    na = a.get("fairness", {}).get("not_assessed", [])
    if na:
        lines += [
            "",
            "Not assessed: "
            + "; ".join(f"{n['characteristic'].replace('_', ' ')} ({n['reason']})" for n in na)
            + ".",
        ]
    feats = ctx["info"].get("features") or []
    if feats:
        lines += ["", "Inputs the model uses: " + ", ".join(f"`{f}`" for f in feats) + "."]
    return lines + [""]


def _metrics_lines(ctx: dict[str, Any]) -> list[str]:
    info, a = ctx["info"], ctx["assessment"]
    chosen = info.get("metric")
    lines = ["## Metrics", ""]
    if chosen:
        lines.append(
            f"Candidates were compared by `{chosen}` "
            f"({_WHY_METRIC.get(chosen, 'the metric set in civicml.yaml')}), cross-validated "
            "on the training rows."
        )
        lines.append("")
    for name in a.get("metrics", {}):
        if name in _WHY_METRIC:
            lines.append(f"- `{name}`: {_WHY_METRIC[name]}.")
    th = ctx.get("threshold") or {}
    if th.get("rule"):
        lines.append(
            f"- Decision threshold chosen by {th['rule']}, counting a false alarm as costing "
            f"{th.get('cost_false_positive')} and a missed case {th.get('cost_false_negative')}."
        )
    lines += [
        "",
        "Every interval is a 95% interval: bootstrap intervals on the test rows, and mean ± 1.96 "
        "standard deviations across cross-validation folds. Fairness is measured by selection "
        "rate, precision, recall and error rates per group, because a gap in any of them means "
        "one group is flagged, missed or wrongly flagged more often than another.",
        "",
    ]
    return lines


def _data_lines(ctx: dict[str, Any]) -> list[str]:
    info, spec, lineage = ctx["info"], ctx["spec"], ctx["lineage"]
    data = lineage.get("data") or {}
    licence = spec.get("data_license") or (spec.get("data") or {}).get("license")
    return [
        "## Evaluation data",
        "",
        f"{info.get('n_test')} rows held out at random before any model was fitted "
        f"(test share {spec.get('test_size', 0.2)}), never used to choose or tune the model.",
        "",
        "## Training data",
        "",
        f"- Source: {data.get('source') or NOT_RECORDED}",
        f"- Licence: {licence or NOT_RECORDED}",
        f"- Size: {data.get('rows', '?')} rows, {data.get('columns', '?')} columns; "
        f"{info.get('n_train')} rows used for training",
        f"- Description: {spec.get('description') or NOT_RECORDED}",
        *_card_link_lines(spec),
        "",
    ]


def _quantitative_lines(ctx: dict[str, Any]) -> list[str]:
    a = ctx["assessment"]
    lines = [
        "## Quantitative analyses",
        "",
        "### Test performance (95% bootstrap intervals)",
        "",
        "| metric | value | 95% interval |",
        "|---|---|---|",
    ]
    for k, v in a.get("metrics", {}).items():
        ci = v.get("ci")
        ci_txt = f"{ci[0]:.3f} – {ci[1]:.3f}" if ci and None not in ci else "–"
        val = "–" if v.get("value") is None else f"{v['value']:.3f}"
        lines.append(f"| {k} | {val} | {ci_txt} |")
    lines += ["", "### Fairness", ""]
    if ctx["info"].get("task") in ("clustering", "anomaly"):
        return lines + unsupervised_fairness_lines(a)
    chars = a.get("fairness", {}).get("characteristics", [])
    for t in chars:
        if t.get("kind") == "single":
            lines += _fairness_table(t)
    lines += ["### Intersections", ""]
    inter = [t for t in chars if t.get("kind") == "intersection"]
    if not inter:
        lines += ["No combination of characteristics was assessed.", ""]
    else:
        lines += ["| combination | group | n | selection rate | recall |", "|---|---|---|---|---|"]
        for t in inter:
            for g in t.get("groups", []):
                flag = " (small)" if g.get("small") else ""
                lines.append(
                    f"| {t['name']} | {g['group']}{flag} | {g['n']} | "
                    f"{_pct(g.get('selection_rate'))} | {_pct(g.get('recall'))} |"
                )
        lines.append("")
    return lines


def _fairness_table(t: dict[str, Any]) -> list[str]:
    lines = [f"#### By {t['name']} (column `{t.get('column')}`)", ""]
    if "selection_rate" not in (t["groups"][0] if t["groups"] else {}):
        metric = t.get("metric", "error")
        lines += [f"| group | n | {metric} |", "|---|---|---|"]
        lines += [f"| {g['group']} | {g['n']} | {_f(g.get(metric))} |" for g in t["groups"]]
        return lines + [""]
    lines += [
        "| group | n | selection rate | precision | recall | FPR | FNR |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in t["groups"]:
        flag = " (small)" if g["small"] else ""
        lines.append(
            f"| {g['group']}{flag} | {g['n']} | {_pct(g['selection_rate'])} | "
            f"{_pct(g['precision'])} | {_pct(g['recall'])} | {_pct(g['fpr'])} | "
            f"{_pct(g['fnr'])} |"
        )
    dpd, dpr = t.get("demographic_parity_difference"), t.get("demographic_parity_ratio")
    eod = t.get("equalized_odds_difference")
    return lines + [
        "",
        f"Demographic parity difference {_f(dpd)}, ratio {_f(dpr)}; equalised odds "
        f"difference {_f(eod)}. (A ratio under 0.8 fails the US four-fifths rule, a "
        "heuristic that is not a test in UK law.)",
        "",
    ]


def _ethics_lines(ctx: dict[str, Any]) -> list[str]:
    spec, a = ctx["spec"], ctx["assessment"]
    feats = set(ctx["info"].get("features") or [])
    used = sorted(
        f"{k.replace('_', ' ')} (`{v}`)"
        for k, v in (spec.get("protected") or {}).items()
        if v in feats
    )
    lines = ["## Ethical considerations", ""]
    lines.append(
        "- Protected characteristics used directly as inputs: "
        + (", ".join(used) + "; each needs a recorded justification" if used else "none")
        + "."
    )
    findings = ctx.get("findings") or []
    cols = sorted({str(f.get("column")) for f in findings})
    lines.append(
        "- Personal data found in the training table: "
        + (", ".join(cols) if cols else "none")
        + "."
    )
    flagged = [p for p in a.get("proxies", []) if p.get("flagged")]
    lines.append(
        "- Inputs that may stand for a protected characteristic: "
        + (
            "; ".join(f"`{p['feature']}` for {p['characteristic']}" for p in flagged)
            if flagged
            else "none found"
        )
        + "."
    )
    lines += [
        "- The model informs people's decisions about people: a person must review each case "
        "before anything is decided, and people affected should be told how to challenge it.",
        "",
    ]
    return lines


def _caveats_lines(ctx: dict[str, Any]) -> list[str]:
    lines = ["## Caveats and recommendations", ""]
    lines += [f"- {r}" for r in ctx["risks"]] or ["- No risks were found automatically."]
    failed = [c["name"] for c in ctx["checks"] if c.get("passed") is False]
    if failed:
        lines.append(f"- Do not use it until these checks pass: {', '.join(failed)}.")
    lines += [
        "- Monitor the inputs and outcomes once it is in use, and retrain or withdraw it when "
        "they drift.",
        "- Use it only for the intended use above, never for the out-of-scope uses.",
        "",
    ]
    return lines


def energy_lines(energy: dict[str, Any] | None, traded: str | None = None) -> list[str]:
    """The model card's "Energy and carbon" section (empty when nothing was recorded).

    >>> energy_lines({"sentence": "Training used about 1 kWh.", "energy_kwh": 1.0,
    ...               "emissions_g": 238.0, "method": "RAPL", "predict": {}})[3]
    'Training used about 1 kWh.'
    """
    if not energy:
        return ["", "## Energy and carbon", "", "Not measured for this bundle."]
    p = energy.get("predict") or {}
    per = (
        f"{_g(p['wh_per_1000'])} Wh ({_g(p.get('g_per_1000'))} g CO₂e)"
        if p.get("wh_per_1000") is not None
        else f"not measured ({p.get('reason', 'unavailable')})"
    )
    out = ["", "## Energy and carbon", "", str(energy.get("sentence"))]
    if energy.get("predict_sentence"):
        out += ["", str(energy["predict_sentence"])]
    out += [
        "",
        "| measure | value |",
        "|---|---|",
        f"| training energy (search, refit, assessment) | {_g(energy.get('energy_kwh'))} kWh |",
        f"| training emissions | {_g(energy.get('emissions_g'))} g CO₂e |",
        f"| carbon intensity | {_g(energy.get('carbon_intensity_g_per_kwh'))} g CO₂e/kWh "
        f"({energy.get('country_iso_code', 'GBR')}) |",
        f"| energy per 1,000 predictions | {per} |",
        f"| method | {energy.get('method')} |",
    ]
    if traded:
        out += ["", f"Selection: {traded}"]
    return out


def _g(v: Any) -> str:
    return "–" if v is None else f"{v:.3g}"


def _f(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


def unsupervised_fairness_lines(a: dict[str, Any]) -> list[str]:
    """The model card's fairness tables for a clustering or anomaly assessment.

    Examples
    --------
    >>> a = {"task": "anomaly", "fairness": {"overall_rate": 0.1, "rule": "Rule.",
    ...      "characteristics": [{"name": "sex", "column": "sex", "kind": "single",
    ...      "warnings": [], "groups": [{"group": "f", "n": 40, "small": False,
    ...      "flag_rate": 0.2, "ratio": 2.0, "p_value": 0.01, "flag": "above"}]}]}}
    >>> unsupervised_fairness_lines(a)[6]
    '| f | 40 | 20.0% | 2.00 | 0.01 | above |'
    """
    fair = a.get("fairness") or {}
    lines = [str(fair["rule"]), ""] if fair.get("rule") else []
    for t in fair.get("characteristics", []):
        if t.get("kind") != "single":
            continue
        lines += [f"### By {t['name']} (column `{t.get('column')}`)", ""]
        if a.get("task") == "clustering":
            groups = [g["group"] for g in t.get("groups", [])]
            lines += ["| cluster | n | " + " | ".join(groups) + " |"]
            lines += ["|---|---|" + "---|" * len(groups)]
            for cl in t.get("clusters", []):
                cells = " | ".join(
                    _pct(c["share"]) + (f" ({c['flag']})" if c.get("flag") else "")
                    for c in cl["cells"]
                )
                lines.append(f"| {cl['name']} | {cl['n']} | {cells} |")
            overall = " | ".join(_pct(g["share"]) for g in t.get("groups", []))
            lines.append(f"| all rows | {sum(g['n'] for g in t.get('groups', []))} | {overall} |")
        else:
            lines += [
                "| group | n | flag rate | ratio to overall | binomial p | flag |",
                "|---|---|---|---|---|---|",
            ]
            for g in t.get("groups", []):
                flag = "small" if g.get("small") else (g.get("flag") or "within")
                p = g.get("p_value")
                lines.append(
                    f"| {g['group']} | {g['n']} | {g['flag_rate']:.1%} | {_f2(g.get('ratio'))} | "
                    f"{'–' if p is None else f'{p:.3g}'} | {flag} |"
                )
        lines += [""] + [f"- {w}" for w in t.get("warnings", [])] + [""]
    if not fair.get("characteristics"):
        lines += ["No protected characteristic was assessed.", ""]
    return lines


def _f2(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}"
