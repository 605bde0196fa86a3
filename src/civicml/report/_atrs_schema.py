"""An Algorithmic Transparency Recording Standard (ATRS v3.0) record, pre-filled by civicml.

The schema is a set of pydantic models: Metadata, Tier 1 and Tier 2 sections 2.1 to 2.5.
Fields only a person can fill hold :data:`NEEDS_HUMAN` and are listed in
``record["_civicml"]["needs_human"]``. A record validates with ``complete=True`` only when no
mandatory field is empty; :func:`mark_complete` is the way to set it. The records civicml
pre-fills are built in :mod:`civicml.report._atrs`.
"""

from __future__ import annotations

import datetime as _dt
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from civicml._errors import GovernanceError

__all__ = [
    "NEEDS_HUMAN",
    "ATRSField",
    "ATRSRecord",
    "Gap",
    "answer_ids",
    "atrs_json_schema",
    "find_gaps",
    "mark_complete",
    "missing_fields",
    "record_fields",
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
        return not v.strip()
    if isinstance(v, list):
        return len(v) == 0
    return False


@dataclass(frozen=True)
class ATRSField:
    """One field of a record: its answer id (``owner.team``, ``risk.2.mitigation``), its label
    for people, its JSON path (``tier2.owner_and_responsibility.team``) and its value."""

    id: str
    label: str
    path: str
    keys: tuple[str | int, ...]
    value: Any


@dataclass(frozen=True)
class Gap:
    """A field a person still has to complete or correct, with what is wrong with it."""

    id: str
    label: str
    path: str
    problem: str


#: how each part of the record is named for people, by the start of its answer id
_SECTIONS = {
    "metadata": "Metadata",
    "tier1": "Tier 1",
    "owner": "2.1 Owner and responsibility",
    "rationale": "2.2 Description and rationale",
    "decisions": "2.3 Decision-making process",
    "tool": "2.4 Tool specification",
    "data": "2.4 Data specification",
    "energy": "2.4 Energy and carbon",
}
_LABELS = {
    "id": "Record id",
    "date_update": "Dates updated",
    "function": "Function (e.g. benefits, policing)",
    "contact_email": "Contact email",
    "website": "Website",
    "senior_responsible_owner": "Senior responsible owner",
    "senior_responsible_owner_role": "Senior responsible owner's role",
    "external_supplier": "External supplier (yes or no)",
    "companies_house_number": "Supplier's Companies House number",
    "supplier_role": "Supplier's role",
    "frequency_and_scale_of_usage": "Frequency and scale of use",
    "data_completeness_and_representativeness": "Data completeness and representativeness",
    "source_url": "Source data URL",
    "link": "Link",
    "training_energy_kwh": "Training energy (kWh)",
    "training_emissions_g_co2e": "Training emissions (g CO2e)",
    "energy_per_1000_predictions_wh": "Energy per 1,000 predictions (Wh)",
    "carbon_intensity_g_co2e_per_kwh": "Carbon intensity (g CO2e per kWh)",
}
# answer ids from JSON paths: the 2.x sections by short names, list items numbered from 1
_ID_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^tier2\.owner_and_responsibility\."), "owner."),
    (re.compile(r"^tier2\.description_and_rationale\."), "rationale."),
    (re.compile(r"^tier2\.decision_making_process\."), "decisions."),
    (re.compile(r"^tier2\.tool_specification\.data_specification\."), "data."),
    (re.compile(r"^tier2\.tool_specification\.energy\."), "energy."),
    (re.compile(r"^tier2\.tool_specification\.models\["), "model["),
    (re.compile(r"^tier2\.tool_specification\."), "tool."),
    (
        re.compile(r"^tier2\.risks_mitigations_and_impact_assessments\.impact_assessments\["),
        "impact_assessment[",
    ),
    (re.compile(r"^tier2\.risks_mitigations_and_impact_assessments\.risks\["), "risk["),
]
_INDEX = re.compile(r"(\w+)\[(\d+)\]")
#: fields civicml sets that a person's answer may not replace
_FIXED = {"metadata.id", "metadata.standard_version"}
#: parts of the record that hold items, not text (an empty one is a field of its own)
_CONTAINERS = {"energy", "models", "datasets", "impact_assessments", "risks"}


