"""The review queue: cases for a person to decide, kept in SQL so they survive a restart.

A case is one decision the server made, under the case id the server assigned. It is opened when
a human-in-the-loop deployment decides (every decision waits for a reviewer) or when the service
that asked for a decision contests it for the person it concerns, with their reason. A reviewer
(a token with the ``review`` scope; the name comes from the token, never from the request)
records one final outcome; a later review of the same case is a new event that states what
changed. Every step is an event in ``review_events``; ``review_cases`` holds each case's current
state, the model's decision and the explanation given with it.

The queue is a SQLite file beside the decision log by default (``0600``), or any URL the shared
SQL layer (:mod:`civicml.storage`) opens.

Examples
--------
>>> q = ReviewQueue.open("sqlite://")
>>> q.open_cases([{"case_id": "c1", "request_ref": "r1", "model_name": "claims",
...                "model_version": "1", "model_decision": 1, "explanation": {"score": 0.8},
...                "caller": "caseworker-app", "caller_id": "t1", "decided_at": "2024-01-01"}])
>>> [c["case_id"] for c in q.queue()]
['c1']
>>> q.review("c1", decision=0, reason="Evidence of work", reviewer="ana", reviewer_id="t2")["kind"]
'reviewed'
>>> q.queue(), q.get("c1")["status"], q.get("c1")["overridden"]
([], 'closed', True)
>>> q.review("c1", decision=1, reason="Evidence was forged", reviewer="bo", reviewer_id="t3")[
...     "changed"]
{'decision': {'from': 0, 'to': 1}, 'reason': {'from': 'Evidence of work', 'to': 'Evidence was forged'}, 'reviewer': {'from': 'ana', 'to': 'bo'}}
>>> [e["kind"] for e in q.events("c1")]
['opened', 'reviewed', 're-reviewed']
>>> q.close()
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from civicml._files import make_private, private_dir, write_private_bytes
from civicml.storage import Database, is_memory_url, normalise_url, open_engine, utc_now

__all__ = ["QUEUE_FILE", "ReviewQueue", "review_cases", "review_events", "review_metadata"]

#: the queue's SQLite file in the decision-log folder
QUEUE_FILE = "review_queue.db"

# The queue's own tables (created if missing when it opens); see the report of issue 19 for
# moving them into civicml.storage's Alembic history.
review_metadata = sa.MetaData()
_TIME = sa.String(32)
_WHO = sa.String(200)

review_cases = sa.Table(
    "review_cases",
    review_metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("request_ref", sa.String(128)),
    sa.Column("model_name", sa.String(100)),
    sa.Column("model_version", sa.String(64)),
    sa.Column("decided_at", _TIME),
    sa.Column("model_decision", sa.Text),
    sa.Column("explanation", sa.Text),
    sa.Column("caller", _WHO),
    sa.Column("caller_id", sa.String(100)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("opened_at", _TIME, nullable=False),
    sa.Column("opened_because", sa.String(32), nullable=False),
    sa.Column("contest_reason", sa.Text),
    sa.Column("contested_by", _WHO),
    sa.Column("contested_at", _TIME),
    sa.Column("outcome", sa.Text),
    sa.Column("outcome_reason", sa.Text),
    sa.Column("overridden", sa.Boolean),
    sa.Column("reviewed_by", _WHO),
    sa.Column("reviewed_at", _TIME),
    sa.Index("ix_review_cases_status_opened", "status", "opened_at"),
)

review_events = sa.Table(
    "review_events",
    review_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.String(64), sa.ForeignKey("review_cases.case_id"), nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("actor", _WHO, nullable=False),
    sa.Column("actor_id", sa.String(100)),
    sa.Column("decision", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("changed", sa.Text),
    sa.Index("ix_review_events_case", "case_id", "id"),
)

_JSON_COLUMNS = ("model_decision", "explanation", "outcome")
_CASE_FIELDS = (
    "case_id",
    "request_ref",
    "model_name",
    "model_version",
    "decided_at",
    "model_decision",
    "explanation",
    "caller",
    "caller_id",
)


def _dumps(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _same(a: Any, b: Any) -> bool:
    """Decisions compare as text (``1`` and ``"1"`` are the same outcome)."""
    return str(a) == str(b)


class ReviewQueue:
    """Cases waiting for (or decided by) a person, in SQL. Open with :meth:`open`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, where: str | os.PathLike[str]) -> ReviewQueue:
        """The queue at ``where``: a SQLite file path (created ``0600``), or a database URL."""
        text = os.fspath(where)
        if "://" not in text:
            path = Path(text)
            private_dir(path.parent)
            if not path.exists():
                write_private_bytes(path, b"")  # SQLite then keeps the file's mode (and WAL's)
            make_private(path)
        url = normalise_url(text, what="review queue", setting="the review queue URL")
        engine = open_engine(url, durable=not is_memory_url(url))
        db = Database(url, engine, what="review queue")
        try:
            _create_tables(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    def close(self) -> None:
        self.db.close()

    # -- writes ---------------------------------------------------------------------------
    def open_cases(self, cases: Iterable[Mapping[str, Any]], *, because: str = "review") -> None:
        """Open a case for each decision (``human-in-the-loop``: every decision is reviewed)."""
        rows = [self._case_row(c, because) for c in cases]
        if not rows:
            return
        events = [
            {"case_id": r["case_id"], "at": r["opened_at"], "kind": "opened", "actor": "model"}
            for r in rows
        ]

        def write(conn: Connection) -> None:
            conn.execute(review_cases.insert(), rows)
            conn.execute(review_events.insert(), events)

        self.db.write(write)

    def contest(
        self,
        case_id: str,
        *,
        reason: str,
        by: str,
        by_id: str | None = None,
        case: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Contest a decision: (re)open its case with the reason. ``case`` describes the decision
        when no case exists yet; ``None`` comes back when there is neither."""

        def write(conn: Connection) -> dict[str, Any] | None:
            now = utc_now()
            row = self._row(conn, case_id)
            values = {"contest_reason": reason, "contested_by": by, "contested_at": now}
            if row is None:
                if case is None:
                    return None
                new = {**self._case_row(case, "contest"), **values, "opened_at": now}
                conn.execute(review_cases.insert().values(**new))
            else:
                conn.execute(
                    review_cases.update()
                    .where(review_cases.c.case_id == case_id)
                    .values(status="open", **values)
                )
            self._event(conn, case_id, "contested", by, by_id, reason=reason, at=now)
            return self._row(conn, case_id)

        return self.db.write(write)

    def review(
        self,
        case_id: str,
        *,
        decision: Any,
        reason: str | None,
        reviewer: str,
        reviewer_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Record the reviewer's final outcome; a later review is a ``re-reviewed`` event that
        states what changed. Returns the event (with ``case``), or ``None`` for no such case."""

        def write(conn: Connection) -> dict[str, Any] | None:
            row = self._row(conn, case_id)
            if row is None:
                return None
            now = utc_now()
            changed: dict[str, Any] | None = None
            kind = "reviewed"
            if row["reviewed_at"] is not None:
                kind = "re-reviewed"
                changed = {}
                before = {"decision": row["outcome"], "reason": row["outcome_reason"]}
                before["reviewer"] = row["reviewed_by"]
                after = {"decision": decision, "reason": reason, "reviewer": reviewer}
                for key in ("decision", "reason", "reviewer"):
                    if not _same(before[key], after[key]):
                        changed[key] = {"from": before[key], "to": after[key]}
            overridden = not _same(decision, row["model_decision"])
            conn.execute(
                review_cases.update()
                .where(review_cases.c.case_id == case_id)
                .values(
                    status="closed",
                    outcome=_dumps(decision),
                    outcome_reason=reason,
                    overridden=overridden,
                    reviewed_by=reviewer,
                    reviewed_at=now,
                )
            )
            self._event(
                conn, case_id, kind, reviewer, reviewer_id, decision, reason, changed, at=now
            )
            return {
                "kind": kind,
                "changed": changed,
                "overridden": overridden,
                "case": self._row(conn, case_id),
            }

        return self.db.write(write)

    # -- reads ----------------------------------------------------------------------------
    def get(self, case_id: str) -> dict[str, Any] | None:
        """One case as a dict (JSON columns decoded), or ``None``."""
        with self.db.read() as conn:
            return self._row(conn, case_id)

    def events(self, case_id: str) -> list[dict[str, Any]]:
        """Every event of a case, oldest first."""
        t = review_events
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.case_id == case_id).order_by(t.c.id)
            ).mappings()
            out = []
            for r in rows:
                event = _plain(r)
                event["decision"] = _loads(event["decision"])
                event["changed"] = _loads(event["changed"])
                out.append(event)
            return out

    def queue(self, *, limit: int = 200, now: _dt.datetime | None = None) -> list[dict[str, Any]]:
        """Open cases, oldest first, each with ``age_seconds`` since it was opened."""
        t = review_cases
        now = now or _dt.datetime.now(_dt.UTC)
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.status == "open").order_by(t.c.opened_at).limit(limit)
            ).mappings()
            out = [_decode(_plain(r)) for r in rows]
        for case in out:
            opened = _dt.datetime.strptime(case["opened_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
            age = now - opened.replace(tzinfo=_dt.UTC)
            case["age_seconds"] = round(max(age.total_seconds(), 0.0), 3)
        return out

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _case_row(case: Mapping[str, Any], because: str) -> dict[str, Any]:
        row: dict[str, Any] = {k: case.get(k) for k in _CASE_FIELDS}
        for k in ("model_decision", "explanation"):
            row[k] = _dumps(row[k])
        row.update(status="open", opened_at=utc_now(), opened_because=because)
        return row

    @staticmethod
    def _row(conn: Connection, case_id: str) -> dict[str, Any] | None:
        t = review_cases
        row = conn.execute(sa.select(t).where(t.c.case_id == case_id)).mappings().first()
        return None if row is None else _decode(_plain(row))

    @staticmethod
    def _event(
        conn: Connection,
        case_id: str,
        kind: str,
        actor: str,
        actor_id: str | None,
        decision: Any = None,
        reason: str | None = None,
        changed: dict[str, Any] | None = None,
        *,
        at: str,
    ) -> None:
        conn.execute(
            review_events.insert().values(
                case_id=case_id,
                at=at,
                kind=kind,
                actor=actor,
                actor_id=actor_id,
                decision=_dumps(decision),
                reason=reason,
                changed=_dumps(changed),
            )
        )


def _create_tables(db: Database) -> None:
    """Create the queue's tables if missing (two workers may race: the loser finds them)."""
    for attempt in range(3):
        try:
            with db.transaction() as conn:
                review_metadata.create_all(conn, checkfirst=True)
            return
        except sa.exc.OperationalError as exc:
            if attempt == 2 or "already exists" not in str(exc).lower():
                raise
        except sa.exc.ProgrammingError:  # PostgreSQL: a concurrent CREATE TABLE
            if attempt == 2:
                raise


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A result row as a dict with plain ``str`` keys (JSON encoders refuse SQLAlchemy's)."""
    return {str(k): v for k, v in row.items()}


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for k in _JSON_COLUMNS:
        row[k] = _loads(row[k])
    if row.get("overridden") is not None:
        row["overridden"] = bool(row["overridden"])
    return row
