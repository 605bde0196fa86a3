"""Cases over HTTP: server-assigned case ids, contesting a decision, and reviewing it.

Every decision gets a case id the server makes (a client's ``X-Request-Id`` is not unique, so it
is kept only as a reference). The routes, served by :class:`~civicml.serve.ServingApp`:

``POST /decisions/{case_id}/contest`` (``predict`` scope; the service that asked for the
decision, or a reviewer)
    ``{"reason": "..."}``: opens the case for a person.
``POST /decisions/{case_id}/review`` (``review`` scope)
    ``{"decision": ..., "reason": "..."}``: the one final outcome; the reviewer is whoever the
    token says, and a ``reviewer`` (or any other) field is refused with 422. Reviewing again is
    a new event that states what changed.
``GET /decisions/queue`` and ``GET /decisions/{case_id}`` (``review`` scope)
    Open cases oldest first with their age; one case with its events.

Recent decisions are remembered in memory (bounded), so a contest needs no SQL write on the
prediction path; an older one is found in the decision log.

Examples
--------
>>> desk = CaseDesk(None)
>>> len(desk.new_id())
32
>>> check_review_body(b'{"decision": 0, "reviewer": "someone-else"}')
Traceback (most recent call last):
civicml.asgi._errors.HTTPError: The reviewer is the identity of the token that sends the review; do not send 'reviewer'.
>>> check_review_body(b'{"decision": 0, "reason": "Evidence of work"}')
(0, 'Evidence of work')
"""

from __future__ import annotations

import asyncio
import collections
import os
from pathlib import Path
from typing import Any

import orjson

from civicml.asgi import HTTPError, Principal
from civicml.serve._decision_log import DecisionLog, read_decision_log
from civicml.serve._oip import loads_json
from civicml.serve._reviews import QUEUE_FILE, ReviewQueue

__all__ = ["CaseDesk", "check_contest_body", "check_review_body"]

_MAX_REASON = 2_000
_IDENTITY_FIELDS = ("reviewer", "by", "reviewed_by", "actor", "contested_by", "user")
_SERVER_FIELDS = ("model_name", "model_version", "model_sha256", "caller", "caller_id")
_NO_QUEUE = (
    "This server keeps no review queue: it was started without a decision log folder. "
    "Serve with a decision log (civicml serve does by default)."
)


def _doc(body: bytes) -> dict[str, Any]:
    try:
        doc = loads_json(body) if body else None
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        raise HTTPError(422, "invalid", "Send a JSON object.")
    return doc


def _refuse_identity(doc: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in doc:
        if key in _IDENTITY_FIELDS:
            raise HTTPError(
                422,
                "invalid",
                f"The reviewer is the identity of the token that sends the review; do not "
                f"send {key!r}.",
            )
        if key not in allowed:
            raise HTTPError(
                422, "invalid", f"Unknown field {key[:50]!r}: send only {', '.join(allowed)}."
            )


def _reason(doc: dict[str, Any]) -> str | None:
    reason = doc.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > _MAX_REASON):
        raise HTTPError(422, "invalid", f"'reason' must be text of at most {_MAX_REASON} chars.")
    return reason.strip() or None if isinstance(reason, str) else None


def check_review_body(body: bytes) -> tuple[Any, str | None]:
    """``(decision, reason)`` from a review body, or a 422 :class:`~civicml.asgi.HTTPError`."""
    doc = _doc(body)
    _refuse_identity(doc, ("decision", "reason"))
    if "decision" not in doc:
        raise HTTPError(
            422, "invalid", 'Send {"decision": ..., "reason": "..."} with the final outcome.'
        )
    decision = doc["decision"]
    if not isinstance(decision, (str, int, float, bool)) or (
        isinstance(decision, str) and len(decision) > 200
    ):
        raise HTTPError(422, "invalid", "'decision' must be a short string or a number.")
    return decision, _reason(doc)