def _answer_id(path: str) -> str:
    """``risk.2.mitigation`` from ``tier2.risks_mitigations_and_impact_assessments.risks[1]
    .mitigation``.

    >>> _answer_id("tier2.tool_specification.models[0].datasets[1].purpose")
    'model.1.datasets.2.purpose'
    """
    for pattern, short in _ID_RULES:
        if pattern.match(path):
            path = pattern.sub(short, path, count=1)
            break
    return _INDEX.sub(lambda m: f"{m.group(1)}.{int(m.group(2)) + 1}", path)


def _label(answer_id: str, doc: dict[str, Any]) -> str:
    parts = answer_id.split(".")
    field_name = _LABELS.get(parts[-1], parts[-1].replace("_", " ").capitalize())
    head = parts[0]
    if head == "model":
        section = f"2.4 Model {parts[1]}" + (
            f", dataset {parts[3]}" if len(parts) > 3 and parts[2] == "datasets" else ""
        )
    elif head == "risk":
        section = f"2.5 Risk {parts[1]}"
    elif head == "impact_assessment":
        items = doc["tier2"]["risks_mitigations_and_impact_assessments"]["impact_assessments"]
        name = items[int(parts[1]) - 1].get("name") if len(items) >= int(parts[1]) else None
        named = name and NEEDS_HUMAN not in str(name) and parts[-1] != "name"
        section = f"2.5 {name}" if named else f"2.5 Impact assessment {parts[1]}"
    else:
        section = _SECTIONS.get(head, head)
    return f"{section}: {field_name}"


def record_fields(record: ATRSRecord) -> list[ATRSField]:
    """Every field of ``record`` in the template's order, with its answer id and label.

    Examples
    --------
    >>> f = {x.id: x for x in record_fields(ATRSRecord())}
    >>> f["owner.companies_house_number"].label
    "2.1 Owner and responsibility: Supplier's Companies House number"
    >>> f["owner.companies_house_number"].path
    'tier2.owner_and_responsibility.companies_house_number'
    """
    doc = record.model_dump(mode="json", exclude={"civicml", "complete"})
    out: list[ATRSField] = []

    def walk(node: Any, path: str, keys: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else k, (*keys, k))
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]", (*keys, i))
        else:
            answer_id = _answer_id(path)
            out.append(ATRSField(answer_id, _label(answer_id, doc), path, keys, node))

    walk(doc, "", ())
    return out


def answer_ids(record: ATRSRecord) -> list[str]:
    """The ids a person may answer for ``record`` (every field but the record's id and
    standard version), in the template's order."""
    return [
        f.id
        for f in record_fields(record)
        if f.path not in _FIXED and f.keys[-1] not in _CONTAINERS
    ]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_COMPANY = re.compile(r"^(\d{8}|[A-Z]{2}\d{6})$")


def _is_date(text: str) -> bool:
    try:
        if len(text) == 10:
            _dt.date.fromisoformat(text)
        else:
            _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_https(text: str) -> bool:
    u = urllib.parse.urlsplit(text)
    return u.scheme == "https" and "." in u.netloc and " " not in text


