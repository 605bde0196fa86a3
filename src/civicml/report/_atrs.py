"""Pre-filling an ATRS v3.0 record for a model (:func:`build_atrs`): what it is, how it was chosen
and how well it performs, its data and its risks, from the bundle's documents. The parts every
record shares are in :mod:`civicml.report._atrs_parts`; an adaptive trial's record is
:mod:`civicml.report._atrs_bandit`; a person's answers are put in by
:mod:`civicml.report._atrs_fill`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml.report._atrs_parts import (
    approval_risk,
    data_specification,
    decision_process,
    energy_entry,
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
    DescriptionAndRationale,
    ModelSpecification,
    Risk,
    Tier1,
    Tier2,
    ToolSpecification,
)

__all__ = [
    "build_atrs",
]


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
        Risk(risk=r, mitigation=needs_person("say how this risk is mitigated"))
        for r in risks(info, assessment, checks, findings)
    ]
    items += [
        Risk(
            risk=r["risk"],
            mitigation=f"Justification recorded: {r['justification']}"
            if r["justification"]
            else needs_person(
                "record why this input is justified (columns.justification in civicml.yaml)"
            ),
        )
        for r in input_risks(info, spec)
    ]
    items += [
        Risk(
            risk=f"Use outside its purpose: {u}",
            mitigation="Stated as out of scope in the model card and this record; "
            + needs_person("describe the controls that prevent it"),
        )
        for u in out_of_scope
    ]
    return items or [Risk(risk=needs_person("risk"), mitigation=needs_person("mitigation"))]


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
        or needs_person("detailed description"),
        scope=(spec.get("intended_use") or needs_person("scope"))
        + (" Out of scope: " + "; ".join(out_of_scope) + "." if out_of_scope else ""),
        benefit=needs_person("the expected benefit"),
        previous_process=needs_person("how this was done before"),
        alternatives_considered=(
            f"Model candidates compared by cross-validation: {alts}. " if alts else ""
        )
        + (f"Selection: {why} " if why else "")
        + needs_person("non-algorithmic alternatives considered"),
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
        else needs_person("performance"),
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
        + needs_person("how representative the data are of the people affected")
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
        maintenance=needs_person("who retrains and reviews the model, and how often"),
        energy=energy_entry(lineage.get("energy")),
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
        data_specification=data_specification(
            spec=spec,
            source_data_name=str(data.get("source") or needs_person("source data name")),
            data_modality="Tabular",
            data_description=spec.get("description") or needs_person("data description"),
            data_quantities=(
                f"{data.get('rows')} rows and {data.get('columns')} columns; "
                f"{info.get('n_train')} for training, {info.get('n_test')} for testing."
            ),
            sensitive_attributes=_sensitive_attributes(spec, inputs["findings"]),
            data_completeness_and_representativeness=_representativeness(
                info, inputs["assessment"], inputs["contract"]
            ),
            data_collection=needs_person("how and why the data were collected"),
            data_cleaning=(
                "Rows with an empty target were left out; civicml inferred a data "
                "contract and scanned for personal data. "
                + needs_person("any cleaning before civicml")
            ),
        ),
    )


def build_atrs(
    docs: Mapping[str, Any],
    *,
    digest: str,
    registry_info: dict[str, Any] | None = None,
) -> ATRSRecord:
    """Pre-fill an ATRS record from a bundle's documents: ``docs`` holds ``spec``, ``info``
    (model_info), ``assessment``, ``contract``, ``lineage``, ``leaderboard``, ``findings``,
    ``checks`` and, when the bundle has one, ``dpia`` (its DPIA screening, which starts 2.5's
    DPIA row); ``registry_info`` gives the registry's facts.

    Its last risk in 2.5 is the tool's use without accountable sign-off, mitigated by "Not yet
    approved in a registry." (left for a person to complete) until :func:`record_approval`
    adds the registry's approval record.
    """
    spec, info = dict(docs.get("spec") or {}), dict(docs.get("info") or {})
    assessment, contract = dict(docs.get("assessment") or {}), dict(docs.get("contract") or {})
    lineage, leaderboard = dict(docs.get("lineage") or {}), dict(docs.get("leaderboard") or {})
    findings, checks = list(docs.get("findings") or []), list(docs.get("checks") or [])
    dpia = docs.get("dpia") or {}
    version, phase = version_and_phase(registry_info, digest)
    owner = spec.get("owner") or {}
    name = spec.get("name") or info.get("name")
    organisation = owner.get("organisation") or needs_person("organisation")
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
        metadata=metadata_section(
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
            or needs_person("how the tool is used and why"),
            contact_email=owner.get("contact") or needs_person("a contact email"),
        ),
        tier2=Tier2(
            owner_and_responsibility=owner_section(
                organisation=organisation,
                team=owner.get("team") or needs_person("team"),
                senior_responsible_owner=owner.get("senior_responsible_owner")
                or needs_person("senior responsible owner"),
            ),
            description_and_rationale=_model_rationale(spec, info, assessment, leaderboard),
            decision_making_process=decision_process(
                process_integration=needs_person("where the tool sits in the decision process"),
                information_provided=_model_information(info.get("threshold")),
                frequency_and_scale_of_usage=needs_person("how often and on how many cases"),
            ),
            tool_specification=_model_tool_specification(inputs, digest, version, phase),
            risks_mitigations_and_impact_assessments=risks_section(
                "summary; civicml's fairness results are in the report and its equality "
                "impact assessment export (eqia.html beside this record)",
                [
                    *_model_risks(info, assessment, checks, findings, spec),
                    approval_risk(None),
                ],
                dpia_note=str((dpia or {}).get("sentence") or ""),
            ),
        ),
    )
    reg = registry_info or {}
    record.metadata.date_update = [str(d) for d in reg.get("reviewed_at") or []]
    if reg.get("retired_at"):
        record.metadata.date_archive = str(reg["retired_at"])
    return signed(record, digest)


# --- an adaptive trial (a contextual bandit) -------------------------------------------------------
