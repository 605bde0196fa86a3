"""A bandit as a bundle, so it registers, is approved and is audited like any model.

The bundle holds no fitted object: the policy is its configuration plus the decision log it is
rebuilt from, so the bundle carries the spec, the serving policy version and configuration, the
report (arms, pulls, mean rewards with intervals, propensities, policy history) and checks that
gate promotion (every arm above the exploration floor; no arm starved of pulls).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.bandits._report import bandit_report, bandit_report_html
from civicml.bandits._store import BanditStore

if TYPE_CHECKING:
    from civicml.bundle import Bundle

__all__ = ["bandit_checks", "save_bandit_bundle"]

MIN_PULLS_PER_ARM = 30


def bandit_checks(report: dict[str, Any], min_propensity: float) -> list[dict[str, Any]]:
    """Promotion checks for a bandit, each pass/fail with its evidence.

    Examples
    --------
    >>> rep = {"arms": [{"arm": "a", "pulls": 40, "mean_propensity": 0.4},
    ...                 {"arm": "b", "pulls": 3, "mean_propensity": 0.04}]}
    >>> [c["passed"] for c in bandit_checks(rep, 0.05)]
    [False, False]
    """
    arms = report.get("arms", [])
    starved = [a["arm"] for a in arms if (a.get("pulls") or 0) < MIN_PULLS_PER_ARM]
    below = [
        a["arm"]
        for a in arms
        if a.get("mean_propensity") is not None and a["mean_propensity"] < min_propensity - 1e-9
    ]
    return [
        {
            "name": "every_arm_explored",
            "passed": not starved,
            "evidence": (
                f"every arm has at least {MIN_PULLS_PER_ARM} pulls"
                if not starved
                else f"arms with fewer than {MIN_PULLS_PER_ARM} pulls: {starved}"
            ),
            "value": float(len(starved)),
            "limit": 0.0,
        },
        {
            "name": "exploration_floor",
            "passed": not below,
            "evidence": (
                f"every arm's mean propensity is at least the floor {min_propensity:g}"
                if not below
                else f"arms below the floor {min_propensity:g}: {below}"
            ),
            "value": float(len(below)),
            "limit": 0.0,
        },
    ]


def save_bandit_bundle(
    store: BanditStore,
    name: str,
    dest: str | Path,
    *,
    overwrite: bool = False,
    report: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
) -> Bundle:
    """Write the bandit ``name`` as a verified bundle at ``dest`` and return it.

    Parameters
    ----------
    report : dict, optional
        The report section's data (default :func:`bandit_report` of the store, without OPE);
        ``civicml run`` passes one with its OPE results and allocation fairness.
    lineage : dict, optional
        Where the run's data came from (written as ``lineage.json``).
    """
    from civicml.bundle import save_bundle

    record = store.get_bandit(name)
    spec = store.spec(name)
    report = report if report is not None else bandit_report(store, name)
    owner = {"team": spec.owner} if spec.owner else {}
    documents: dict[str, Any] = {
        "model_info.json": {
            "name": name,
            "task": "bandit",
            "arms": list(spec.arms),
            "features": list(spec.context),
            "policy": record.policy_config,
            "policy_version": record.policy_version,
        },
        "bandit.json": record.spec,
        "spec.json": {"name": name, "description": spec.description, "owner": owner},
        "report.json": report,
        "checks.json": {"checks": bandit_checks(report, spec.min_propensity)},
    }
    if lineage is not None:
        documents["lineage.json"] = lineage
    return save_bundle(
        dest,
        documents=documents,
        files={"report.html": bandit_report_html(report).encode("utf-8")},
        overwrite=overwrite,
    )
