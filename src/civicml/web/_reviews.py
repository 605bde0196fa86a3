"""The dashboard's review queue: every served model's open cases, oldest first, with their age.

It reads the review queue ``civicml serve`` keeps beside each model's decision log
(``.civicml/decisions/NAME/review_queue.db``). It shows what a person needs to pick up a case —
which model, why it is open, how long it has waited, the model's decision — and nothing a
person wrote: a contest's reason is read by reviewers through the serving API, not here.

Examples
--------
>>> age_in_words(59), age_in_words(3 * 3600 + 5), age_in_words(2 * 86400)
('under a minute', '3 hours', '2 days')
>>> review_queues("no/such/folder")
[]
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from civicml.web._context import Ctx, endpoint

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["OpenCase", "ReviewQueueView", "age_in_words", "review_queues", "routes"]

_QUEUE_FILE = "review_queue.db"
_MAX_CASES = 200


@dataclass(frozen=True)
class OpenCase:
    """One open case as the dashboard shows it."""

    case_id: str
    model_version: str
    opened_because: str
    opened_at: str
    age_seconds: float
    model_decision: Any

    @property
    def age(self) -> str:
        return age_in_words(self.age_seconds)

    @property
    def why(self) -> str:
        return "contested" if self.opened_because == "contest" else "needs a reviewer"


@dataclass
class ReviewQueueView:
    """One model's queue: its open cases, oldest first (``message`` when it cannot be read)."""

    model: str
    cases: list[OpenCase] = field(default_factory=list)
    message: str = ""

    @property
    def oldest(self) -> str:
        return self.cases[0].age if self.cases else "-"


def age_in_words(seconds: float) -> str:
    """A case's age in the largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        n = int(seconds // size)
        if n >= 1:
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return "under a minute"


def review_queues(log_root: str | os.PathLike[str] | None) -> list[ReviewQueueView]:
    """Every model folder under ``log_root`` that has a review queue, by model name."""
    if log_root is None:
        return []
    root = Path(log_root)
    if not root.is_dir():
        return []
    views = []
    for db in sorted(root.glob(f"*/{_QUEUE_FILE}")):
        views.append(_view(db.parent.name, db))
    return views


def _view(model: str, db: Path) -> ReviewQueueView:
    from civicml.serve import ReviewQueue

    try:
        queue = ReviewQueue.open(db)
    except Exception as exc:  # one unreadable queue must not hide the others
        return ReviewQueueView(
            model, message=f"The queue could not be read ({type(exc).__name__})."
        )
    try:
        rows = queue.queue(limit=_MAX_CASES)
    finally:
        queue.close()
    cases = [
        OpenCase(
            case_id=str(r["case_id"]),
            model_version=str(r.get("model_version") or "-"),
            opened_because=str(r.get("opened_because") or ""),
            opened_at=str(r.get("opened_at") or ""),
            age_seconds=float(r.get("age_seconds") or 0.0),
            model_decision=r.get("model_decision"),
        )
        for r in rows
    ]
    return ReviewQueueView(model, cases)


@endpoint()
def reviews(ctx: Ctx) -> Response:
    """Open review cases of every served model, oldest first, with their age."""
    return ctx.render("reviews.html", queues=review_queues(ctx.web.config.decision_log))


def routes() -> list[Any]:
    """The Starlette route of this page (Starlette is imported only here)."""
    from starlette.routing import Route

    return [Route("/reviews", reviews)]