def _invalid(name: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``name`` field (``None`` when it is, or is not checked).

    >>> _invalid("contact_email", "ada@example.gov.uk") is None
    True
    >>> _invalid("companies_house_number", "SC12345")
    'is not a Companies House number (8 digits, or 2 letters and 6 digits, e.g. SC123456)'
    """
    items = value if isinstance(value, list) else [value]
    for item in (str(x).strip() for x in items):
        if name == "contact_email" and not _EMAIL.match(item):
            return "is not an email address (e.g. team@department.gov.uk)"
        if name in ("website", "source_url", "link") and not _is_https(item):
            return "is not a web address starting https://"
        if name in ("date_completion", "date_update", "date_archive", "date") and not _is_date(
            item
        ):
            return "is not a date in ISO 8601 form (YYYY-MM-DD)"
        if name == "companies_house_number" and not _COMPANY.match(item.upper()):
            return (
                "is not a Companies House number (8 digits, or 2 letters and 6 digits, "
                "e.g. SC123456)"
            )
    return None


def _skipped(record: ATRSRecord) -> set[str]:
    """Paths not required: the optional ones, and a supplier's details unless the record says
    there is an external supplier (until someone answers, only that question is a gap)."""
    supplier = record.tier2.owner_and_responsibility.external_supplier
    skip = set(OPTIONAL)
    named = supplier is True or (
        isinstance(supplier, str) and supplier.strip().lower() in ("yes", "true")
    )
    if not named:
        skip |= {f"tier2.owner_and_responsibility.{f}" for f in _SUPPLIER}
    return skip


def find_gaps(record: ATRSRecord) -> list[Gap]:
    """Every field a person must still complete or correct, in the template's order: any field
    whose text holds :data:`NEEDS_HUMAN` (anywhere in it), every empty mandatory field, and
    emails, dates (ISO 8601), web addresses (https) and Companies House numbers that are not
    valid.

    Examples
    --------
    >>> r = ATRSRecord(tier1={"name": "t", "description": f"Sorts letters. {NEEDS_HUMAN}: why",
    ...                       "contact_email": "not-an-email"})
    >>> [(g.id, g.problem) for g in find_gaps(r) if g.id.startswith("tier1")]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('tier1.description', "still says 'TO BE COMPLETED BY A PERSON'"),
     ('tier1.contact_email', 'is not an email address (e.g. team@department.gov.uk)')]
    """
    skip = _skipped(record)
    out: list[Gap] = []
    for f in record_fields(record):
        optional = any(f.path == s or f.path.startswith(s + ".") for s in skip)
        texts = f.value if isinstance(f.value, list) else [f.value]
        if any(isinstance(t, str) and NEEDS_HUMAN in t for t in texts):
            if not (optional and f.path.startswith("tier2.owner_and_responsibility.")):
                out.append(Gap(f.id, f.label, f.path, f"still says {NEEDS_HUMAN!r}"))
            continue
        if _empty(f.value):
            if not optional:
                out.append(Gap(f.id, f.label, f.path, "is empty"))
            continue
        if not (optional and f.path.startswith("tier2.owner_and_responsibility.")):
            problem = _invalid(str(f.keys[-1]), f.value)
            if problem:
                out.append(Gap(f.id, f.label, f.path, problem))
    return out


def missing_fields(record: ATRSRecord) -> list[str]:
    """JSON paths of the fields :func:`find_gaps` lists: empty mandatory fields, fields holding
    :data:`NEEDS_HUMAN` anywhere in their text, and invalid emails, dates, URLs and Companies
    House numbers."""
    return list(dict.fromkeys(g.path for g in find_gaps(record)))


def mark_complete(record: ATRSRecord, *, date: str | None = None) -> ATRSRecord:
    """A copy of ``record`` marked complete (with today's completion date).

    Raises
    ------
    GovernanceError
        While :func:`find_gaps` lists anything: a mandatory field is empty, any field holds
        the "to be completed" marker (anywhere in its text), or a value is not valid.
    """
    gaps = find_gaps(record)
    if gaps:
        raise GovernanceError.build(
            f"The ATRS record cannot be marked complete while {len(gaps)} field(s) need a person",
            expected="every mandatory field filled in, no 'TO BE COMPLETED BY A PERSON' left "
            "and valid emails, dates, web addresses and Companies House numbers",
            got=[f"{g.label} {g.problem}" for g in gaps[:5]],
            fix="Run 'civicml atrs check NAME VERSION' for the list, then 'civicml atrs fill'",
        )
    meta = record.metadata.model_copy(
        update={"date_completion": date or _dt.date.today().isoformat()}
    )
    return record.model_copy(update={"metadata": meta, "complete": True})


def atrs_json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ATRSRecord` (for other tools to validate atrs.json)."""
    return ATRSRecord.model_json_schema(by_alias=True)
