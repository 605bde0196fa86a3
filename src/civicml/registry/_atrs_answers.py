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

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from civicml._errors import CivicMLError, GovernanceError
from civicml.registry._governance import same_person
from civicml.registry._names import check_model_name, check_text
from civicml.registry._records import EventDraft
from civicml.registry._replay import answer_key
from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.registry._identity import Actor
    from civicml.registry._records import ModelVersion
    from civicml.registry._registry import Registry

__all__ = [
    "EXEMPTION",
    "VERSION_TIED",
    "AtrsCheck",
    "atrs_answers",
    "atrs_exemption",
    "atrs_problems",
    "record_atrs_exemption",
    "set_atrs_answers",
    "version_tied",
]

#: the answer id under which a recorded exemption from publishing the ATRS record is kept
#: (its answer is the reason; it is not a field of the record, so ``atrs fill`` cannot set it)
EXEMPTION = "atrs.exemption"

#: what finds the gaps of a version's ATRS record: ``(registry, version) -> gap descriptions``
AtrsCheck = Callable[["Registry", "ModelVersion"], Sequence[str]]

#: answer ids (or their starts) whose answer belongs to one version of the model: what the
#: version is and how it performs (model details, data, risks from its assessment, its phase
#: and dates, texts civicml generates from its results). Every other answer is shared by all
#: versions of the model.
VERSION_TIED: tuple[str, ...] = (
    EXEMPTION,
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
        action = "atrs.exemption" if set(details["fields"]) == {EXEMPTION} else "atrs.answers"
        return EventDraft(who.name, action, f"{name}/{version}", reason, details)

    written = registry.store.set_atrs_answer_rows(name, make_rows, make_event)
    return list(written.values())


def atrs_answers(registry: Registry, name: str, version: int) -> dict[str, dict[str, Any]]:
    """The answers that apply to ``name`` version ``version``, by answer id: the model's shared
    answers and this version's own (an exemption is not an answer: see :func:`atrs_exemption`). Each row holds ``answer``, ``revision``, ``answered_by``,
    ``answered_at`` and ``reason``."""
    registry.get_version(name, version)  # NotFoundError for a version that does not exist
    rows = registry.store.atrs_answer_rows(name, (0, version))
    return {  # plain str keys (a database row's are its column names' own str type)
        str(r["field"]): {str(k): v for k, v in r.items()}
        for r in rows
        if (r["version"] == version) == version_tied(r["field"]) and r["field"] != EXEMPTION
    }


def atrs_exemption(registry: Registry, name: str, version: int) -> dict[str, Any] | None:
    """The recorded exemption from an ATRS record for ``name`` version ``version`` (its row:
    ``answer`` is the reason, with ``answered_by`` and ``answered_at``), or None."""
    row = registry.store.atrs_answer_rows(name, (version,))
    found = [r for r in row if r["field"] == EXEMPTION and r["version"] == version]
    if not found or not isinstance(found[0]["answer"], str) or not found[0]["answer"].strip():
        return None
    return {str(k): v for k, v in found[0].items()}


def record_atrs_exemption(
    registry: Registry, name: str, version: int, *, reason: str | None, actor: str | Actor
) -> dict[str, Any] | None:
    """Record (or, with ``reason=None``, withdraw) an exemption from publishing an ATRS record.

    An exempt version may take a serving alias without a complete record (the Algorithmic
    Transparency Recording Standard allows exemptions, e.g. for national security or crime
    prevention). The reason is required and audited, and the person recording it must not be
    the person who registered the version (the two-person rule, as for approval).
    """
    who = registry._who(actor, "actor")
    v = registry.get_version(name, version)
    text = None if reason is None else check_text(reason, "reason")
    if same_person(who.name, v.created_by):
        raise GovernanceError.build(
            f"{who.name} registered {name} v{version}, so {who.name} cannot exempt it from the "
            "ATRS record (two-person rule)",
            fix=f"Ask another person to run 'civicml atrs exempt {name} {version} --reason TEXT'",
        )
    why = text or "exemption withdrawn"
    set_atrs_answers(registry, name, version, {EXEMPTION: text}, actor=who, reason=why)
    return atrs_exemption(registry, name, version)


def atrs_problems(registry: Registry, version: ModelVersion, check: AtrsCheck | None) -> list[str]:
    """What the ATRS record stops: empty when ``version`` is exempt or its record has no gaps.

    Fails closed: with no ``check`` (a process that cannot build the record) the record counts
    as not checked, never as complete.
    """
    if atrs_exemption(registry, version.name, version.version) is not None:
        return []
    if check is None:
        return [
            "an ATRS record this process cannot check (use the civicml CLI, server or dashboard, "
            "or set Registry.atrs_check = civicml.web.atrs_gaps)"
        ]
    try:
        gaps = [str(g) for g in check(registry, version)]
    except CivicMLError as exc:  # no record can be built (e.g. an old bundle): not complete
        return [f"an ATRS record that could not be built ({exc})"]
    if not gaps:
        return []
    shown = ", ".join(gaps[:4]) + (f" and {len(gaps) - 4} more" if len(gaps) > 4 else "")
    return [f"an ATRS record with {len(gaps)} gap{'s' if len(gaps) != 1 else ''} ({shown})"]
