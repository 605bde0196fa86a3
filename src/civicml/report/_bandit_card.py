"""The model card of an adaptive trial (a bandit bundle), in markdown."""

from __future__ import annotations

from typing import Any

from civicml.report._approval_view import approval_lines
from civicml.report._model_card import _f, _pct

__all__ = ["bandit_model_card"]


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
