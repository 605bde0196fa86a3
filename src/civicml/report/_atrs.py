"""An Algorithmic Transparency Recording Standard (ATRS v3.0) record, pre-filled by civicml.

The schema is a set of pydantic models: Metadata, Tier 1 and Tier 2 sections 2.1 to 2.5.
Fields only a person can fill hold :data:`NEEDS_HUMAN` and are listed in
``record["_civicml"]["needs_human"]``. A record validates with ``complete=True`` only when no
mandatory field is empty; :func:`mark_complete` is the way to set it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from civicml._errors import GovernanceError

__all__ = [
    "NEEDS_HUMAN",
    "ATRSRecord",
    "atrs_json_schema",
    "build_atrs",
    "build_bandit_atrs",
    "mark_complete",
    "missing_fields",
]

#: The marker held by every field a person must complete.
NEEDS_HUMAN = "TO BE COMPLETED BY A PERSON"

#: Dotted paths that the standard does not require.
OPTIONAL = {
    "metadata.date_completion",
    "metadata.date_update",
    "metadata.date_archive",
    "tier1.website",
    "tier2.tool_specification.data_specification.source_url",
    "tier2.tool_specification.energy",
}
_SUPPLIER = (
    "supplier_name",
    "companies_house_number",
    "supplier_role",
    "procurement_procedure",
    "data_access_terms",
)

Text = str | None


class _S(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Metadata(_S):
    id: Text = None
    standard_version: str = "3.0"
    date_completion: Text = None
    date_update: list[str] = Field(default_factory=list)
    date_archive: Text = None
    organisation: Text = None
    function: Text = None
    phase: Literal["Pre-deployment", "Beta/Pilot", "Production", "Retired"] | str = "Pre-deployment"
    region: Text = None


class Tier1(_S):
    name: Text = None
    description: Text = None
    website: Text = None
    contact_email: Text = None


class OwnerAndResponsibility(_S):
    """2.1"""

    organisation: Text = None
    team: Text = None
    senior_responsible_owner: Text = None
    senior_responsible_owner_role: Text = None
    external_supplier: bool | str | None = None
    supplier_name: Text = None
    companies_house_number: Text = None
    supplier_role: Text = None
    procurement_procedure: Text = None
    data_access_terms: Text = None


class DescriptionAndRationale(_S):
    """2.2"""

    detailed_description: Text = None
    scope: Text = None
    benefit: Text = None
    previous_process: Text = None
    alternatives_considered: Text = None


class DecisionMakingProcess(_S):
    """2.3"""

    process_integration: Text = None
    information_provided: Text = None
    frequency_and_scale_of_usage: Text = None
    human_decisions_and_review: Text = None
    required_training: Text = None
    appeals_and_review: Text = None


class DatasetUse(_S):
    name: Text = None
    purpose: Text = None


class ModelSpecification(_S):
    name: Text = None
    version: Text = None
    task: Text = None
    input: Text = None
    output: Text = None
    architecture: Text = None
    performance: Text = None
    datasets: list[DatasetUse] = Field(default_factory=list)


class DataSpecification(_S):
    source_data_name: Text = None
    data_modality: Text = None
    data_description: Text = None
    data_quantities: Text = None
    sensitive_attributes: Text = None
    data_completeness_and_representativeness: Text = None
    source_url: Text = None
    data_collection: Text = None
    data_cleaning: Text = None
    data_sharing_agreements: Text = None
    data_access_and_storage: Text = None


class Energy(_S):
    """Sustainability: the measured energy and carbon of training and of predictions (civicml's
    addition to 2.4; optional, so records from older bundles stay valid)."""

    summary: Text = None
    training_energy_kwh: float | None = None
    training_emissions_g_co2e: float | None = None
    energy_per_1000_predictions_wh: float | None = None
    carbon_intensity_g_co2e_per_kwh: float | None = None
    country: Text = None
    method: Text = None


class ToolSpecification(_S):
    """2.4"""

    system_architecture: Text = None
    phase: Text = None
    maintenance: Text = None
    models: list[ModelSpecification] = Field(default_factory=list)
    data_specification: DataSpecification = Field(default_factory=DataSpecification)
    energy: Energy | None = None


class ImpactAssessment(_S):
    name: Text = None
    description: Text = None
    date: Text = None
    link: Text = None


class Risk(_S):
    risk: Text = None
    mitigation: Text = None


class RisksMitigationsAndImpactAssessments(_S):
    """2.5"""

    impact_assessments: list[ImpactAssessment] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)


class Tier2(_S):
    owner_and_responsibility: OwnerAndResponsibility = Field(default_factory=OwnerAndResponsibility)
    description_and_rationale: DescriptionAndRationale = Field(
        default_factory=DescriptionAndRationale
    )
    decision_making_process: DecisionMakingProcess = Field(default_factory=DecisionMakingProcess)
    tool_specification: ToolSpecification = Field(default_factory=ToolSpecification)
    risks_mitigations_and_impact_assessments: RisksMitigationsAndImpactAssessments = Field(
        default_factory=RisksMitigationsAndImpactAssessments
    )


class ATRSRecord(_S):
    """An ATRS v3.0 record. ``complete`` may be true only when no mandatory field is empty.

    Examples
    --------
    >>> r = ATRSRecord()
    >>> "tier1.name" in missing_fields(r)
    True
    >>> ATRSRecord(complete=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ATRSRecord...
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    metadata: Metadata = Field(default_factory=Metadata)
    tier1: Tier1 = Field(default_factory=Tier1)
    tier2: Tier2 = Field(default_factory=Tier2)
    complete: bool = False
    civicml: dict[str, Any] = Field(default_factory=dict, alias="_civicml")

    @model_validator(mode="after")
    def _complete_only_when_filled(self) -> ATRSRecord:
        if self.complete:
            missing = missing_fields(self)
            if missing:
                raise ValueError(
                    f"the record cannot be complete while mandatory fields are empty: {missing}"
                )
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The record as JSON-able data, with ``_civicml`` for civicml's notes."""
        return self.model_dump(mode="json", by_alias=True)


def _empty(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip() or v.strip().startswith(NEEDS_HUMAN)
    if isinstance(v, list):
        return len(v) == 0
    return False


def missing_fields(record: ATRSRecord) -> list[str]:
    """Dotted paths of mandatory fields that are empty or still hold :data:`NEEDS_HUMAN`."""
    doc = record.model_dump(mode="json", exclude={"civicml", "complete"})
    supplier = doc["tier2"]["owner_and_responsibility"].get("external_supplier")
    skip = set(OPTIONAL)
    if supplier is False or (isinstance(supplier, str) and supplier.lower() in ("no", "false")):
        skip |= {f"tier2.owner_and_responsibility.{f}" for f in _SUPPLIER}
    out: list[str] = []

    def walk(node: Any, path: str) -> None:
        if path in skip:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif _empty(node):
            out.append(path)

    walk(doc, "")
    return out


def mark_complete(record: ATRSRecord, *, date: str | None = None) -> ATRSRecord:
    """A copy of ``record`` marked complete (with today's completion date).

    Raises
    ------
    GovernanceError
        When any mandatory field is still empty or holds the "to be completed" marker.
    """
    missing = missing_fields(record)
    if missing:
        raise GovernanceError.build(
            "The ATRS record cannot be marked complete while mandatory fields are empty",
            expected="every mandatory field filled in",
            got=missing[:10],
            fix="Fill in the fields listed under _civicml.needs_human in atrs.json",
        )
    meta = record.metadata.model_copy(
        update={"date_completion": date or _dt.date.today().isoformat()}
    )
    return record.model_copy(update={"metadata": meta, "complete": True})


def atrs_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ATRSRecord` (for other tools to validate atrs.json)."""
    return ATRSRecord.model_json_schema(by_alias=True)


def _energy(doc: dict[str, Any] | None) -> Energy | None:
    """2.4's sustainability entry from lineage.json's ``energy`` (None when not measured)."""
    from civicml.energy import predict_sentence, training_sentence

    if not doc:
        return None
    per = (doc.get("predict") or {}).get("wh_per_1000")
    summary = " ".join(
        s
        for s in (
            training_sentence(doc),
            predict_sentence(per, doc.get("carbon_intensity_g_per_kwh")),
        )
        if s
    )
    return Energy(
        summary=summary or f"Not measured: {doc.get('reason') or 'unavailable'}.",
        training_energy_kwh=doc.get("energy_kwh"),
        training_emissions_g_co2e=doc.get("emissions_g"),
        energy_per_1000_predictions_wh=per,
        carbon_intensity_g_co2e_per_kwh=doc.get("carbon_intensity_g_per_kwh"),
        country=doc.get("country_iso_code"),
        method=doc.get("method"),
    )


def _impact_assessments(equality_note: str) -> list[ImpactAssessment]:
    """The DPIA and the Equality Impact Assessment, each for a person to summarise and link."""
    return [
        ImpactAssessment(
            name="Data Protection Impact Assessment (DPIA)",
            description=_h("summary of the DPIA"),
            date=_h("date"),
            link=_h("link"),
        ),
        ImpactAssessment(
            name="Equality Impact Assessment",
            description=_h(equality_note),
            date=_h("date"),
            link=_h("link"),
        ),
    ]


def _h(what: str) -> str:
    return f"{NEEDS_HUMAN}: {what}"


def build_atrs(
    *,
    spec: dict[str, Any],
    info: dict[str, Any],
    assessment: dict[str, Any],
    contract: dict[str, Any],
    lineage: dict[str, Any],
    leaderboard: dict[str, Any],
    findings: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    digest: str,
    registry_info: dict[str, Any] | None = None,
) -> ATRSRecord:
    """Pre-fill an ATRS record from the spec, registry, data contract and assessment."""
    from civicml.report._summary import plain_summary, risks

    reg = registry_info or {}
    owner = spec.get("owner") or {}
    name = spec.get("name") or info.get("name")
    version = str(reg.get("version") or digest[:12])
    phase = {"production": "Production", "staging": "Beta/Pilot", "archived": "Retired"}.get(
        str(reg.get("stage", "")).lower(), "Pre-deployment"
    )
    metrics = assessment.get("metrics", {})
    perf = "; ".join(
        f"{k} {v['value']:.3f}"
        + (f" (95% interval {v['ci'][0]:.3f}–{v['ci'][1]:.3f})" if v.get("ci") else "")
        for k, v in metrics.items()
        if v.get("value") is not None
    )
    data = lineage.get("data", {})
    protected = spec.get("protected") or {}
    sens = ", ".join(f"{k} (column '{v}')" for k, v in protected.items()) or "none declared"
    if findings:
        sens += "; personal data found in " + ", ".join(
            sorted({str(f.get("column")) for f in findings})
        )
    unsupervised = info.get("task") in ("clustering", "anomaly")  # fairness on training rows
    gaps = [
        f"{g['group']}: {g['n']} {'training' if unsupervised else 'test'} rows"
        for t in assessment.get("fairness", {}).get("characteristics", [])
        if t.get("kind") == "single"
        for g in t.get("groups", [])
    ]
    nulls = [
        f"{c['name']} {c['null_share']:.0%} missing"
        for c in contract.get("columns", [])
        if c.get("null_share")
    ]
    entries = leaderboard.get("entries", [])
    metric = info.get("metric")
    alts = "; ".join(
        f"{e['name']} ({metric} {e['cv_mean'].get(metric, float('nan')):.3f})"
        for e in entries
        if e.get("cv_mean")
    )
    out_of_scope = spec.get("out_of_scope_uses") or []
    threshold = info.get("threshold")
    risk_items = [
        Risk(risk=r, mitigation=_h("say how this risk is mitigated"))
        for r in risks(info, assessment, checks, findings)
    ]
    risk_items += [
        Risk(
            risk=f"Use outside its purpose: {u}",
            mitigation="Stated as out of scope in the model card and this record; "
            + _h("describe the controls that prevent it"),
        )
        for u in out_of_scope
    ]
    record = ATRSRecord(
        metadata=Metadata(
            id=f"{name}-{version}",
            organisation=owner.get("organisation") or _h("organisation"),
            function=_h("the function, e.g. benefits, policing"),
            phase=phase,
            region=_h("region, e.g. England, UK-wide"),
        ),
        tier1=Tier1(
            name=name,
            description=" ".join(
                x for x in (spec.get("description"), spec.get("intended_use")) if x
            )
            or _h("how the tool is used and why"),
            contact_email=owner.get("contact") or _h("a contact email"),
        ),
        tier2=Tier2(
            owner_and_responsibility=OwnerAndResponsibility(
                organisation=owner.get("organisation") or _h("organisation"),
                team=owner.get("team") or _h("team"),
                senior_responsible_owner=owner.get("senior_responsible_owner")
                or _h("senior responsible owner"),
                senior_responsible_owner_role=_h("the senior responsible owner's role"),
                external_supplier=_h("yes or no; if yes, the supplier's details"),
            ),
            description_and_rationale=DescriptionAndRationale(
                detailed_description=" ".join(plain_summary(info, assessment, spec))
                or _h("detailed description"),
                scope=(spec.get("intended_use") or _h("scope"))
                + (" Out of scope: " + "; ".join(out_of_scope) + "." if out_of_scope else ""),
                benefit=_h("the expected benefit"),
                previous_process=_h("how this was done before"),
                alternatives_considered=(
                    f"Model candidates compared by cross-validation: {alts}. " if alts else ""
                )
                + _h("non-algorithmic alternatives considered"),
            ),
            decision_making_process=DecisionMakingProcess(
                process_integration=_h("where the tool sits in the decision process"),
                information_provided=(
                    f"For each case: a score between 0 and 1, a flag when the score is at least "
                    f"{threshold:.2f}, and the three features that moved the score most."
                    if threshold is not None
                    else "For each case: the model's prediction and its main reasons."
                ),
                frequency_and_scale_of_usage=_h("how often and on how many cases"),
                human_decisions_and_review=_h("who reviews outputs and what they decide"),
                required_training=_h("training for the people who use the outputs"),
                appeals_and_review=_h("how people can appeal or ask for a review"),
            ),
            tool_specification=ToolSpecification(
                system_architecture=(
                    "A scikit-learn pipeline saved as a civicml bundle (sha256 "
                    f"{digest[:16]}…), served by civicml over the Open Inference Protocol v2 "
                    "with a prediction log and drift monitoring."
                ),
                phase=phase,
                maintenance=_h("who retrains and reviews the model, and how often"),
                energy=_energy(lineage.get("energy")),
                models=[
                    ModelSpecification(
                        name=str(info.get("candidate")),
                        version=version,
                        task=str(info.get("task")),
                        input=", ".join(info.get("features", [])),
                        output=(
                            f"Probability of '{info.get('target')}' being "
                            f"'{info.get('positive_label')}'"
                            if info.get("task") == "binary"
                            else f"Prediction of '{info.get('target')}'"
                        ),
                        architecture=str(info.get("candidate")),
                        performance=f"On {assessment.get('n_test')} held-out rows: {perf}."
                        if perf
                        else _h("performance"),
                        datasets=[
                            DatasetUse(
                                name=str(data.get("source")),
                                purpose=f"training ({info.get('n_train')} rows, "
                                "with cross-validation)",
                            ),
                            DatasetUse(
                                name=str(data.get("source")),
                                purpose=f"held-out testing ({info.get('n_test')} rows)",
                            ),
                        ],
                    )
                ],
                data_specification=DataSpecification(
                    source_data_name=str(data.get("source") or _h("source data name")),
                    data_modality="Tabular",
                    data_description=spec.get("description") or _h("data description"),
                    data_quantities=(
                        f"{data.get('rows')} rows and {data.get('columns')} columns; "
                        f"{info.get('n_train')} for training, {info.get('n_test')} for testing."
                    ),
                    sensitive_attributes=sens,
                    data_completeness_and_representativeness=(
                        (
                            "Missing values: " + ", ".join(nulls) + ". "
                            if nulls
                            else "No missing values. "
                        )
                        + ("Rows per group: " + "; ".join(gaps) + ". " if gaps else "")
                        + (
                            str(assessment["fairness"].get("rule", "")) + " "
                            if unsupervised and assessment.get("fairness", {}).get("rule")
                            else ""
                        )
                        + _h("how representative the data are of the people affected")
                    ),
                    data_collection=_h("how and why the data were collected"),
                    data_cleaning=(
                        "Rows with an empty target were left out; civicml inferred a data "
                        "contract and scanned for personal data. "
                        + _h("any cleaning before civicml")
                    ),
                    data_sharing_agreements=_h("data sharing agreements"),
                    data_access_and_storage=_h("who can access the data and where it is stored"),
                ),
            ),
            risks_mitigations_and_impact_assessments=RisksMitigationsAndImpactAssessments(
                impact_assessments=_impact_assessments(
                    "summary; civicml's fairness results are in the report"
                ),
                risks=risk_items or [Risk(risk=_h("risk"), mitigation=_h("mitigation"))],
            ),
        ),
    )
    record.civicml = {
        "generated_by": "civicml",
        "bundle_digest": digest,
        "marker": NEEDS_HUMAN,
        "needs_human": missing_fields(record),
    }
    return record


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
    exploration floor, the decision log and the off-policy evaluation.

    Examples
    --------
    >>> rep = {"name": "letters", "spec": {"arms": ["a", "b"], "context": ["x"],
    ...        "description": "Which letter works."}, "policy": {"policy": "linucb",
    ...        "min_propensity": 0.05}, "policy_version": 1, "decisions": 0, "rewarded": 0,
    ...        "arms": [], "ope": []}
    >>> rec = build_bandit_atrs(report=rep, checks=[], lineage={}, digest="ab" * 32)
    >>> rec.tier2.tool_specification.models[0].task
    'Contextual bandit (adaptive trial)'
    >>> "tier2.decision_making_process.human_decisions_and_review" in missing_fields(rec)
    True
    """
    reg = registry_info or {}
    spec = report.get("spec") or {}
    pol = report.get("policy") or {}
    name = str(report.get("name") or spec.get("name"))
    version = str(reg.get("version") or digest[:12])
    phase = {"production": "Production", "staging": "Beta/Pilot", "archived": "Retired"}.get(
        str(reg.get("stage", "")).lower(), "Pre-deployment"
    )
    arms = [str(a) for a in spec.get("arms", [])]
    context = [str(c) for c in spec.get("context", [])]
    floor = pol.get("min_propensity")
    owner_team = spec.get("owner") or ""
    log = lineage.get("log") or {}
    fair = report.get("fairness") or {}
    protected = [f["feature"] for f in fair.get("features", [])]
    flagged = ", ".join(f"{x['feature']}/{x['arm']}" for x in fair.get("flagged", []))
    perf = "; ".join(
        f"{a['arm']}: mean reward {a['mean_reward']:.3f} over {a['rewarded']} outcomes"
        + (
            f" (95% interval {a['interval'][0]:.3f}–{a['interval'][1]:.3f})"
            if a["interval"]
            else ""
        )
        for a in report.get("arms", [])
        if a.get("mean_reward") is not None
    )
    ope = "; ".join(
        f"candidate {o['candidate']['policy'].get('policy')}: {o['estimator'].upper()} "
        f"{o['candidate']['estimates'][o['estimator']]['value']:.3f} "
        f"(lower bound {o['candidate']['estimates'][o['estimator']]['lower']:.3f}) against "
        f"{o['current_value']:.3f} logged; {'may replace' if o['replace'] else 'keep current'}"
        for o in report.get("ope", [])
        if "candidate" in o
    )
    risks = [
        Risk(
            risk="An arm that works worse for some people keeps being sent while the trial learns.",
            mitigation=(
                f"The exploration floor ({floor:g} per arm) bounds how often each arm is tried; "
                if floor is not None
                else ""
            )
            + "outcomes are reviewed in this report. "
            + _h("stopping rules and who may stop the trial"),
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
            + _h("how a flagged difference is reviewed"),
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
            mitigation=_h("what will be done before promotion"),
        )
        for c in checks
        if not c.get("passed")
    ]
    source = str(log.get("file") or "the bandit store's decision log")
    record = ATRSRecord(
        metadata=Metadata(
            id=f"{name}-{version}",
            organisation=_h("organisation"),
            function=_h("the function, e.g. revenue collection"),
            phase=phase,
            region=_h("region, e.g. England, UK-wide"),
        ),
        tier1=Tier1(
            name=name,
            description=(
                f"{spec.get('description') or ''} An adaptive trial: each time, a policy chooses "
                f"one of {len(arms)} options ({', '.join(arms)}) and learns from the outcome."
            ).strip(),
            contact_email=_h("a contact email"),
        ),
        tier2=Tier2(
            owner_and_responsibility=OwnerAndResponsibility(
                organisation=_h("organisation"),
                team=owner_team or _h("team"),
                senior_responsible_owner=_h("senior responsible owner"),
                senior_responsible_owner_role=_h("the senior responsible owner's role"),
                external_supplier=_h("yes or no; if yes, the supplier's details"),
            ),
            description_and_rationale=DescriptionAndRationale(
                detailed_description=(
                    f"A contextual bandit ({pol.get('policy')}) chooses among {', '.join(arms)} "
                    f"using {', '.join(context) or 'no context'}. Every option keeps at least "
                    f"{floor} probability of being chosen, and each choice is logged with its "
                    f"probability. So far {report.get('decisions', 0)} decisions, "
                    f"{report.get('rewarded', 0)} with an outcome."
                ),
                scope=spec.get("description") or _h("scope"),
                benefit=_h("the expected benefit"),
                previous_process=_h("how this was done before (e.g. one option for everyone)"),
                alternatives_considered=(
                    "A fixed randomised trial with equal shares; a single option for everyone. "
                    + _h("other alternatives considered")
                ),
            ),
            decision_making_process=DecisionMakingProcess(
                process_integration=_h("where the choice sits in the process"),
                information_provided=(
                    "For each case: the option chosen, the probability it was chosen with, the "
                    "policy version and a decision id to report the outcome against."
                ),
                frequency_and_scale_of_usage=(
                    f"{report.get('decisions', 0)} decisions logged so far. "
                    + _h("how often and on how many cases")
                ),
                human_decisions_and_review=_h("who reviews outputs and what they decide"),
                required_training=_h("training for the people who use the outputs"),
                appeals_and_review=_h("how people can appeal or ask for a review"),
            ),
            tool_specification=ToolSpecification(
                system_architecture=(
                    f"A civicml bandit bundle (sha256 {digest[:16]}…) holding the spec, the "
                    "policy configuration, the report and checks; the policy is rebuilt from the "
                    "decision log and served at /bandits/{name}/choose and /reward."
                ),
                phase=phase,
                maintenance=_h("who reviews the trial and how often"),
                models=[
                    ModelSpecification(
                        name=str(pol.get("policy")),
                        version=f"{version} (policy version {report.get('policy_version')})",
                        task="Contextual bandit (adaptive trial)",
                        input=", ".join(context) or "no context",
                        output="The option to send, with the probability it was chosen",
                        architecture=(
                            f"{pol.get('policy')} (mabwiser) with an exploration floor of "
                            f"{floor} per arm; parameters {pol}"
                        ),
                        performance=(
                            (perf + ". " if perf else "No outcomes recorded yet. ")
                            + (f"Off-policy evaluation: {ope}." if ope else "")
                        ).strip(),
                        datasets=[
                            DatasetUse(
                                name=source,
                                purpose="the decision log the policy learns from and "
                                "off-policy evaluation reads",
                            )
                        ],
                    )
                ],
                data_specification=DataSpecification(
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
                    sensitive_attributes=", ".join(protected) or "none declared",
                    data_completeness_and_representativeness=(
                        f"{report.get('decisions', 0) - report.get('rewarded', 0)} decisions "
                        "await an outcome. " + _h("how representative the people in the trial are")
                    ),
                    data_collection=(
                        "Decisions are logged by the policy as they are made"
                        + (f", and imported from {log.get('file')}" if log else "")
                        + ". "
                        + _h("how and why the data were collected")
                    ),
                    data_cleaning=(
                        "Imported rows are checked: known arms, propensities in (0, 1], numeric "
                        "context, valid rewards. " + _h("any cleaning before civicml")
                    ),
                    data_sharing_agreements=_h("data sharing agreements"),
                    data_access_and_storage=_h("who can access the data and where it is stored"),
                ),
            ),
            risks_mitigations_and_impact_assessments=RisksMitigationsAndImpactAssessments(
                impact_assessments=_impact_assessments(
                    "summary; allocation by group is in the report"
                ),
                risks=risks,
            ),
        ),
    )
    record.civicml = {
        "generated_by": "civicml",
        "bundle_digest": digest,
        "marker": NEEDS_HUMAN,
        "needs_human": missing_fields(record),
    }
    return record