def check_contest_body(body: bytes) -> str:
    """The reason from a contest body, or a 422 :class:`~civicml.asgi.HTTPError`."""
    doc = _doc(body)
    _refuse_identity(doc, ("reason",))
    reason = _reason(doc)
    if not reason:
        raise HTTPError(
            422, "invalid", 'Send {"reason": "..."}: why the person contests this decision.'
        )
    return reason


def _who(token: Any) -> tuple[str, str]:
    """The authenticated identity (the person a token acts as) and the token's id."""
    p = Principal.of(token)
    return p.acts_as[:200], p.id[:100]


class CaseDesk:
    """Case ids, the recent decisions, and the review queue of one serving app.

    Parameters
    ----------
    decision_log : DecisionLog, optional
        The log (its folder holds the queue's SQLite file, and older decisions).
    queue : ReviewQueue, path or URL, optional
        Where the queue is (default: ``review_queue.db`` in the decision-log folder).
    max_recent : int
        How many recent decisions are remembered in memory.
    """

    def __init__(
        self,
        decision_log: DecisionLog | None,
        queue: ReviewQueue | str | Path | None = None,
        *,
        max_recent: int = 100_000,
    ) -> None:
        self.decision_log = decision_log
        self._where = queue
        if queue is None and decision_log is not None:
            self._where = decision_log.folder / QUEUE_FILE
        self.queue: ReviewQueue | None = queue if isinstance(queue, ReviewQueue) else None
        self.max_recent = max_recent
        self._recent: collections.OrderedDict[str, tuple[Any, ...]] = collections.OrderedDict()

    def start(self) -> None:
        """Open the queue (idempotent)."""
        if self.queue is None and self._where is not None:
            self.queue = ReviewQueue.open(self._where)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.queue is not None and not isinstance(self._where, ReviewQueue):
            self.queue.close()
            self.queue = None

    @staticmethod
    def new_id() -> str:
        """A fresh case id: 128 random bits as hex (unguessable, unique; ``uuid4`` costs 6x)."""
        return os.urandom(16).hex()

    # -- the prediction path --------------------------------------------------------------
    def remember(self, case_id: str, facts: tuple[Any, ...]) -> None:
        """Keep ``(request_ref, caller, caller_id, runtime, outputs, row, time)`` of a case."""
        recent = self._recent
        recent[case_id] = facts
        if len(recent) > self.max_recent:
            recent.popitem(last=False)

    async def open_for_review(self, case_ids: list[str]) -> None:
        """Queue these decisions for a reviewer (human-in-the-loop), off the event loop."""
        if self.queue is None:
            return
        cases = [self._from_memory(c) for c in case_ids]
        await asyncio.to_thread(self.queue.open_cases, [c for c in cases if c], because="review")

    def _from_memory(self, case_id: str) -> dict[str, Any] | None:
        facts = self._recent.get(case_id)
        if facts is None:
            return None
        ref, caller, caller_id, rt, out, i, when = facts
        outputs = {k: v[i] for k, v in out.items()}
        return {
            "case_id": case_id,
            "request_ref": ref,
            "model_name": rt.name,
            "model_version": rt.version,
            "decided_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "model_decision": outputs.get("decision", outputs.get("prediction")),
            "explanation": outputs,
            "caller": caller,
            "caller_id": caller_id,
        }

    def _from_log(self, case_id: str) -> dict[str, Any] | None:
        """An older decision from the decision log (slow; only for a contest)."""
        if self.decision_log is None:
            return None
        df = read_decision_log(self.decision_log.folder)
        if "case_id" not in df.columns:
            return None
        rows = df[df["case_id"] == case_id]
        if not len(rows):
            return None
        row = rows.iloc[0].to_dict()
        outputs: dict[str, Any] = {}
        for key in ("prediction", "score", "decision", "probability", "cluster", "is_anomaly"):
            if key in row and row[key] is not None and row[key] == row[key]:
                outputs[key] = row[key].item() if hasattr(row[key], "item") else row[key]
        when = row["time"]
        return {
            "case_id": case_id,
            "request_ref": row.get("request_id"),
            "model_name": row.get("model_name"),
            "model_version": row.get("model_version"),
            "decided_at": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "model_decision": outputs.get("decision", outputs.get("prediction")),
            "explanation": outputs,
            "caller": row.get("caller"),
            "caller_id": row.get("caller_id"),
        }

    # -- the routes -----------------------------------------------------------------------
    def _queue(self) -> ReviewQueue:
        if self.queue is None:
            raise HTTPError(404, "not_found", _NO_QUEUE)
        return self.queue

    async def contest(self, case_id: str, body: bytes, token: Any) -> dict[str, Any]:
        """``POST /decisions/{case_id}/contest``."""
        reason = check_contest_body(body)
        queue = self._queue()
        who, who_id = _who(token)
        case = self._from_memory(case_id)
        if case is None:
            case = await asyncio.to_thread(self._from_log, case_id)
        existing = None if case is not None else await asyncio.to_thread(queue.get, case_id)
        known = case or existing
        if known is None:
            raise HTTPError(
                404,
                "not_found",
                f"No decision has case id {case_id!r}. Use the case id the prediction returned "
                "(X-Case-Id); a decision made in the last few seconds by another worker may "
                "need a moment to reach the log.",
            )
        may = Principal.of(token).allows("review") or known.get("caller_id") == who_id
        if not may:
            raise HTTPError(
                403,
                "forbidden",
                "Only the service that asked for this decision, or a reviewer, can contest it.",
            )
        opened = await asyncio.to_thread(
            queue.contest, case_id, reason=reason, by=who, by_id=who_id, case=case
        )
        assert opened is not None
        return {
            "case_id": case_id,
            "status": opened["status"],
            "contested_at": opened["contested_at"],
            "message": "The decision is contested; a person will review it.",
        }

    async def review(self, case_id: str, body: bytes, token: Any) -> dict[str, Any]:
        """``POST /decisions/{case_id}/review``."""
        decision, reason = check_review_body(body)
        queue = self._queue()
        who, who_id = _who(token)
        case = await asyncio.to_thread(queue.get, case_id)
        if case is None:
            raise HTTPError(
                404,
                "not_found",
                f"No case {case_id!r} is in the review queue. Cases are opened by a "
                "human-in-the-loop decision or by contesting it (POST /decisions/{case_id}/"
                "contest).",
            )
        if not _same(decision, case["model_decision"]) and not reason:
            raise HTTPError(
                422, "invalid", "An override needs a 'reason'. Say why the reviewer disagreed."
            )
        done = await asyncio.to_thread(
            queue.review,
            case_id,
            decision=decision,
            reason=reason,
            reviewer=who,
            reviewer_id=who_id,
        )
        assert done is not None
        if self.decision_log is not None:
            self.decision_log.review(
                case_id,
                reviewer_decision=decision,
                reason=reason,
                reviewer=who,
                overridden=done["overridden"],
                request_id=case.get("request_ref"),
            )
        return {
            "case_id": case_id,
            "event": done["kind"],
            "reviewer": who,
            "model_decision": case["model_decision"],
            "reviewer_decision": decision,
            "overridden": done["overridden"],
            "changed": done["changed"],
        }

    async def list_open(self, limit: int = 200) -> dict[str, Any]:
        """``GET /decisions/queue``: open cases, oldest first, with their age."""
        cases = await asyncio.to_thread(self._queue().queue, limit=limit)
        keep = (
            "case_id",
            "request_ref",
            "model_name",
            "model_version",
            "decided_at",
            "opened_at",
            "opened_because",
            "age_seconds",
            "model_decision",
            "explanation",
            "contest_reason",
        )
        return {"open": len(cases), "cases": [{k: c.get(k) for k in keep} for c in cases]}

    async def show(self, case_id: str) -> dict[str, Any]:
        """``GET /decisions/{case_id}``: the case and its events."""
        queue = self._queue()
        case = await asyncio.to_thread(queue.get, case_id)
        if case is None:
            raise HTTPError(404, "not_found", f"No case {case_id!r} is in the review queue.")
        case["events"] = await asyncio.to_thread(queue.events, case_id)
        return case


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b)
