"""An Algorithmic Transparency Recording Standard (ATRS v3.0) record, pre-filled by civicml.

The schema is a set of pydantic models: Metadata, Tier 1 and Tier 2 sections 2.1 to 2.5.
Fields only a person can fill hold :data:`NEEDS_HUMAN` and are listed in
``record["_civicml"]["needs_human"]``. A record validates with ``complete=True`` only when no
mandatory field is empty; :func:`mark_complete` is the way to set it. The records civicml
pre-fills are built in :mod:`civicml.report._atrs`.
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
