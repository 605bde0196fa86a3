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
from civicml.bandits._store import BanditStore

__all__ = ["bandit_report", "bandit_report_html"]

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
