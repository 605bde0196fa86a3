"""The model card, in markdown."""

from __future__ import annotations

from typing import Any

__all__ = [
    "NOT_IN_REGISTRY",
    "approval_lines",
    "approval_view",
    "bandit_model_card",
    "energy_lines",
    "model_card",
]

#: what every report, model card and ATRS record says when no approval record was given
NOT_IN_REGISTRY = "Not yet approved in a registry."
#: the steps of an approval record (civicml.registry.approval_record), in order, with labels
APPROVAL_STEPS = (
    ("registered", "Registered"),
    ("requested", "Approval requested"),
    ("checks_overridden", "Failing checks overridden"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
)
#: the ways a server verifies an identity (``token:NAME`` is matched by its prefix)
_SERVER_VIA = ("oidc", "token:")


def _pct(v: Any) -> str:
    return "–" if v is None else f"{v:.0%}"


def model_card(ctx: dict[str, Any]) -> str:
    """Markdown model card from the report context (see ``write_report``).

    Examples
    --------
    >>> ctx = {"info": {"name": "m", "task": "binary", "target": "y", "candidate": "linear"},
    ...        "spec": {}, "assessment": {}, "summary": ["Hello."], "risks": [], "checks": [],
    ...        "lineage": {}, "digest": "abc"}
    >>> model_card(ctx).splitlines()[0]
    '# Model card: m'
    """
    info, spec, a = ctx["info"], ctx["spec"], ctx["assessment"]
    lines = [f"# Model card: {info.get('name')}", ""]
    lines += ["## Summary", "", *[f"{p}" for p in ctx["summary"]], ""]
    lines += [
        "## Model details",
        "",
        f"- Task: {info.get('task')}; target `{info.get('target')}`"
        + (
            f", positive class `{info.get('positive_label')}`" if info.get("positive_label") else ""
        ),
        f"- Model: {info.get('candidate')}; bundle sha256 `{ctx['digest']}`",
        f"- Decision threshold: {info['threshold']:.3f}"
        if info.get("threshold") is not None
        else "- Decision threshold: not applicable",
        f"- Trained on {info.get('n_train')} rows; tested on {info.get('n_test')} held-out rows",
        f"- Created {ctx['lineage'].get('created_at', 'unknown')}",
        "",
        "## Intended use",
        "",
        spec.get("intended_use") or "Not stated in civicml.yaml.",
        "",
        "## Out-of-scope uses",
        "",
        *([f"- {u}" for u in spec.get("out_of_scope_uses", [])] or ["- None stated."]),
        "",
        "## Test performance (95% bootstrap intervals)",
        "",
        "| metric | value | 95% interval |",
        "|---|---|---|",
    ]
    for k, v in a.get("metrics", {}).items():
        ci = v.get("ci")
        ci_txt = f"{ci[0]:.3f} – {ci[1]:.3f}" if ci and None not in ci else "–"
        val = "–" if v.get("value") is None else f"{v['value']:.3f}"
        lines.append(f"| {k} | {val} | {ci_txt} |")
    lines += ["", "## Fairness", ""]
    unsupervised = info.get("task") in ("clustering", "anomaly")
    if unsupervised:
        lines += unsupervised_fairness_lines(a)
    for t in [] if unsupervised else a.get("fairness", {}).get("characteristics", []):
        if t.get("kind") != "single":
            continue
        lines += [f"### By {t['name']} (column `{t.get('column')}`)", ""]
        if "selection_rate" in (t["groups"][0] if t["groups"] else {}):
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
            lines += [
                "",
                f"Demographic parity difference {_f(dpd)}, ratio {_f(dpr)}; equalised odds "
                f"difference {_f(eod)}. (A ratio under 0.8 fails the US four-fifths rule, a "
                "heuristic that is not a test in UK law.)",
                "",
            ]
        else:
            metric = t.get("metric", "error")
            lines += [f"| group | n | {metric} |", "|---|---|---|"]
            lines += [f"| {g['group']} | {g['n']} | {_f(g.get(metric))} |" for g in t["groups"]]
            lines.append("")
    na = a.get("fairness", {}).get("not_assessed", [])
    if na:
        lines += [
            "Not assessed: "
            + "; ".join(f"{n['characteristic'].replace('_', ' ')} ({n['reason']})" for n in na)
            + ".",
            "",
        ]
    lines += ["## Most important features", ""]
    for r in a.get("importance", {}).get("features", [])[:10]:
        lines.append(f"- {r['feature']}: {r['importance']:.4f}")
    lines += energy_lines(ctx.get("energy"), ctx.get("traded"))
    lines += ["", "## Risks and limitations", ""]
    lines += [f"- {r}" for r in ctx["risks"]] or ["- None identified automatically."]
    lines += ["", "## Promotion checks", ""]
    for c in ctx["checks"]:
        lines.append(f"- {'PASS' if c['passed'] else 'FAIL'} `{c['name']}`: {c['evidence']}")
    if not ctx["checks"]:
        lines.append("- No checks recorded in the bundle.")
    lines += approval_lines(ctx.get("approval"))
    lines.append("")
    return "\n".join(lines)


def _when(iso: Any) -> str:
    """'6 December 2026' from an ISO 8601 time (the text unchanged when it is not one)."""
    import datetime as _dt

    if not iso:
        return "unknown date"
    try:
        t = _dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return f"{t.day} {t:%B %Y}"


def _checked(step: dict[str, Any], mode: Any) -> str:
    """How far the name in one approval step was checked, in a few words."""
    via = str(step.get("via") or "not recorded")
    if step.get("verified") is True and via.startswith(_SERVER_VIA):
        if via.startswith("token:"):
            return f"verified by civicml server (API token {via[len('token:') :]})"
        return "verified by civicml server (signed in)"
    origin = {
        "os-login": "computer login",
        "api": "name given to civicml's Python API",
    }.get(via, "name not checked")
    where = ", embedded mode" if mode == "embedded" else ""
    return f"not verified by a server ({origin}{where})"


def approval_view(approval: dict[str, Any] | None) -> dict[str, Any]:
    """What the report, model card and ATRS record show of an approval record.

    ``approval`` is :func:`civicml.registry.approval_record`'s dict (the caller builds it: the
    report package does not read the registry). A name is shown as verified only when its step
    says a server verified it through sign-in or an API token.

    Examples
    --------
    >>> approval_view(None)["sentence"]
    'Not yet approved in a registry.'
    >>> view = approval_view({"ref": "m/2", "mode": "embedded", "status": "approved",
    ...     "sentence": "Approved by alice on 6 December 2026.", "approved": {
    ...     "by": "alice", "at": "2026-12-06T10:00:00Z", "verified": True, "via": "os-login"}})
    >>> view["rows"][0]["checked"]
    'not verified by a server (computer login, embedded mode)'
    >>> view["approved"], view["verified"]
    (True, False)
    """
    if not approval:
        return {
            "given": False,
            "sentence": NOT_IN_REGISTRY,
            "rows": [],
            "approved": False,
            "verified": False,
            "ref": None,
            "mode": None,
        }
    mode = approval.get("mode")
    rows = [
        {
            "step": label,
            "by": str(step.get("by")),
            "date": _when(step.get("at")),
            "reason": step.get("reason") or "",
            "checked": _checked(step, mode),
            "verified": _checked(step, mode).startswith("verified"),
        }
        for key, label in APPROVAL_STEPS
        if isinstance(step := approval.get(key), dict)
    ]
    approved = approval.get("status") == "approved" and isinstance(approval.get("approved"), dict)
    return {
        "given": True,
        "sentence": str(approval.get("sentence") or "Not approved yet."),
        "rows": rows,
        "approved": approved,
        "verified": approved and any(r["verified"] for r in rows if r["step"] == "Approved"),
        "ref": approval.get("ref"),
        "mode": mode,
    }


def approval_lines(approval: dict[str, Any] | None) -> list[str]:
    """The model card's "Approval" section from an approval record (or None).

    >>> approval_lines(None)[:4]
    ['', '## Approval', '', 'Not yet approved in a registry.']
    """
    view = approval_view(approval)
    lines = ["", "## Approval", "", view["sentence"]]
    if not view["given"]:
        return lines
    mode = "civicml server" if view["mode"] == "server" else "embedded mode (one computer)"
    lines += ["", f"Registry version `{view['ref']}`, {mode}.", ""]
    lines += ["| step | by | date | identity |", "|---|---|---|---|"]
    lines += [f"| {r['step']} | {r['by']} | {r['date']} | {r['checked']} |" for r in view["rows"]]
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


def bandit_model_card(ctx: dict[str, Any]) -> str:
    """Markdown model card for an adaptive trial (a bandit bundle's report context).

    ``ctx`` holds ``report`` (the bundle's report.json), ``checks``, ``summary`` (paragraphs)
    and ``digest``.

    Examples
    --------
    >>> rep = {"name": "letters", "spec": {"arms": ["a", "b"], "context": ["x"]},
    ...        "policy": {"policy": "linucb", "min_propensity": 0.05}, "policy_version": 1,
    ...        "decisions": 0, "rewarded": 0, "arms": [], "ope": [], "policy_history": []}
    >>> card = bandit_model_card({"report": rep, "checks": [], "summary": ["Hi."], "digest": "a"})
    >>> card.splitlines()[0]
    '# Model card: letters (adaptive trial)'
    """
    rep = ctx["report"]
    spec, pol = rep.get("spec", {}), rep.get("policy", {})
    lines = [f"# Model card: {rep.get('name')} (adaptive trial)", ""]
    lines += ["## Summary", "", *[x for p in ctx["summary"] for x in (p, "")]]
    lines += [
        "## Trial details",
        "",
        f"- Arms: {', '.join(spec.get('arms', []))}",
        f"- Context features: {', '.join(spec.get('context', [])) or 'none'}",
        f"- Policy: {pol.get('policy')} (version {rep.get('policy_version')}); "
        f"exploration floor {pol.get('min_propensity')} per arm",
        f"- Reward: `{spec.get('reward', 'reward')}` ({spec.get('reward_type', 'binary')})",
        f"- Decisions: {rep.get('decisions')}, of which {rep.get('rewarded')} have an outcome",
        f"- Bundle sha256 `{ctx['digest']}`",
        "",
        "## Arms (95% intervals)",
        "",
        "| arm | pulls | outcomes | mean reward | 95% interval | mean propensity | min propensity |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in rep.get("arms", []):
        ci = a.get("interval")
        lines.append(
            f"| {a['arm']} | {a['pulls']} | {a['rewarded']} | {_f(a.get('mean_reward'))} | "
            + (f"{ci[0]:.3f} – {ci[1]:.3f}" if ci else "–")
            + f" | {_f(a.get('mean_propensity'))} | {_f(a.get('min_propensity'))} |"
        )
    lines += ["", "## Off-policy evaluation", ""]
    for o in rep.get("ope", []):
        est = o["candidate"]["estimates"][o["estimator"]]
        lines.append(
            f"- Candidate {o['candidate']['policy'].get('policy')}: {o['estimator'].upper()} "
            f"{est['value']:.3f} ({est['lower']:.3f} – {est['upper']:.3f}); {o['reason']}"
        )
    for o in rep.get("ope_skipped", []):
        lines.append(f"- Candidate {o['policy'].get('policy')}: not evaluated: {o['reason']}")
    if not rep.get("ope") and not rep.get("ope_skipped"):
        lines.append("- No candidate policies were listed.")
    fair = rep.get("fairness") or {}
    lines += ["", "## Allocation by group", ""]
    if fair.get("features"):
        lines += [fair["rule"], ""]
        for f in fair["features"]:
            arms = [a["arm"] for a in f["arms"]]
            lines += [f"### By {f['feature']}", ""]
            lines += ["| group | n | mean reward | " + " | ".join(arms) + " |"]
            lines += ["|---|---|---|" + "---|" * len(arms)]
            for g in f["groups"]:
                shares = " | ".join(_pct(g["allocation"][a]) for a in arms)
                lines.append(f"| {g['group']} | {g['n']} | {_f(g['mean_reward'])} | {shares} |")
            lines += ["", f"Flagged arms: {', '.join(f['flagged']) or 'none'}.", ""]
    else:
        lines.append("No protected context features were named ('protected' in the spec).")
    lines += ["", "## Promotion checks", ""]
    for c in ctx["checks"]:
        lines.append(f"- {'PASS' if c['passed'] else 'FAIL'} `{c['name']}`: {c['evidence']}")
    if not ctx["checks"]:
        lines.append("- No checks recorded in the bundle.")
    lines += approval_lines(ctx.get("approval"))
    lines.append("")
    return "\n".join(lines)


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
