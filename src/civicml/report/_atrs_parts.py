"""The parts every ATRS record civicml pre-fills shares: the metadata, 2.1's owner, 2.3's review
questions, 2.4's data sharing, 2.5's impact assessments and sign-off risk, and civicml's notes
(:func:`signed`). :mod:`civicml.report._atrs` (a model) and :mod:`civicml.report._atrs_bandit`
(an adaptive trial) build on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml.report._atrs_schema import (
    NEEDS_HUMAN,
    ATRSRecord,
    DataSpecification,
    DecisionMakingProcess,
    Energy,
    ImpactAssessment,
    Metadata,
    OwnerAndResponsibility,
    Risk,
    RisksMitigationsAndImpactAssessments,
    find_gaps,
    missing_fields,
)
from civicml.report._model_card import dataset_card_links

__all__ = [
    "PHASES",
    "approval_risk",
    "data_specification",
    "dataset_cards_text",
    "decision_process",
    "energy_entry",
    "impact_assessments",
    "metadata_section",
    "needs_person",
    "owner_section",
    "risks_section",
    "signed",
    "version_and_phase",
]


def energy_entry(doc: dict[str, Any] | None) -> Energy | None:
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


def needs_person(what: str) -> str:
    return f"{NEEDS_HUMAN}: {what}"


# --- sections every record shares (supervised models and adaptive trials) ------------------------

PHASES = {"production": "Production", "staging": "Beta/Pilot", "archived": "Retired"}


def version_and_phase(registry_info: dict[str, Any] | None, digest: str) -> tuple[str, str]:
    """The registry version (or the digest's start) and the ATRS phase of its stage."""
    reg = registry_info or {}
    version = str(reg.get("version") or digest[:12])
    return version, PHASES.get(str(reg.get("stage", "")).lower(), "Pre-deployment")


def metadata_section(record_id: str, phase: str, *, organisation: str, function: str) -> Metadata:
    return Metadata(
        id=record_id,
        organisation=organisation,
        function=needs_person(function),
        phase=phase,
        region=needs_person("region, e.g. England, UK-wide"),
    )


def owner_section(
    *, organisation: str, team: str, senior_responsible_owner: str
) -> OwnerAndResponsibility:
    """2.1; the role and any supplier are always for a person to fill in."""
    return OwnerAndResponsibility(
        organisation=organisation,
        team=team,
        senior_responsible_owner=senior_responsible_owner,
        senior_responsible_owner_role=needs_person("the senior responsible owner's role"),
        external_supplier=needs_person("yes or no; if yes, the supplier's details"),
    )


def decision_process(
    *, process_integration: str, information_provided: str, frequency_and_scale_of_usage: str
) -> DecisionMakingProcess:
    """2.3; review, training and appeals are always for a person to fill in."""
    return DecisionMakingProcess(
        process_integration=process_integration,
        information_provided=information_provided,
        frequency_and_scale_of_usage=frequency_and_scale_of_usage,
        human_decisions_and_review=needs_person("who reviews outputs and what they decide"),
        required_training=needs_person("training for the people who use the outputs"),
        appeals_and_review=needs_person("how people can appeal or ask for a review"),
    )


def dataset_cards_text(spec: Mapping[str, Any]) -> str:
    """Where the dataset cards of ``spec``'s sources are, beside the record (``""`` if none).

    >>> dataset_cards_text({"data": {"path": "claims.csv"}})
    "Dataset card (per-column statistics, missingness, group representation) beside this record: data/data/dataset_card.md for source 'data' (exploratory analysis: data/data/profile.html)."
    """
    links = dataset_card_links(spec)
    if not links:
        return ""
    return (
        "Dataset card (per-column statistics, missingness, group representation) beside this "
        "record: "
        + "; ".join(
            f"{x['card']} for source {x['source']!r} (exploratory analysis: {x['profile']})"
            for x in links
        )
        + "."
    )


def data_specification(
    *, spec: Mapping[str, Any] | None = None, **fields: Any
) -> DataSpecification:
    """2.4's data specification; sharing agreements and access are for a person to fill in.

    Given the bundle's ``spec``, the completeness and representativeness field ends with the
    links to the dataset cards ``civicml run`` writes beside the record
    (:func:`dataset_cards_text`).
    """
    cards = dataset_cards_text(spec or {})
    if cards:
        key = "data_completeness_and_representativeness"
        fields[key] = f"{fields[key]} {cards}" if fields.get(key) else cards
    return DataSpecification(
        **fields,
        data_sharing_agreements=needs_person("data sharing agreements"),
        data_access_and_storage=needs_person("who can access the data and where it is stored"),
    )


def impact_assessments(equality_note: str, dpia_note: str = "") -> list[ImpactAssessment]:
    """The DPIA and the Equality Impact Assessment, each for a person to summarise and link
    (the DPIA's summary after civicml's screening result, when there is one)."""
    dpia = needs_person("summary of the DPIA")
    return [
        ImpactAssessment(
            name="Data Protection Impact Assessment (DPIA)",
            description=f"{dpia_note} {dpia}" if dpia_note else dpia,
            date=needs_person("date"),
            link=needs_person("link"),
        ),
        ImpactAssessment(
            name="Equality Impact Assessment",
            description=needs_person(equality_note),
            date=needs_person("date"),
            link=needs_person("link"),
        ),
    ]


def risks_section(
    equality_note: str, risks: list[Risk], *, dpia_note: str = ""
) -> RisksMitigationsAndImpactAssessments:
    """2.5: the impact assessments and the risks."""
    return RisksMitigationsAndImpactAssessments(
        impact_assessments=impact_assessments(equality_note, dpia_note), risks=risks
    )


def approval_risk(approval: dict[str, Any] | None) -> Risk:
    """2.5's entry for sign-off: the risk that the tool is used without accountable approval,
    mitigated by the registry's record of who approved it and how far their identity was
    checked (a person completes it while no approval is recorded).

    Examples
    --------
    >>> approval_risk(None).mitigation.startswith(NEEDS_HUMAN)
    True
    >>> r = approval_risk({"status": "approved", "mode": "embedded", "ref": "m/1",
    ...     "sentence": "Approved by ada on 6 December 2026. Not verified by a server.",
    ...     "approved": {"by": "ada", "at": "2026-12-06T10:00:00Z", "via": "os-login"}})
    >>> r.mitigation.split(" (")[0]
    'Approved by ada on 6 December 2026. Not verified by a server.'
    """
    from civicml.report._approval_view import approval_view

    view = approval_view(approval)
    risk = (
        "The tool is used before accountable people have approved it, or is approved by someone "
        "whose identity nobody checked."
    )
    if not view["approved"]:
        return Risk(
            risk=risk,
            mitigation=needs_person(
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


def signed(record: ATRSRecord, digest: str, approval: dict[str, Any] | None = None) -> ATRSRecord:
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
