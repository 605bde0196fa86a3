"""Pre-filling an ATRS v3.0 record for an adaptive trial (:func:`build_bandit_atrs`): its arms,
policy, off-policy evaluation and the risks of learning while it decides. The shared parts are
in :mod:`civicml.report._atrs_parts`.
"""

from __future__ import annotations

from typing import Any

from civicml.report._atrs_parts import (
    approval_risk,
    data_specification,
    decision_process,
    metadata_section,
    needs_person,
    owner_section,
    risks_section,
    signed,
    version_and_phase,
)
from civicml.report._atrs_schema import (
    ATRSRecord,
    DatasetUse,
    DataSpecification,
    DescriptionAndRationale,
    ModelSpecification,
    Risk,
    Tier1,
    Tier2,
    ToolSpecification,
)

__all__ = [
    "build_bandit_atrs",
]


def _arm_performance(report: dict[str, Any]) -> str:
    return "; ".join(
        f"{a['arm']}: mean reward {a['mean_reward']:.3f} over {a['rewarded']} outcomes"
        + (
            f" (95% interval {a['interval'][0]:.3f}–{a['interval'][1]:.3f})"
            if a["interval"]
            else ""
        )
        for a in report.get("arms", [])
        if a.get("mean_reward") is not None
    )


def _ope_text(report: dict[str, Any]) -> str:
    return "; ".join(
        f"candidate {o['candidate']['policy'].get('policy')}: {o['estimator'].upper()} "
        f"{o['candidate']['estimates'][o['estimator']]['value']:.3f} "
        f"(lower bound {o['candidate']['estimates'][o['estimator']]['lower']:.3f}) against "
        f"{o['current_value']:.3f} logged; {'may replace' if o['replace'] else 'keep current'}"
        for o in report.get("ope", [])
        if "candidate" in o
    )


def _protected_context(report: dict[str, Any]) -> list[str]:
    return [f["feature"] for f in (report.get("fairness") or {}).get("features", [])]


def _bandit_risks(report: dict[str, Any], checks: list[dict[str, Any]]) -> list[Risk]:
    floor = (report.get("policy") or {}).get("min_propensity")
    fair = report.get("fairness") or {}
    protected = _protected_context(report)
    flagged = ", ".join(f"{x['feature']}/{x['arm']}" for x in fair.get("flagged", []))
    risks = [
        Risk(
            risk="An arm that works worse for some people keeps being sent while the trial learns.",
            mitigation=(
                f"The exploration floor ({floor:g} per arm) bounds how often each arm is tried; "
                if floor is not None
                else ""
            )
            + "outcomes are reviewed in this report. "
            + needs_person("stopping rules and who may stop the trial"),
        ),
        Risk(
            risk="Groups of people are sent different arms at very different rates.",
            mitigation=(
                f"Allocation by {', '.join(protected)} is reported with the rule: {fair['rule']} "
                f"Flagged (feature/arm): {flagged or 'none'}. "
                if protected
                else "No protected context features were named, so allocation by group is not "
                "reported. "
            )
            + needs_person("how a flagged difference is reviewed"),
        ),
        Risk(
            risk="A new policy is judged on too little or badly logged data.",
            mitigation="Off-policy evaluation (IPS, SNIPS, doubly robust) with bootstrap intervals "
            "on decisions the candidate did not learn from; a candidate replaces the policy only "
            "when its lower bound beats the logged value.",
        ),
    ]
    risks += [
        Risk(
            risk=f"Promotion check failed: {c['name']}: {c['evidence']}",
            mitigation=needs_person("what will be done before promotion"),
        )
        for c in checks
        if not c.get("passed")
    ]
    return risks


def _bandit_rationale(report: dict[str, Any]) -> DescriptionAndRationale:
    """2.2 for a trial: the policy, the arms, the context and the decisions so far."""
    spec = report.get("spec") or {}
    pol = report.get("policy") or {}
    arms = [str(a) for a in spec.get("arms", [])]
    context = [str(c) for c in spec.get("context", [])]
    return DescriptionAndRationale(
        detailed_description=(
            f"A contextual bandit ({pol.get('policy')}) chooses among {', '.join(arms)} "
            f"using {', '.join(context) or 'no context'}. Every option keeps at least "
            f"{pol.get('min_propensity')} probability of being chosen, and each choice is logged "
            f"with its probability. So far {report.get('decisions', 0)} decisions, "
            f"{report.get('rewarded', 0)} with an outcome."
        ),
        scope=spec.get("description") or needs_person("scope"),
        benefit=needs_person("the expected benefit"),
        previous_process=needs_person("how this was done before (e.g. one option for everyone)"),
        alternatives_considered=(
            "A fixed randomised trial with equal shares; a single option for everyone. "
            + needs_person("other alternatives considered")
        ),
    )


def _bandit_model(report: dict[str, Any], version: str, source: str) -> ModelSpecification:
    spec = report.get("spec") or {}
    pol = report.get("policy") or {}
    context = [str(c) for c in spec.get("context", [])]
    perf, ope = _arm_performance(report), _ope_text(report)
    return ModelSpecification(
        name=str(pol.get("policy")),
        version=f"{version} (policy version {report.get('policy_version')})",
        task="Contextual bandit (adaptive trial)",
        input=", ".join(context) or "no context",
        output="The option to send, with the probability it was chosen",
        architecture=(
            f"{pol.get('policy')} (mabwiser) with an exploration floor of "
            f"{pol.get('min_propensity')} per arm; parameters {pol}"
        ),
        performance=(
            (perf + ". " if perf else "No outcomes recorded yet. ")
            + (f"Off-policy evaluation: {ope}." if ope else "")
        ).strip(),
        datasets=[
            DatasetUse(
                name=source,
                purpose="the decision log the policy learns from and off-policy evaluation reads",
            )
        ],
    )


