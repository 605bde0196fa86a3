"""A person's answers put into an ATRS record (:func:`normalise_answers`, :func:`apply_answers`) and
the registry's approval record (:func:`record_approval`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from civicml.report._atrs_parts import (
    approval_risk,
    signed,
)
from civicml.report._atrs_schema import (
    ATRSRecord,
    answer_ids,
    record_fields,
)

__all__ = [
    "apply_answers",
    "normalise_answers",
    "record_approval",
]


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
    >>> from civicml.report import build_bandit_atrs
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
    return signed(out, str(doc["_civicml"].get("bundle_digest") or ""), out.civicml.get("approval"))


def record_approval(record: ATRSRecord, approval: dict[str, Any] | None) -> ATRSRecord:
    """``record`` with the registry's approval record of its version.

    ``approval`` is ``civicml.registry.approval_record``'s dict (the caller reads the
    registry). It becomes the mitigation of 2.5's sign-off risk (the standard's place for the
    assurance a tool has before use) and is kept whole under ``_civicml.approval``. A version
    not approved leaves that mitigation for a person to complete. Nothing here says a name was
    verified unless its audit event says a server verified it.

    Examples
    --------
    >>> from civicml.report import build_bandit_atrs
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
    risks = [r for r in section.risks if r.risk != approval_risk(None).risk]
    section.risks = [*risks, approval_risk(approval)]
    return signed(record, str(record.civicml.get("bundle_digest") or ""), approval)


# --- a supervised (or unsupervised) model ----------------------------------------------------------
