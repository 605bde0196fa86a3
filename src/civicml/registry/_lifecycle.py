"""A version's life after approval: reviews on a schedule, and retirement.

* **Reviews.** Every approved version is reviewed every ``review_every`` months (the spec's
  ``review_every:``, read from the bundle when it is registered; 12 by default). A review is a
  decision (``review``) with a person's notes, audited like an approval; the next one is due that
  many months after the last review, or after approval when there has been none.
* **Retirement.** ``retire`` takes a version out of use for good: its aliases go (a serving one
  only with ``force``), its status becomes ``retired``, and nothing can approve, promote, serve
  or roll back to it again. The decision records who retired it and why.

Examples
--------
>>> add_months("2026-01-31", 1), add_months("2026-11-15", 12)
('2026-02-28', '2027-11-15')
>>> review_months(6), review_months(18), review_months(None)
(6, 18, 12)
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import TYPE_CHECKING, Any

from civicml._errors import ConflictError, RegistryError
from civicml.registry._identity import event_draft as _event
from civicml.registry._names import check_model_name, check_text
from civicml.registry._records import Decision
from civicml.registry._store import VersionChange
from civicml.storage import utc_now

if TYPE_CHECKING:
    from civicml.registry._identity import Actor
    from civicml.registry._records import ModelVersion
    from civicml.registry._registry import Registry

__all__ = [
    "DEFAULT_REVIEW_MONTHS",
    "add_months",
    "refuse_if_retired",
    "retire_version",
    "review_due",
    "review_months",
    "review_state",
    "review_version",
]

#: how often an approved version is reviewed when the spec says nothing
DEFAULT_REVIEW_MONTHS = 12


def review_months(value: Any) -> int:
    """``review_every`` as a number of months (the spec stores it as months, 1 to 120)."""
    if value is None or value == "":
        return DEFAULT_REVIEW_MONTHS
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 120:
        return value
    raise RegistryError.build(
        "The bundle's review period is not usable",
        expected="a number of months from 1 to 120",
        got=value,
        fix="Set review_every in civicml.yaml (e.g. review_every: 12 months) and train again",
    )


def add_months(day: str, months: int) -> str:
    """The ISO date ``months`` after ``day`` (an ISO date or timestamp), kept within its month."""
    start = dt.date.fromisoformat(str(day)[:10])
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last)).isoformat()


def review_due(version: ModelVersion, decisions: list[Decision]) -> str | None:
    """When ``version`` is next due for review (None unless it is approved)."""
    if version.status != "approved" or not version.approved_at:
        return None
    reviews = [d.at for d in decisions if d.kind == "review"]
    last = max([version.approved_at, *reviews])
    months = review_months((version.legal or {}).get("review_every_months"))
    return add_months(last, months)


def review_state(
    version: ModelVersion, decisions: list[Decision], today: str | None = None
) -> dict:
    """``{"due": date or None, "overdue": bool, "last_review": date or None}`` for a version."""
    due = review_due(version, decisions)
    today = today or _today()
    reviews = sorted(d.at for d in decisions if d.kind == "review")
    return {
        "due": due,
        "overdue": bool(due and due < today),
        "last_review": reviews[-1][:10] if reviews else None,
    }


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def refuse_if_retired(version: ModelVersion, doing: str) -> None:
    """A retired version never comes back: refuse ``doing`` it."""
    if version.status == "retired":
        raise ConflictError.build(
            f"{version.name} v{version.version} was retired, so you cannot {doing}",
            fix="Register a new version (train again) if the model is needed once more",
        )


def review_version(
    registry: Registry, name: str, version: int, *, actor: str | Actor, notes: str
) -> ModelVersion:
    """Record a review of an approved version: a ``review`` decision with the notes, audited."""
    who = registry._who(actor, "reviewer name")
    notes = check_text(notes, "review notes", limit=5_000)

    def apply(v: ModelVersion) -> VersionChange:
        if v.status != "approved":
            raise ConflictError.build(
                f"{v.name} v{v.version} is {v.status}, so there is no use of it to review",
                expected="an approved version",
            )
        return VersionChange(
            _event(who, "review", v.ref, notes), {}, Decision("review", who.name, notes, utc_now())
        )

    return registry.store.update_version(check_model_name(name), int(version), apply)


def retire_version(
    registry: Registry,
    name: str,
    version: int,
    *,
    actor: str | Actor,
    reason: str,
    force: bool = False,
) -> ModelVersion:
    """Take a version out of use for good: its aliases go (a serving one only with ``force``:
    retiring what serves leaves that alias empty), its status becomes ``retired``, and nothing
    can approve, promote, serve or roll back to it again."""
    who = registry._who(actor, "actor")
    reason = check_text(reason, "reason")
    v = registry.get_version(name, version)
    refuse_if_retired(v, "retire it again")
    serving = [a for a in v.aliases if registry.is_serving(a)]
    if serving and not force:
        raise ConflictError.build(
            f"{v.name} v{v.version} is serving as {', '.join(serving)}",
            fix=f"Promote or roll back to another version first ('civicml models rollback "
            f"{v.name} --alias {serving[0]}'), or pass --force to leave {serving[0]!r} "
            "with no version",
        )
    for alias in v.aliases:
        registry.remove_alias(name, alias, actor=who, reason=f"retired: {reason}")

    def apply(cur: ModelVersion) -> VersionChange:
        refuse_if_retired(cur, "retire it again")
        return VersionChange(
            _event(who, "retire", cur.ref, reason, previous=cur.status),
            {"status": "retired"},
            Decision("retire", who.name, reason, utc_now()),
        )

    return registry.store.update_version(check_model_name(name), int(version), apply)
