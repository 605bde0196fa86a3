"""The bandit's report section: arms, pulls, mean reward with intervals, propensities, OPE.

:func:`bandit_report` returns plain data (JSON-ready); :func:`bandit_report_html` renders it as
a self-contained HTML fragment (GOV.UK table classes) that the report module can include.

Examples
--------
>>> from civicml.bandits._spec import BanditSpec
>>> from civicml.bandits._store import open_bandit_store
>>> store = open_bandit_store("sqlite://")
>>> _ = store.create_bandit(BanditSpec(name="demo", arms=["a", "b"]))
>>> rep = bandit_report(store, "demo")
>>> [a["pulls"] for a in rep["arms"]]
[0, 0]
>>> "<table" in bandit_report_html(rep)
True
>>> store.close()
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from civicml.bandits._ope import GateResult, OPEResult
from civicml.bandits._records import LoggedDecision
from civicml.bandits._store import BanditStore

__all__ = ["allocation_fairness", "bandit_report", "bandit_report_html", "bandit_summary"]

#: Allocation-fairness thresholds: groups smaller than this are reported but not compared,
#: and an arm is flagged when two groups' shares of it differ by more than this.
MIN_GROUP_SIZE = 30
MAX_ALLOCATION_DIFFERENCE = 0.10
_MAX_GROUPS = 20

_Z95 = 1.959963984540054


def _interval(n: int, total: float, total_sq: float, binary: bool) -> tuple[float, float] | None:
    if n == 0:
        return None
    mean = total / n
    if binary:  # Wilson score interval
        z2 = _Z95**2
        centre = (mean + z2 / (2 * n)) / (1 + z2 / n)
        half = _Z95 * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)
    if n < 2:
        return None
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1))
    half = _Z95 * math.sqrt(var / n)
    return mean - half, mean + half


def bandit_report(
    store: BanditStore,
    name: str,
    *,
    ope: Sequence[OPEResult | GateResult] = (),
) -> dict[str, Any]:
    """The report section's data for bandit ``name``.

    Parameters
    ----------
    store : BanditStore
    name : str
    ope : sequence of OPEResult or GateResult
        Off-policy evaluations to include (e.g. from :func:`evaluate_candidate`).

    Returns
    -------
    dict
        ``name``, ``spec``, ``policy_version``, ``policy``, ``policy_history``, ``decisions``,
        ``rewarded``, ``arms`` (pulls, rewarded, mean reward and its 95% interval, mean and
        minimum logged propensity) and ``ope``.
    """
    record = store.get_bandit(name)
    spec = record.spec
    binary = spec.get("reward_type", "binary") == "binary"
    stats = store.arm_stats(name)
    arms = []
    for arm in spec["arms"]:
        s = stats.get(arm)
        n = s["rewarded"] if s else 0
        ci = _interval(n, s["reward_sum"], s["reward_sq"], binary) if s else None
        arms.append(
            {
                "arm": arm,
                "pulls": s["pulls"] if s else 0,
                "rewarded": n,
                "mean_reward": (s["reward_sum"] / n) if s and n else None,
                "interval": list(ci) if ci else None,
                "mean_propensity": s["mean_propensity"] if s else None,
                "min_propensity": s["min_propensity"] if s else None,
            }
        )
    return {
        "kind": "bandit",
        "name": name,
        "spec": spec,
        "policy_version": record.policy_version,
        "policy": record.policy_config,
        "policy_history": store.policy_history(name),
        "decisions": sum(a["pulls"] for a in arms),
        "rewarded": sum(a["rewarded"] for a in arms),
        "arms": arms,
        "ope": [r.as_dict() for r in ope],
    }


def allocation_fairness(
    decisions: Sequence[LoggedDecision],
    arms: Sequence[str],
    protected: Sequence[str],
    *,
    max_difference: float = MAX_ALLOCATION_DIFFERENCE,
    min_group_size: int = MIN_GROUP_SIZE,
) -> dict[str, Any]:
    """Who was sent which arm: each arm's share of decisions and the mean reward, per group.

    For each protected context feature, the decisions are grouped by its value. An arm is
    flagged when, among groups with at least ``min_group_size`` decisions, its allocation
    shares differ by more than ``max_difference`` between two groups.

    Examples
    --------
    >>> from civicml.bandits._records import LoggedDecision
    >>> def d(i, g, arm, r):
    ...     return LoggedDecision(str(i), "b", "", 1, {"g": g}, arm, 0.5, r)
    >>> log = [d(0, 0.0, "a", 1.0), d(1, 0.0, "a", 0.0), d(2, 0.0, "b", 1.0),
    ...        d(3, 1.0, "b", 0.0), d(4, 1.0, "b", None)]
    >>> out = allocation_fairness(log, ["a", "b"], ["g"], min_group_size=2)
    >>> [(g["group"], g["n"], g["allocation"]["a"], g["mean_reward"])
    ...  for g in out["features"][0]["groups"]]
    [('0', 3, 0.6666666666666666, 0.6666666666666666), ('1', 2, 0.0, 0.0)]
    >>> out["features"][0]["flagged"]
    ['a', 'b']
    """
    rule = (
        f"An arm is flagged for a feature when, among groups with at least {min_group_size} "
        f"decisions, the share of decisions given that arm differs by more than "
        f"{max_difference * 100:g} percentage points between two groups."
    )
    features: list[dict[str, Any]] = []
    for feature in protected:
        groups: dict[float, list[LoggedDecision]] = {}
        for dec in decisions:
            value = dec.context.get(feature)
            if value is not None:
                groups.setdefault(float(value), []).append(dec)
        if len(groups) > _MAX_GROUPS:
            features.append(
                {
                    "feature": feature,
                    "groups": [],
                    "arms": [],
                    "flagged": [],
                    "note": f"not assessed: {len(groups)} distinct values (at most {_MAX_GROUPS})",
                }
            )
            continue
        rows: list[dict[str, Any]] = []
        for value in sorted(groups):
            members = groups[value]
            rewards = [m.reward for m in members if m.reward is not None]
            rows.append(
                {
                    "group": f"{value:g}",
                    "n": len(members),
                    "rewarded": len(rewards),
                    "mean_reward": (sum(rewards) / len(rewards)) if rewards else None,
                    "allocation": {
                        a: sum(1 for m in members if m.arm == a) / len(members) for a in arms
                    },
                    "small": len(members) < min_group_size,
                }
            )
        compared = [g for g in rows if not g["small"]]
        arm_rows = []
        for a in arms:
            shares = [g["allocation"][a] for g in compared]
            diff = (max(shares) - min(shares)) if len(shares) >= 2 else None
            arm_rows.append(
                {
                    "arm": a,
                    "difference": diff,
                    "flagged": diff is not None and diff > max_difference + 1e-12,
                }
            )
        features.append(
            {
                "feature": feature,
                "groups": rows,
                "arms": arm_rows,
                "flagged": [r["arm"] for r in arm_rows if r["flagged"]],
                "note": ""
                if len(compared) >= 2
                else "fewer than two groups large enough to compare",
            }
        )
    return {
        "rule": rule,
        "max_difference": max_difference,
        "min_group_size": min_group_size,
        "features": features,
        "flagged": [{"feature": f["feature"], "arm": a} for f in features for a in f["flagged"]],
    }


def bandit_summary(report: dict[str, Any], checks: Sequence[dict[str, Any]]) -> list[str]:
    """Plain-English paragraphs for a Senior Responsible Owner: what the trial is, what it has
    found, what the candidate policies would do, whether it may be promoted, who got what.

    Examples
    --------
    >>> rep = {"spec": {"arms": ["a", "b"], "context": [], "description": ""},
    ...        "policy": {"policy": "thompson", "min_propensity": 0.05},
    ...        "decisions": 0, "rewarded": 0, "arms": [], "ope": []}
    >>> bandit_summary(rep, [])[1]
    'No outcomes have been recorded yet, so nothing can be said about which option works best.'
    """
    spec, pol = report.get("spec", {}), report.get("policy", {})
    arms = list(spec.get("arms", []))
    floor = pol.get("min_propensity") or 0.0
    ctx = spec.get("context") or []
    what = (spec.get("description") or "").strip()
    out = [
        (f"{what} " if what else "")
        + f"This adaptive trial tries {len(arms)} options ({', '.join(arms)}). Each time, the "
        f"{pol.get('policy')} policy picks one"
        + (f" using {', '.join(ctx)}" if ctx else "")
        + f", and every option keeps at least a {floor:.0%} chance of being chosen, so the trial "
        "keeps learning about all of them and past decisions can be used to test new policies."
    ]
    seen = [a for a in report.get("arms", []) if a.get("mean_reward") is not None]
    if not report.get("rewarded") or not seen:
        out.append(
            "No outcomes have been recorded yet, so nothing can be said about which option "
            "works best."
        )
    else:
        best = max(seen, key=lambda a: a["mean_reward"])
        worst = min(seen, key=lambda a: a["mean_reward"])

        def _arm(a: dict[str, Any]) -> str:
            ci = a.get("interval")
            span = f", 95% interval {ci[0]:.3f} to {ci[1]:.3f}" if ci else ""
            return f"'{a['arm']}' ({a['mean_reward']:.3f}{span})"

        text = (
            f"So far {report['decisions']} decisions have been made and {report['rewarded']} "
            f"have an outcome. The highest average outcome is for {_arm(best)}, the lowest for "
            f"{_arm(worst)}."
        )
        bi, wi = best.get("interval"), worst.get("interval")
        if best is not worst and bi and wi and bi[0] <= wi[1]:
            text += " Their intervals overlap, so the difference may be chance."
        out.append(text)
    for o in report.get("ope", []):
        c = o["candidate"]
        est = c["estimates"][o["estimator"]]
        verdict = "it may replace the current policy" if o["replace"] else "keep the current policy"
        out.append(
            f"A candidate policy ({c['policy'].get('policy')}) was tested on {o['n_eval']} past "
            f"decisions it had not learned from: its estimated average outcome is "
            f"{est['value']:.3f} (95% interval {est['lower']:.3f} to {est['upper']:.3f}) against "
            f"{o['current_value']:.3f} for the decisions as made. Recommendation: {verdict}."
        )
    for o in report.get("ope_skipped", []):
        out.append(
            f"The candidate policy {o['policy'].get('policy')} could not be tested: {o['reason']}"
        )
    failed = [c for c in checks if not c.get("passed")]
    if failed:
        out.append(
            f"{len(failed)} of {len(checks)} promotion checks fail ("
            + "; ".join(c["evidence"] for c in failed)
            + "). Do not promote this version until they pass."
        )
    elif checks:
        out.append(f"All {len(checks)} promotion checks pass.")
    fair = report.get("fairness") or {}
    if fair.get("features"):
        names = ", ".join(f["feature"] for f in fair["features"])
        flags = fair.get("flagged", [])
        out.append(
            f"Allocation was compared by {names}: "
            + (
                "; ".join(
                    f"'{x['arm']}' is sent at very different rates by {x['feature']}" for x in flags
                )
                + ". Review whether the difference follows the outcomes and is justified."
                if flags
                else "no group was sent an option at a very different rate from another."
            )
        )
    return out


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def bandit_report_html(report: dict[str, Any]) -> str:
    """Render :func:`bandit_report`'s data as an HTML fragment (escaped, no scripts)."""
    e = html.escape
    pol = report["policy"]
    out = [
        '<section class="civicml-bandit">',
        f'<h2 class="govuk-heading-m">Adaptive trial: {e(report["name"])}</h2>',
        '<p class="govuk-body">'
        f"Policy <strong>{e(str(pol.get('policy')))}</strong> (version {report['policy_version']}), "
        f"exploration floor {_fmt(pol.get('min_propensity'))} per arm; "
        f"{report['decisions']} decisions, {report['rewarded']} with a reward.</p>",
        '<table class="govuk-table"><caption class="govuk-table__caption">Arms</caption>',
        '<thead class="govuk-table__head"><tr class="govuk-table__row">'
        + "".join(
            f'<th scope="col" class="govuk-table__header">{h}</th>'
            for h in (
                "Arm",
                "Pulls",
                "Rewarded",
                "Mean reward",
                "95% interval",
                "Mean propensity",
                "Min propensity",
            )
        )
        + '</tr></thead><tbody class="govuk-table__body">',
    ]
    for a in report["arms"]:
        ci = a["interval"]
        cells = [
            e(a["arm"]),
            str(a["pulls"]),
            str(a["rewarded"]),
            _fmt(a["mean_reward"]),
            f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "–",
            _fmt(a["mean_propensity"]),
            _fmt(a["min_propensity"]),
        ]
        out.append(
            '<tr class="govuk-table__row">'
            + "".join(f'<td class="govuk-table__cell">{c}</td>' for c in cells)
            + "</tr>"
        )
    out.append("</tbody></table>")
    for item in report.get("ope", []):
        res = item.get("candidate", item)
        cfg = res.get("policy", {})
        out.append(
            '<table class="govuk-table"><caption class="govuk-table__caption">'
            f"Off-policy evaluation of {e(str(cfg.get('policy', 'a candidate policy')))} "
            f"({res['n']} logged decisions, effective sample size "
            f"{res['effective_sample_size']:.0f})</caption>"
            '<thead class="govuk-table__head"><tr class="govuk-table__row">'
            '<th scope="col" class="govuk-table__header">Estimator</th>'
            '<th scope="col" class="govuk-table__header">Value</th>'
            '<th scope="col" class="govuk-table__header">95% interval</th></tr></thead>'
            '<tbody class="govuk-table__body">'
        )
        for est in [*res["estimates"].values(), res["logged"]]:
            out.append(
                '<tr class="govuk-table__row">'
                f'<td class="govuk-table__cell">{e(est["estimator"].upper())}</td>'
                f'<td class="govuk-table__cell">{est["value"]:.4f}</td>'
                f'<td class="govuk-table__cell">{est["lower"]:.4f} to {est["upper"]:.4f}</td></tr>'
            )
        out.append("</tbody></table>")
        if "replace" in item:
            verdict = (
                "may replace the current policy" if item["replace"] else "keep the current policy"
            )
            out.append(
                f'<p class="govuk-body"><strong>Gate:</strong> {e(verdict)}. {e(item["reason"])}</p>'
            )
    out.append("</section>")
    return "\n".join(out)