def _bandit_data(report: dict[str, Any], log: dict[str, Any], source: str) -> DataSpecification:
    spec = report.get("spec") or {}
    context = [str(c) for c in spec.get("context", [])]
    return data_specification(
        source_data_name=source,
        data_modality="Tabular (logged decisions)",
        data_description=(
            f"One row per decision: context ({', '.join(context) or 'none'}), the "
            "arm chosen, its propensity and the outcome "
            f"('{spec.get('reward', 'reward')}')."
        ),
        data_quantities=(
            f"{report.get('decisions', 0)} decisions, {report.get('rewarded', 0)} "
            "with an outcome"
            + (f"; {log.get('rows')} rows in {log.get('file')}" if log else "")
            + "."
        ),
        sensitive_attributes=", ".join(_protected_context(report)) or "none declared",
        data_completeness_and_representativeness=(
            f"{report.get('decisions', 0) - report.get('rewarded', 0)} decisions "
            "await an outcome. " + needs_person("how representative the people in the trial are")
        ),
        data_collection=(
            "Decisions are logged by the policy as they are made"
            + (f", and imported from {log.get('file')}" if log else "")
            + ". "
            + needs_person("how and why the data were collected")
        ),
        data_cleaning=(
            "Imported rows are checked: known arms, propensities in (0, 1], numeric "
            "context, valid rewards. " + needs_person("any cleaning before civicml")
        ),
    )


def _bandit_tool_specification(
    report: dict[str, Any], lineage: dict[str, Any], digest: str, version: str, phase: str
) -> ToolSpecification:
    """2.4 for a trial: the bundle, the policy and the decision log it learns from."""
    log = lineage.get("log") or {}
    source = str(log.get("file") or "the bandit store's decision log")
    return ToolSpecification(
        system_architecture=(
            f"A civicml bandit bundle (sha256 {digest[:16]}…) holding the spec, the "
            "policy configuration, the report and checks; the policy is rebuilt from the "
            "decision log and served at /bandits/{name}/choose and /reward."
        ),
        phase=phase,
        maintenance=needs_person("who reviews the trial and how often"),
        models=[_bandit_model(report, version, source)],
        data_specification=_bandit_data(report, log, source),
    )


def build_bandit_atrs(
    *,
    report: dict[str, Any],
    checks: list[dict[str, Any]],
    lineage: dict[str, Any],
    digest: str,
    registry_info: dict[str, Any] | None = None,
) -> ATRSRecord:
    """Pre-fill an ATRS record for an adaptive trial (a contextual bandit's bundle).

    ``report`` is the bundle's ``report.json`` (see :func:`civicml.bandits.bandit_report`, with
    ``fairness`` and ``ope`` as ``civicml run`` writes them). The field names are those of
    :func:`build_atrs`; what they say describes the trial: the arms, the context, the
    exploration floor, the decision log and the off-policy evaluation; the approval is added as
    for :func:`build_atrs` (:func:`record_approval`).

    Examples
    --------
    >>> rep = {"name": "letters", "spec": {"arms": ["a", "b"], "context": ["x"],
    ...        "description": "Which letter works."}, "policy": {"policy": "linucb",
    ...        "min_propensity": 0.05}, "policy_version": 1, "decisions": 0, "rewarded": 0,
    ...        "arms": [], "ope": []}
    >>> rec = build_bandit_atrs(report=rep, checks=[], lineage={}, digest="ab" * 32)
    >>> rec.tier2.tool_specification.models[0].task
    'Contextual bandit (adaptive trial)'
    >>> from civicml.report import missing_fields
    >>> "tier2.decision_making_process.human_decisions_and_review" in missing_fields(rec)
    True
    """
    version, phase = version_and_phase(registry_info, digest)
    spec = report.get("spec") or {}
    name = str(report.get("name") or spec.get("name"))
    arms = [str(a) for a in spec.get("arms", [])]
    record = ATRSRecord(
        metadata=metadata_section(
            f"{name}-{version}",
            phase,
            organisation=needs_person("organisation"),
            function="the function, e.g. revenue collection",
        ),
        tier1=Tier1(
            name=name,
            description=(
                f"{spec.get('description') or ''} An adaptive trial: each time, a policy chooses "
                f"one of {len(arms)} options ({', '.join(arms)}) and learns from the outcome."
            ).strip(),
            contact_email=needs_person("a contact email"),
        ),
        tier2=Tier2(
            owner_and_responsibility=owner_section(
                organisation=needs_person("organisation"),
                team=spec.get("owner") or needs_person("team"),
                senior_responsible_owner=needs_person("senior responsible owner"),
            ),
            description_and_rationale=_bandit_rationale(report),
            decision_making_process=decision_process(
                process_integration=needs_person("where the choice sits in the process"),
                information_provided=(
                    "For each case: the option chosen, the probability it was chosen with, the "
                    "policy version and a decision id to report the outcome against."
                ),
                frequency_and_scale_of_usage=(
                    f"{report.get('decisions', 0)} decisions logged so far. "
                    + needs_person("how often and on how many cases")
                ),
            ),
            tool_specification=_bandit_tool_specification(report, lineage, digest, version, phase),
            risks_mitigations_and_impact_assessments=risks_section(
                "summary; allocation by group is in the report",
                [*_bandit_risks(report, checks), approval_risk(None)],
            ),
        ),
    )
    return signed(record, digest)
