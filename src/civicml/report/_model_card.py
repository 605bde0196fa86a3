"""The model card, in markdown."""

from __future__ import annotations

from typing import Any

__all__ = ["energy_lines", "model_card"]


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
    for t in a.get("fairness", {}).get("characteristics", []):
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
    lines.append("")
    return "\n".join(lines)


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
