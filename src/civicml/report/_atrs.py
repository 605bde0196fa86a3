"""Pre-filling an ATRS v3.0 record: for a model (:func:`build_atrs`) and for an adaptive trial
(:func:`build_bandit_atrs`).

Both records share their layout: the metadata, 2.1's owner, 2.3's review questions, 2.4's data
sharing, 2.5's impact assessments and civicml's notes are built once below; what differs is what
the sections say. The schema is :mod:`civicml.report._atrs_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml.report._atrs_schema import (
    NEEDS_HUMAN,
    ATRSRecord,
    DatasetUse,
    DataSpecification,
    DecisionMakingProcess,
    DescriptionAndRationale,
    Energy,
    ImpactAssessment,
    Metadata,
    ModelSpecification,
    OwnerAndResponsibility,
    Risk,
    RisksMitigationsAndImpactAssessments,
    Tier1,
    Tier2,
    ToolSpecification,
    answer_ids,
    find_gaps,
    missing_fields,
    record_fields,
)

__all__ = [
    "apply_answers",
    "build_atrs",
    "build_bandit_atrs",
    "normalise_answers",
    "record_approval",
]


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


def _h(what: str) -> str:
    return f"{NEEDS_HUMAN}: {what}"


# --- sections every record shares (supervised models and adaptive trials) ------------------------

_PHASES = {"production": "Production", "staging": "Beta/Pilot", "archived": "Retired"}


def _version_and_phase(registry_info: dict[str, Any] | None, digest: str) -> tuple[str, str]:
    """The registry version (or the digest's start) and the ATRS phase of its stage."""
    reg = registry_info or {}
    version = str(reg.get("version") or digest[:12])
    return version, _PHASES.get(str(reg.get("stage", "")).lower(), "Pre-deployment")


def _metadata(record_id: str, phase: str, *, organisation: str, function: str) -> Metadata:
    return Metadata(
        id=record_id,
        organisation=organisation,
        function=_h(function),
        phase=phase,
        region=_h("region, e.g. England, UK-wide"),
    )


def _owner(
    *, organisation: str, team: str, senior_responsible_owner: str
) -> OwnerAndResponsibility:
    """2.1; the role and any supplier are always for a person to fill in."""
    return OwnerAndResponsibility(
        organisation=organisation,
        team=team,
        senior_responsible_owner=senior_responsible_owner,
        senior_responsible_owner_role=_h("the senior responsible owner's role"),
        external_supplier=_h("yes or no; if yes, the supplier's details"),
    )


def _decision_process(
    *, process_integration: str, information_provided: str, frequency_and_scale_of_usage: str
) -> DecisionMakingProcess:
    """2.3; review, training and appeals are always for a person to fill in."""
    return DecisionMakingProcess(
        process_integration=process_integration,
        information_provided=information_provided,
        frequency_and_scale_of_usage=frequency_and_scale_of_usage,
        human_decisions_and_review=_h("who reviews outputs and what they decide"),
        required_training=_h("training for the people who use the outputs"),
        appeals_and_review=_h("how people can appeal or ask for a review"),
    )


def _data_specification(**fields: Any) -> DataSpecification:
    """2.4's data specification; sharing agreements and access are for a person to fill in."""
    return DataSpecification(
        **fields,
        data_sharing_agreements=_h("data sharing agreements"),
        data_access_and_storage=_h("who can access the data and where it is stored"),
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


def _risks_section(equality_note: str, risks: list[Risk]) -> RisksMitigationsAndImpactAssessments:
    """2.5: the impact assessments and the risks."""
    return RisksMitigationsAndImpactAssessments(
        impact_assessments=_impact_assessments(equality_note), risks=risks
    )


def _approval_risk(approval: dict[str, Any] | None) -> Risk:
    """2.5's entry for sign-off: the risk that the tool is used without accountable approval,
    mitigated by the registry's record of who approved it and how far their identity was
    checked (a person completes it while no approval is recorded).

    Examples
    --------
    >>> _approval_risk(None).mitigation.startswith(NEEDS_HUMAN)
    True
    >>> r = _approval_risk({"status": "approved", "mode": "embedded", "ref": "m/1",
    ...     "sentence": "Approved by ada on 6 December 2026. Not verified by a server.",
    ...     "approved": {"by": "ada", "at": "2026-12-06T10:00:00Z", "via": "os-login"}})
    >>> r.mitigation.split(" (")[0]
    'Approved by ada on 6 December 2026. Not verified by a server.'
    """
    from civicml.report._model_card import approval_view

    view = approval_view(approval)
    risk = (
        "The tool is used before accountable people have approved it, or is approved by someone "
        "whose identity nobody checked."
    )
    if not view["approved"]:
        return Risk(
            risk=risk,
            mitigation=_h(
                f"{view['sentence']} Record who approved this version and how their identity "
                "was checked"
            ),
        )
    return Risk(
        risk=risk,
        mitigation=(
            f"{view['sentence']} (civicml registry, version {view['ref']}.) civicml refuses an "
            "approval by the person who registered the version or asked for its approval, and "
            "records each step in a keyed, tamper-evident audit log."
        ),
    )


def _signed(record: ATRSRecord, digest: str, approval: dict[str, Any] | None = None) -> ATRSRecord:
    """``record`` with civicml's notes: the bundle digest, the fields a person must fill (as JSON
    paths, and as gaps with a label for people) and the registry's approval record (None when
    none was given). The answers a person gave (see :func:`apply_answers`) are kept."""
    answers = record.civicml.get("answers")
    record.civicml = {
        "generated_by": "civicml",
        "bundle_digest": digest,
        "marker": NEEDS_HUMAN,
        "needs_human": missing_fields(record),
        "gaps": [{"id": g.id, "label": g.label, "problem": g.problem} for g in find_gaps(record)],
        "approval": approval or None,
        **({"answers": answers} if answers else {}),
    }
    return record


def _answer_value(value: Any, current: Any) -> Any:
    """A person's answer as the field holds it: dates from YAML as ISO text, numbers as text
    (a Companies House number keeps its digits), a list for a list field."""
    import datetime as _dt

    if isinstance(value, _dt.date):
        value = value.isoformat()
    if isinstance(current, list) or isinstance(value, list):
        items = value if isinstance(value, list) else [value]
        return [x.isoformat() if isinstance(x, _dt.date) else str(x) for x in items]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(current, float) and isinstance(value, int | float):
        return float(value)
    return str(value)


def normalise_answers(record: ATRSRecord, answers: Mapping[str, Any]) -> dict[str, Any]:
    """A person's answers checked against ``record``'s answer ids and put in the form their
    fields hold (dates from YAML as ISO text, numbers as text, lists for list fields).

    Raises
    ------
    GovernanceError
        When an id is not a field of this record (the message lists the valid ids).

    Examples
    --------
    >>> import datetime
    >>> rec = ATRSRecord()
    >>> normalise_answers(rec, {"owner.companies_house_number": 1234567,
    ...                         "metadata.date_update": datetime.date(2026, 1, 2)})
    {'owner.companies_house_number': '1234567', 'metadata.date_update': ['2026-01-02']}
    >>> normalise_answers(rec, {"owner.tea": "x"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    civicml._errors.GovernanceError: 1 answer id(s) are not fields of this ATRS record. Expected one of metadata.date_completion, ...
    """
    from civicml._errors import GovernanceError

    fields = {f.id: f for f in record_fields(record)}
    valid = answer_ids(record)
    unknown = sorted(str(k) for k in set(answers) - set(valid))
    if unknown:
        raise GovernanceError.build(
            f"{len(unknown)} answer id(s) are not fields of this ATRS record",
            expected="one of " + ", ".join(valid),
            got=unknown,
            fix="Use the ids 'civicml atrs check NAME VERSION' lists",
        )
    return {k: _answer_value(v, fields[k].value) for k, v in answers.items()}


def apply_answers(
    record: ATRSRecord,
    answers: Mapping[str, Any],
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
) -> ATRSRecord:
    """The record with a person's answers put in their fields (keyed by answer id, see
    :func:`civicml.report.answer_ids`, checked by :func:`normalise_answers`); ``provenance``
    (who answered each, when, which revision) is kept under ``_civicml.answers``.

    Examples
    --------
    >>> rec = build_bandit_atrs(report={"name": "t", "spec": {"arms": ["a"]}, "policy": {}},
    ...                         checks=[], lineage={}, digest="ab" * 32)
    >>> rec = apply_answers(rec, {"metadata.region": "England"})
    >>> rec.metadata.region, "metadata.region" in rec.civicml["needs_human"]
    ('England', False)
    """
    fields = {f.id: f for f in record_fields(record)}
    answers = normalise_answers(record, answers)
    doc = record.to_json_dict()
    for answer_id, value in answers.items():
        f = fields[answer_id]
        node: Any = doc
        for key in f.keys[:-1]:
            node = node[key]
        node[f.keys[-1]] = value
    out = ATRSRecord.model_validate(doc)
    out.civicml = {**doc["_civicml"], "answers": dict(provenance or {}) or None}
    return _signed(
        out, str(doc["_civicml"].get("bundle_digest") or ""), out.civicml.get("approval")
    )


def record_approval(record: ATRSRecord, approval: dict[str, Any] | None) -> ATRSRecord:
    """``record`` with the registry's approval record of its version.

    ``approval`` is ``civicml.registry.approval_record``'s dict (the caller reads the
    registry). It becomes the mitigation of 2.5's sign-off risk (the standard's place for the
    assurance a tool has before use) and is kept whole under ``_civicml.approval``. A version
    not approved leaves that mitigation for a person to complete. Nothing here says a name was
    verified unless its audit event says a server verified it.

    Examples
    --------
    >>> rec = build_bandit_atrs(report={"name": "t", "spec": {"arms": ["a"]}, "policy": {}},
    ...                         checks=[], lineage={}, digest="ab" * 32)
    >>> rec.tier2.risks_mitigations_and_impact_assessments.risks[-1].mitigation.split(". ")[0]
    'TO BE COMPLETED BY A PERSON: Not yet approved in a registry'
    >>> rec = record_approval(rec, {"ref": "t/1", "mode": "server", "status": "approved",
    ...     "sentence": "Approved by bo@x.gov.uk on 6 December 2026, signed in and verified "
    ...     "by civicml server.", "approved": {"by": "bo@x.gov.uk", "verified": True,
    ...     "via": "oidc", "at": "2026-12-06T10:00:00Z"}})
    >>> rec.tier2.risks_mitigations_and_impact_assessments.risks[-1].mitigation[:40]
    'Approved by bo@x.gov.uk on 6 December 20'
    >>> rec.civicml["approval"]["ref"]
    't/1'
    """
    section = record.tier2.risks_mitigations_and_impact_assessments
    risks = [r for r in section.risks if r.risk != _approval_risk(None).risk]
    section.risks = [*risks, _approval_risk(approval)]
    return _signed(record, str(record.civicml.get("bundle_digest") or ""), approval)


# --- a supervised (or unsupervised) model ----------------------------------------------------------


def _performance_text(metrics: dict[str, Any]) -> str:
    return "; ".join(
        f"{k} {v['value']:.3f}"
        + (f" (95% interval {v['ci'][0]:.3f}–{v['ci'][1]:.3f})" if v.get("ci") else "")
        for k, v in metrics.items()
        if v.get("value") is not None
    )


def _alternatives(info: dict[str, Any], leaderboard: dict[str, Any]) -> str:
    from civicml.report._glossary import plain_candidate, plain_metric

    metric = info.get("metric")
    return "; ".join(
        f"{plain_candidate(e['name'])} ({plain_metric(metric)} "
        f"{e['cv_mean'].get(metric, float('nan')):.3f})"
        for e in leaderboard.get("entries", [])
        if e.get("cv_mean")
    )


def _selection_text(info: dict[str, Any], leaderboard: dict[str, Any]) -> str:
    """Why the chosen model (the test against the runner-up) and an ensemble's members."""
    from civicml.report._summary import selection_lines

    return " ".join(selection_lines(info, leaderboard, leaderboard.get("selection_json")))


def _model_risks(
    info: dict[str, Any],
    assessment: dict[str, Any],
    checks: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    spec: dict[str, Any],
) -> list[Risk]:
    """2.5's risks: the report's, then each protected or special-category input (and each input
    likely to stand for one), mitigated by its recorded justification, then out-of-scope uses."""
    from civicml.report._summary import input_risks, risks

    out_of_scope = spec.get("out_of_scope_uses") or []
    items = [
        Risk(risk=r, mitigation=_h("say how this risk is mitigated"))
        for r in risks(info, assessment, checks, findings)
    ]
    items += [
        Risk(
            risk=r["risk"],
            mitigation=f"Justification recorded: {r['justification']}"
            if r["justification"]
            else _h("record why this input is justified (columns.justification in civicml.yaml)"),
        )
        for r in input_risks(info, spec)
    ]
    items += [
        Risk(
            risk=f"Use outside its purpose: {u}",
            mitigation="Stated as out of scope in the model card and this record; "
            + _h("describe the controls that prevent it"),
        )
        for u in out_of_scope
    ]
    return items or [Risk(risk=_h("risk"), mitigation=_h("mitigation"))]


def _model_rationale(
    spec: dict[str, Any],
    info: dict[str, Any],
    assessment: dict[str, Any],
    leaderboard: dict[str, Any],
) -> DescriptionAndRationale:
    """2.2 for a model: the plain summary, the scope and the candidates compared."""
    from civicml.report._summary import plain_summary

    out_of_scope = spec.get("out_of_scope_uses") or []
    alts = _alternatives(info, leaderboard)
    why = _selection_text(info, leaderboard)
    return DescriptionAndRationale(
        detailed_description=" ".join(plain_summary(info, assessment, spec))
        or _h("detailed description"),
        scope=(spec.get("intended_use") or _h("scope"))
        + (" Out of scope: " + "; ".join(out_of_scope) + "." if out_of_scope else ""),
        benefit=_h("the expected benefit"),
        previous_process=_h("how this was done before"),
        alternatives_considered=(
            f"Model candidates compared by cross-validation: {alts}. " if alts else ""
        )
        + (f"Selection: {why} " if why else "")
        + _h("non-algorithmic alternatives considered"),
    )


def _model_information(threshold: float | None) -> str:
    if threshold is not None:
        return (
            f"For each case: a score between 0 and 1, a flag when the score is at least "
            f"{threshold:.2f}, and the three features that moved the score most."
        )
    return "For each case: the model's prediction and its main reasons."


def _model_specification(
    info: dict[str, Any],
    assessment: dict[str, Any],
    lineage: dict[str, Any],
    version: str,
    leaderboard: dict[str, Any] | None = None,
    describe: dict[str, str] | None = None,
) -> ModelSpecification:
    from civicml.report._glossary import plain_candidate, plain_column

    data = lineage.get("data", {})
    why = _selection_text(info, leaderboard or {})
    plain, raw = plain_candidate(info.get("candidate")), str(info.get("candidate"))
    kind = plain if plain == raw else f"{plain} ({raw})"
    perf = _performance_text(assessment.get("metrics", {}))
    return ModelSpecification(
        name=str(info.get("candidate")),
        version=version,
        task=str(info.get("task")),
        input=", ".join(
            f if plain_column(f, describe) == f else f"{plain_column(f, describe)} ({f})"
            for f in info.get("features", [])
        ),
        output=(
            f"Probability of '{info.get('target')}' being '{info.get('positive_label')}'"
            if info.get("task") == "binary"
            else f"Prediction of '{info.get('target')}'"
        ),
        architecture=kind + (f". {why}" if why else ""),
        performance=f"On {assessment.get('n_test')} held-out rows: {perf}."
        if perf
        else _h("performance"),
        datasets=[
            DatasetUse(
                name=str(data.get("source")),
                purpose=f"training ({info.get('n_train')} rows, with cross-validation)",
            ),
            DatasetUse(
                name=str(data.get("source")),
                purpose=f"held-out testing ({info.get('n_test')} rows)",
            ),
        ],
    )


def _sensitive_attributes(spec: dict[str, Any], findings: list[dict[str, Any]]) -> str:
    protected = spec.get("protected") or {}
    sens = ", ".join(f"{k} (column '{v}')" for k, v in protected.items()) or "none declared"
    if findings:
        sens += "; personal data found in " + ", ".join(
            sorted({str(f.get("column")) for f in findings})
        )
    return sens


def _representativeness(
    info: dict[str, Any], assessment: dict[str, Any], contract: dict[str, Any]
) -> str:
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
    return (
        ("Missing values: " + ", ".join(nulls) + ". " if nulls else "No missing values. ")
        + ("Rows per group: " + "; ".join(gaps) + ". " if gaps else "")
        + (
            str(assessment["fairness"].get("rule", "")) + " "
            if unsupervised and assessment.get("fairness", {}).get("rule")
            else ""
        )
        + _h("how representative the data are of the people affected")
    )


def _model_tool_specification(
    inputs: dict[str, Any], digest: str, version: str, phase: str
) -> ToolSpecification:
    """2.4 for a model; ``inputs`` holds :func:`build_atrs`'s documents by their keyword."""
    spec, info, lineage = inputs["spec"], inputs["info"], inputs["lineage"]
    data = lineage.get("data", {})
    return ToolSpecification(
        system_architecture=(
            "A scikit-learn pipeline saved as a civicml bundle (sha256 "
            f"{digest[:16]}…), served by civicml over the Open Inference Protocol v2 "
            "with a prediction log and drift monitoring."
        ),
        phase=phase,
        maintenance=_h("who retrains and reviews the model, and how often"),
        energy=_energy(lineage.get("energy")),
        models=[
            _model_specification(
                info,
                inputs["assessment"],
                lineage,
                version,
                inputs.get("leaderboard"),
                (spec.get("columns") or {}).get("describe"),
            )
        ],
        data_specification=_data_specification(
            source_data_name=str(data.get("source") or _h("source data name")),
            data_modality="Tabular",
            data_description=spec.get("description") or _h("data description"),
            data_quantities=(
                f"{data.get('rows')} rows and {data.get('columns')} columns; "
                f"{info.get('n_train')} for training, {info.get('n_test')} for testing."
            ),
            sensitive_attributes=_sensitive_attributes(spec, inputs["findings"]),
            data_completeness_and_representativeness=_representativeness(
                info, inputs["assessment"], inputs["contract"]
            ),
            data_collection=_h("how and why the data were collected"),
            data_cleaning=(
                "Rows with an empty target were left out; civicml inferred a data "
                "contract and scanned for personal data. " + _h("any cleaning before civicml")
            ),
        ),
    )


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
    """Pre-fill an ATRS record from the spec, registry, data contract and assessment.

    Its last risk in 2.5 is the tool's use without accountable sign-off, mitigated by "Not yet
    approved in a registry." (left for a person to complete) until :func:`record_approval`
    adds the registry's approval record.
    """
    version, phase = _version_and_phase(registry_info, digest)
    owner = spec.get("owner") or {}
    name = spec.get("name") or info.get("name")
    organisation = owner.get("organisation") or _h("organisation")
    inputs = {
        "spec": spec,
        "info": info,
        "assessment": assessment,
        "contract": contract,
        "lineage": lineage,
        "findings": findings,
        "leaderboard": leaderboard,
    }
    record = ATRSRecord(
        metadata=_metadata(
            f"{name}-{version}",
            phase,
            organisation=organisation,
            function="the function, e.g. benefits, policing",
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
            owner_and_responsibility=_owner(
                organisation=organisation,
                team=owner.get("team") or _h("team"),
                senior_responsible_owner=owner.get("senior_responsible_owner")
                or _h("senior responsible owner"),
            ),
            description_and_rationale=_model_rationale(spec, info, assessment, leaderboard),
            decision_making_process=_decision_process(
                process_integration=_h("where the tool sits in the decision process"),
                information_provided=_model_information(info.get("threshold")),
                frequency_and_scale_of_usage=_h("how often and on how many cases"),
            ),
            tool_specification=_model_tool_specification(inputs, digest, version, phase),
            risks_mitigations_and_impact_assessments=_risks_section(
                "summary; civicml's fairness results are in the report",
                [
                    *_model_risks(info, assessment, checks, findings, spec),
                    _approval_risk(None),
                ],
            ),
        ),
    )
    return _signed(record, digest)


# --- an adaptive trial (a contextual bandit) -------------------------------------------------------


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
        scope=spec.get("description") or _h("scope"),
        benefit=_h("the expected benefit"),
        previous_process=_h("how this was done before (e.g. one option for everyone)"),
        alternatives_considered=(
            "A fixed randomised trial with equal shares; a single option for everyone. "
            + _h("other alternatives considered")
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
    return _data_specification(
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
        maintenance=_h("who reviews the trial and how often"),
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
    >>> "tier2.decision_making_process.human_decisions_and_review" in missing_fields(rec)
    True
    """
    version, phase = _version_and_phase(registry_info, digest)
    spec = report.get("spec") or {}
    name = str(report.get("name") or spec.get("name"))
    arms = [str(a) for a in spec.get("arms", [])]
    record = ATRSRecord(
        metadata=_metadata(
            f"{name}-{version}",
            phase,
            organisation=_h("organisation"),
            function="the function, e.g. revenue collection",
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
            owner_and_responsibility=_owner(
                organisation=_h("organisation"),
                team=spec.get("owner") or _h("team"),
                senior_responsible_owner=_h("senior responsible owner"),
            ),
            description_and_rationale=_bandit_rationale(report),
            decision_making_process=_decision_process(
                process_integration=_h("where the choice sits in the process"),
                information_provided=(
                    "For each case: the option chosen, the probability it was chosen with, the "
                    "policy version and a decision id to report the outcome against."
                ),
                frequency_and_scale_of_usage=(
                    f"{report.get('decisions', 0)} decisions logged so far. "
                    + _h("how often and on how many cases")
                ),
            ),
            tool_specification=_bandit_tool_specification(report, lineage, digest, version, phase),
            risks_mitigations_and_impact_assessments=_risks_section(
                "summary; allocation by group is in the report",
                [*_bandit_risks(report, checks), _approval_risk(None)],
            ),
        ),
    )
    return _signed(record, digest)
