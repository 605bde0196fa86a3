"""A person's answers to a model's ATRS record, kept in the registry, versioned and audited.

civicml pre-fills an ATRS record from the bundle each time it is asked (see
:func:`civicml.report.build_atrs`); what only a person knows (the senior responsible owner's
role, how people appeal, the DPIA's date) is stored here, one row per field, keyed by the field's
answer id (``owner.senior_responsible_owner_role``, ``impact_assessment.1.date``). The record a
department publishes is the generated part plus these answers.

Each change bumps the field's revision and appends one ``atrs.answers`` audit event carrying the
full new rows under ``details["state"]``, so ``civicml models audit --verify`` names a row edited
in the table directly.

Answers to fields about the model as a tool (owner, contact, purpose, the public description,
appeals, impact assessments) are shared by every version of the model (stored under version 0)
and so carry over to a new version; answers to fields about one version (its model details and
performance, its data, its risks, its phase and dates) are stored under that version only.

Examples
--------
>>> from civicml.registry import open_registry, set_atrs_answers, atrs_answers
>>> from civicml.bundle import save_bundle
>>> import tempfile
>>> tmp = tempfile.mkdtemp()
>>> b = save_bundle(tmp + "/b", documents={"model_info.json": {"task": "binary"}})
>>> reg = open_registry("sqlite://", artifacts="memory://doc", project_dir=tmp)
>>> v = reg.register(b.path, "demo", actor="rosa")
>>> rows = set_atrs_answers(reg, "demo", 1, {"metadata.region": "England",
...     "model.1.performance": "As measured."}, actor="rosa", reason="first draft")
>>> sorted((r["field"], r["version"], r["revision"]) for r in rows)
[('metadata.region', 0, 1), ('model.1.performance', 1, 1)]
>>> atrs_answers(reg, "demo", 1)["metadata.region"]["answer"]
'England'
>>> version_tied("model.1.performance"), version_tied("owner.team")
(True, False)
>>> reg.close()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from civicml._errors import GovernanceError
from civicml.registry._names import check_model_name
from civicml.registry._records import EventDraft
from civicml.registry._replay import answer_key
from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.registry._identity import Actor
    from civicml.registry._registry import Registry

__all__ = ["VERSION_TIED", "atrs_answers", "set_atrs_answers", "version_tied"]

#: answer ids (or their starts) whose answer belongs to one version of the model: what the
#: version is and how it performs (model details, data, risks from its assessment, its phase
#: and dates, texts civicml generates from its results). Every other answer is shared by all
#: versions of the model.
VERSION_TIED: tuple[str, ...] = (
    "metadata.phase",
    "metadata.date_completion",
    "metadata.date_update",
    "metadata.date_archive",
    "rationale.detailed_description",
    "rationale.alternatives_considered",
    "decisions.information_provided",
    "tool.system_architecture",
    "tool.phase",
    "model.",
    "energy.",
    "risk.",
    "data.source_data_name",
    "data.data_modality",
    "data.data_description",
    "data.data_quantities",
    "data.sensitive_attributes",
    "data.data_completeness_and_representativeness",
    "data.data_cleaning",
)
_MAX_ID = 100
_MAX_ANSWER = 20_000


def version_tied(field_id: str) -> bool:
    """Whether an answer to ``field_id`` belongs to one version (else to every version)."""
    return any(field_id == p or (p.endswith(".") and field_id.startswith(p)) for p in VERSION_TIED)


def _check_answer(field_id: str, value: Any) -> Any:
    if not isinstance(field_id, str) or not field_id.strip() or len(field_id) > _MAX_ID:
        raise GovernanceError.build(
            "An ATRS answer id is not valid",
            expected=f"a field id of at most {_MAX_ID} characters, e.g. owner.team",
            got=field_id,
        )
    ok = value is None or isinstance(value, str | bool | int | float)
    ok = ok or (isinstance(value, list) and all(isinstance(x, str) for x in value))
    if not ok or len(str(value)) > _MAX_ANSWER:
        raise GovernanceError.build(
            f"The answer to {field_id!r} is not text",
            expected=f"text (at most {_MAX_ANSWER} characters), yes/no, a number or a list of text",
            got=type(value).__name__,
        )
    return value


def set_atrs_answers(
    registry: Registry,
    name: str,
    version: int,
    answers: Mapping[str, Any],
    *,
    actor: str | Actor,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Store a person's answers to the ATRS record of ``name`` version ``version``.

    ``answers`` maps answer ids to text (the caller checks the ids against the record, see
    :func:`civicml.report.answer_ids`). Answers equal to the stored ones are left alone; each
    changed field gets the next revision, and one audit event records every changed row in full.
    Writes follow the registry's actor rules (in server mode only verified people).

    Returns
    -------
    list of dict
        The rows written (empty when nothing changed).
    """
    who = registry._who(actor, "actor")  # the registry's own rules for who may write
    check_model_name(name)
    registry.get_version(name, version)  # NotFoundError for a version that does not exist
    checked = {str(k).strip(): _check_answer(str(k).strip(), v) for k, v in answers.items()}
    now = utc_now()

    def make_rows(current: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for field_id, value in checked.items():
            row = {
                "model": name,
                "version": version if version_tied(field_id) else 0,
                "field": field_id,
            }
            key = answer_key(row)
            old = current.get(key)
            if old is not None and old["answer"] == value:
                continue
            rows[key] = {
                **row,
                "answer": value,
                "revision": (old["revision"] if old else 0) + 1,
                "answered_by": who.name,
                "answered_at": now,
                "reason": reason,
            }
        return rows

    def make_event(rows: dict[str, dict[str, Any]]) -> EventDraft | None:
        if not rows:
            return None
        details = {"state": rows, "fields": sorted(r["field"] for r in rows.values())}
        details["identity"] = who.identity()
        return EventDraft(who.name, "atrs.answers", f"{name}/{version}", reason, details)

    written = registry.store.set_atrs_answer_rows(name, make_rows, make_event)
    return list(written.values())


def atrs_answers(registry: Registry, name: str, version: int) -> dict[str, dict[str, Any]]:
    """The answers that apply to ``name`` version ``version``, by answer id: the model's shared
    answers and this version's own. Each row holds ``answer``, ``revision``, ``answered_by``,
    ``answered_at`` and ``reason``."""
    registry.get_version(name, version)  # NotFoundError for a version that does not exist
    rows = registry.store.atrs_answer_rows(name, (0, version))
    return {  # plain str keys (a database row's are its column names' own str type)
        str(r["field"]): {str(k): v for k, v in r.items()}
        for r in rows
        if (r["version"] == version) == version_tied(r["field"])
    }
