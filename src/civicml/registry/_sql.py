"""The SQLAlchemy store: SQLite (file or in-memory) and PostgreSQL behind one implementation.

It sits on :mod:`civicml.storage` (URLs, the shared engine, migrations, serialised writes).
Writers are serialised so that version numbers and the audit chain can never fork:

* SQLite opens every write transaction with ``BEGIN IMMEDIATE`` (WAL mode, so readers carry on);
* PostgreSQL locks the single audit-head row with ``SELECT … FOR UPDATE`` first.

Every change appends its audit event in the same transaction, and a unique constraint on
``(model, version)`` backs the allocation up. A process killed at any moment therefore leaves
either the whole change or none of it.

Examples
--------
>>> store = SQLStore("sqlite://")
>>> store.connect()
>>> from civicml.registry._records import EventDraft
>>> v = store.create_version(
...     "demo", digest="a" * 64, artifact_key="aa/" + "a" * 64, created_by="Ada", reason=None,
...     fields={}, make_event=lambda v: EventDraft("Ada", "register", v.ref))
>>> v.ref, store.audit_head()[0]
('demo/1', 1)
>>> store.close()
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import civicml.registry._schema as t
from civicml._errors import ConflictError, NotFoundError, RegistryError
from civicml._scopes import scope_prefixes
from civicml.registry._audit import (
    GENESIS_HASH,
    REPAIR,
    AuditKey,
    broken_chain,
    canonical_json,
    chain_event,
    event_hash_text,
)
from civicml.registry._names import fold_alias
from civicml.registry._records import (
    AuditEvent,
    Decision,
    EventDraft,
    KeyInfo,
    ModelSummary,
    ModelVersion,
    TokenInfo,
)
from civicml.registry._replay import (
    ANSWER_ACTIONS,
    TableState,
    answer_key,
    token_state,
    version_state,
)
from civicml.registry._rows import (
    answer_state,
    encode_changes,
    event_from_row,
    loads,
    token_from_row,
    version_from_row,
    with_state,
)
from civicml.registry._store import (
    AliasMove,
    Expect,
    RegistryStore,
    TokenSecret,
    VersionChange,
)
from civicml.storage import Database, dialect_of, normalise_url, open_database, utc_now

__all__ = ["SQLStore", "utc_now"]

T = TypeVar("T")
_WHAT = "registry database"
_SETTING = "--registry (or CIVICML_REGISTRY)"
# every registry writer locks the audit chain's head row first (PostgreSQL)
_CHAIN_LOCK = sa.select(t.audit_head.c.seq).where(t.audit_head.c.id == 1).with_for_update()


class SQLStore(RegistryStore):
    """The registry store on SQLite or PostgreSQL.

    Parameters
    ----------
    url : str
        ``sqlite:///PATH`` (a file, WAL mode), ``sqlite://`` (in memory, one shared connection)
        or ``postgresql://USER@HOST:PORT/DB`` (psycopg 3). Nothing is opened until
        :meth:`connect`.
    """

    def __init__(self, url: str) -> None:
        #: the key that MACs every new audit event (set by the registry; ``None``: no MACs)
        self.audit_key: AuditKey | None = None
        self.url = normalise_url(url, what=_WHAT, setting=_SETTING)
        self._db: Database | None = None

    # -- connection -----------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return dialect_of(self.url)

    @property
    def engine(self) -> Engine:
        return self._database().engine

    def _database(self) -> Database:
        if self._db is None:
            raise RegistryError.build(
                "The registry store is not connected", fix="Open it with open_registry(uri)"
            )
        return self._db

    def connect(self) -> None:
        if self._db is None:
            self._db = open_database(self.url, what=_WHAT, setting=_SETTING)

    def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def _read(self) -> AbstractContextManager[Connection]:
        return self._database().read()

    def _write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a serialised write transaction, retrying lock timeouts."""
        return self._database().write(fn, lock=_CHAIN_LOCK, retry_integrity=True)

    # -- helpers inside a transaction -----------------------------------------------------
    @staticmethod
    def _model_id(conn: Connection, name: str) -> int | None:
        return conn.execute(sa.select(t.models.c.id).where(t.models.c.name == name)).scalar()

    def _require_model(self, conn: Connection, name: str) -> int:
        mid = self._model_id(conn, name)
        if mid is None:
            raise NotFoundError.build(
                f"There is no model named {name!r} in the registry",
                fix="Run 'civicml models list' to see the registered models",
            )
        return mid

    @staticmethod
    def _aliases_of(conn: Connection, model_ids: list[int]) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {mid: {} for mid in model_ids}
        if not model_ids:
            return out
        rows = conn.execute(
            sa.select(t.aliases.c.model_id, t.aliases.c.alias, t.aliases.c.version)
            .where(t.aliases.c.model_id.in_(model_ids))
            .order_by(t.aliases.c.alias)
        )
        for mid, alias, ver in rows:
            key = fold_alias(alias)  # rows from before aliases were normalised
            if key not in out[mid] or alias == key:
                out[mid][key] = ver
        return out

    def _append(self, conn: Connection, draft: EventDraft) -> AuditEvent:
        head = conn.execute(
            sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
        ).one()
        if draft.action != REPAIR:
            self._check_tail(conn, head.seq, head.hash)
        ev = chain_event(
            head.seq + 1,
            utc_now(),
            draft.actor,
            draft.action,
            draft.subject,
            draft.reason,
            dict(draft.details),
            head.hash,
            self.audit_key,
        )
        conn.execute(
            t.audit.insert().values(
                seq=ev.seq,
                time=ev.time,
                actor=ev.actor,
                action=ev.action,
                subject=ev.subject,
                reason=ev.reason,
                details=canonical_json(ev.details),
                prev_hash=ev.prev_hash,
                hash=ev.hash,
                mac=ev.mac,
            )
        )
        conn.execute(
            t.audit_head.update().where(t.audit_head.c.id == 1).values(seq=ev.seq, hash=ev.hash)
        )
        return ev

    def _check_tail(self, conn: Connection, seq: int, head_hash: str) -> None:
        """Refuse to extend a chain whose newest event does not match its head (one lookup)."""
        if seq == 0:
            return
        row = conn.execute(sa.select(t.audit).where(t.audit.c.seq == seq)).first()
        ev = None if row is None else event_from_row(row)
        problem = None
        if ev is None or ev.hash != head_hash:
            problem = f"the chain head names event {seq}, which is missing or differs"
        else:
            assert row is not None
            recomputed = event_hash_text(
                ev.seq,
                ev.time,
                ev.actor,
                ev.action,
                ev.subject,
                ev.reason,
                row.details,
                ev.prev_hash,
            )
            key = self.audit_key
            if recomputed != ev.hash:
                problem = f"event {seq} was edited after it was written"
            elif key is not None and seq >= key.since and ev.mac != key.mac(ev.hash):
                problem = f"event {seq} has no valid MAC under the audit key"
        if problem is not None:
            raise broken_chain(problem)

    @staticmethod
    def _logged_state(conn: Connection, ref: str) -> dict[str, Any] | None:
        """The newest state of version ``ref`` the audit log records: its last full-state
        event, or a later recorded repair that accepted the row as it stood."""
        a = t.audit
        rows = conn.execute(
            sa.select(a.c.seq, a.c.details)
            .where(a.c.subject == ref, a.c.action.not_in(ANSWER_ACTIONS))  # rows of their own
            .order_by(a.c.seq.desc())
            .limit(50)
        ).all()
        found: tuple[int, dict[str, Any]] | None = None
        for seq, text in rows:
            state = loads(text, {}).get("state") if text else None
            if isinstance(state, dict):
                found = (seq, state)
                break
        since = found[0] if found else 0
        repairs = conn.execute(
            sa.select(a.c.details)
            .where(a.c.subject == "audit", a.c.action == REPAIR, a.c.seq > since)
            .order_by(a.c.seq.desc())
        ).all()
        for (text,) in repairs:
            rows_of = (loads(text, {}).get("rows") or {}).get("versions") or {}
            if ref in rows_of:
                return rows_of[ref]
        return found[1] if found else None

    def _checked_version(self, conn: Connection, name: str, version: int) -> ModelVersion | None:
        """Read a version and refuse to build on it when its row differs from the state its
        newest full-state audit event recorded (someone edited the table)."""
        current = self._read_version(conn, name, version)
        if current is None:
            return None
        ref = f"{name}/{version}"
        state = self._logged_state(conn, ref)
        if state is not None:
            now = version_state(current)
            changed = sorted(k for k in state if state.get(k) != now.get(k))
            if changed:
                raise broken_chain(
                    f"the row of {ref} differs from its audit log ({', '.join(changed)})"
                )
        return current

    def _version_row(self, conn: Connection, mid: int, version: int) -> Any:
        return conn.execute(
            sa.select(t.versions).where(
                t.versions.c.model_id == mid, t.versions.c.version == version
            )
        ).first()

    def _read_version(self, conn: Connection, name: str, version: int) -> ModelVersion | None:
        mid = self._model_id(conn, name)
        if mid is None:
            return None
        row = self._version_row(conn, mid, version)
        if row is None:
            return None
        als = self._aliases_of(conn, [mid])[mid]
        return version_from_row(row, name, tuple(a for a, v in als.items() if v == version))

    # -- versions -------------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        *,
        digest: str,
        artifact_key: str,
        created_by: str,
        reason: str | None,
        fields: Mapping[str, Any],
        make_event: Callable[[ModelVersion], EventDraft],
    ) -> ModelVersion:
        values = encode_changes(fields)

        def tx(conn: Connection) -> ModelVersion:
            now = utc_now()
            mid = self._model_id(conn, name)
            if mid is None:
                inserted = conn.execute(
                    t.models.insert().values(
                        name=name, created_at=now, created_by=created_by, latest_version=0
                    )
                ).inserted_primary_key
                assert inserted is not None
                mid = inserted[0]
            else:
                same = conn.execute(
                    sa.select(t.versions.c.version).where(
                        t.versions.c.model_id == mid, t.versions.c.digest == digest
                    )
                ).scalar()
                if same is not None:
                    raise ConflictError.build(
                        f"{name} v{same} already holds this bundle (sha256 {digest[:12]}…)",
                        fix=f"Use {name}/{same}, or register a different bundle",
                    )
            latest = conn.execute(
                sa.select(t.models.c.latest_version).where(t.models.c.id == mid)
            ).scalar_one()
            number = latest + 1
            conn.execute(
                t.models.update().where(t.models.c.id == mid).values(latest_version=number)
            )
            row = {
                "model_id": mid,
                "version": number,
                "digest": digest,
                "artifact_key": artifact_key,
                "status": "registered",
                "created_at": now,
                "created_by": created_by,
                "reason": reason,
                "owner": "{}",
                "out_of_scope_uses": "[]",
                "checks": "[]",
                "legal": "{}",
                **values,
            }
            conn.execute(t.versions.insert().values(**row))
            record = version_from_row(self._version_row(conn, mid, number), name)
            self._append(conn, with_state(make_event(record), version_state(record)))
            return record

        return self._write(tx)

    def get_version(self, name: str, version: int) -> ModelVersion | None:
        with self._read() as conn:
            return self._read_version(conn, name, version)

    def get_alias_version(self, name: str, alias: str) -> ModelVersion | None:
        v, m, a = t.versions, t.models, t.aliases
        query = (
            sa.select(v)
            .select_from(a.join(m, m.c.id == a.c.model_id))
            .join(v, sa.and_(v.c.model_id == a.c.model_id, v.c.version == a.c.version))
            .where(m.c.name == name, sa.func.lower(a.c.alias) == alias)
            .order_by(sa.case((a.c.alias == alias, 0), else_=1), a.c.alias)
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        return None if row is None else version_from_row(row, name, (alias,))

    def list_versions(
        self,
        name: str,
        *,
        limit: int = 50,
        offset: int = 0,
        before: int | None = None,
        status: str | None = None,
    ) -> list[ModelVersion]:
        with self._read() as conn:
            mid = self._require_model(conn, name)
            query = sa.select(t.versions).where(t.versions.c.model_id == mid)
            if before is not None:
                query = query.where(t.versions.c.version < before)
            if status is not None:
                query = query.where(t.versions.c.status == status)
            rows = conn.execute(
                query.order_by(t.versions.c.version.desc()).limit(limit).offset(offset)
            ).all()
            als = self._aliases_of(conn, [mid])[mid]
        by_version: dict[int, list[str]] = {}
        for alias, ver in als.items():
            by_version.setdefault(ver, []).append(alias)
        return [version_from_row(r, name, tuple(by_version.get(r.version, ()))) for r in rows]

    def update_version(
        self, name: str, version: int, apply: Callable[[ModelVersion], VersionChange]
    ) -> ModelVersion:
        def tx(conn: Connection) -> ModelVersion:
            mid = self._require_model(conn, name)
            current = self._checked_version(conn, name, version)
            if current is None:
                raise NotFoundError.build(
                    f"Model {name!r} has no version {version}",
                    fix=f"Run 'civicml models show {name}' to see its versions",
                )
            change = apply(current)
            vid = conn.execute(
                sa.select(t.versions.c.id).where(
                    t.versions.c.model_id == mid, t.versions.c.version == version
                )
            ).scalar_one()
            if change.changes:
                conn.execute(
                    t.versions.update()
                    .where(t.versions.c.id == vid)
                    .values(**encode_changes(change.changes))
                )
            if change.decision is not None:
                d = change.decision
                conn.execute(
                    t.decisions.insert().values(
                        version_id=vid, kind=d.kind, actor=d.actor, reason=d.reason, at=d.at
                    )
                )
            updated = self._read_version(conn, name, version)
            assert updated is not None
            self._append(conn, with_state(change.event, version_state(updated)))
            return updated

        return self._write(tx)

    def decisions(self, name: str, version: int) -> list[Decision]:
        d, v, m = t.decisions, t.versions, t.models
        query = (
            sa.select(d.c.kind, d.c.actor, d.c.reason, d.c.at)
            .select_from(d.join(v, v.c.id == d.c.version_id).join(m, m.c.id == v.c.model_id))
            .where(m.c.name == name, v.c.version == version)
            .order_by(d.c.id)
        )
        with self._read() as conn:
            return [Decision(*row) for row in conn.execute(query)]

    # -- models and aliases ---------------------------------------------------------------
    def get_model(self, name: str) -> ModelSummary | None:
        found = self._models(sa.select(t.models).where(t.models.c.name == name))
        return found[0] if found else None

    def list_models(
        self,
        *,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
        scope: Sequence[str] = (),
    ) -> list[ModelSummary]:
        query = sa.select(t.models)
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(t.models.c.name.ilike(f"%{escaped}%", escape="\\"))
        if scope:
            # case-sensitive on both dialects: substr, not LIKE (SQLite's LIKE folds case)
            names, prefixes = scope_prefixes(scope)
            name = t.models.c.name
            query = query.where(
                sa.or_(
                    name.in_(names),
                    *(sa.func.substr(name, 1, len(p)) == p for p in prefixes),
                )
            )
        return self._models(query.order_by(t.models.c.name).limit(limit).offset(offset))

    def _models(self, query: Any) -> list[ModelSummary]:
        with self._read() as conn:
            rows = conn.execute(query).all()
            als = self._aliases_of(conn, [r.id for r in rows])
        return [
            ModelSummary(
                name=r.name,
                created_at=r.created_at,
                created_by=r.created_by,
                latest_version=r.latest_version,
                version_count=r.latest_version,  # versions are never deleted
                aliases=als[r.id],
            )
            for r in rows
        ]

    def move_alias(
        self,
        name: str,
        alias: str,
        choose: Callable[[AliasMove], tuple[int | None, EventDraft]],
        *,
        expect: Expect | None = None,
    ) -> int | None:
        def tx(conn: Connection) -> int | None:
            mid = self._require_model(conn, name)
            a, h = t.aliases, t.alias_history
            # ASCII aliases: lower() is their case fold, so legacy rows ('Production') match
            same = sa.and_(a.c.model_id == mid, sa.func.lower(a.c.alias) == alias)
            every = self._aliases_of(conn, [mid])[mid]
            current = every.get(alias)
            if expect is not None and expect.version != current:
                raise _moved(name, alias, expect, current)
            recent = conn.execute(
                sa.select(h.c.action, h.c.version)
                .where(h.c.model_id == mid, sa.func.lower(h.c.alias) == alias)
                .order_by(h.c.id.desc())
                .limit(500)
            ).all()
            history = [(act, ver) for act, ver in reversed(recent)]
            state = AliasMove(
                name,
                alias,
                current,
                history,
                lambda n: self._checked_version(conn, name, n),
                every,
            )
            target, draft = choose(state)
            now = utc_now()
            if current is not None:
                # compare-and-set in SQL: the row must still point where it was read (on
                # PostgreSQL a concurrent mover blocks on the row lock, then finds it gone)
                held = conn.execute(a.delete().where(same, a.c.version == current)).rowcount
                if held == 0:
                    raise _moved(name, alias, expect or Expect(current), None)
            conn.execute(a.delete().where(same))  # legacy spellings of the alias
            if target is not None:
                # an empty alias filled meanwhile fails the primary key: the write retries,
                # rereads, and a stated expectation then no longer holds
                conn.execute(
                    a.insert().values(
                        model_id=mid,
                        alias=alias,
                        version=target,
                        updated_at=now,
                        updated_by=draft.actor,
                    )
                )
            conn.execute(
                h.insert().values(
                    model_id=mid,
                    alias=alias,
                    version=target,
                    action=draft.action,
                    at=now,
                    actor=draft.actor,
                )
            )
            self._append(conn, draft)
            return target

        return self._write(tx)

    # -- audit ----------------------------------------------------------------------------
    def append_event(self, event: EventDraft) -> AuditEvent:
        return self._write(lambda conn: self._append(conn, event))

    def audit_events(
        self, *, after: int = 0, limit: int | None = None, subject: str | None = None
    ) -> list[AuditEvent]:
        query = sa.select(t.audit).where(t.audit.c.seq > after)
        if subject is not None:
            query = query.where(t.audit.c.subject == subject)
        query = query.order_by(t.audit.c.seq)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [event_from_row(r) for r in rows]

    def audit_head(self) -> tuple[int, str] | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.audit_head.c.seq, t.audit_head.c.hash).where(t.audit_head.c.id == 1)
            ).first()
        if row is None:
            return (-1, "")  # the head row itself was deleted: never matches a real chain
        return None if row.seq == 0 else (row.seq, row.hash)

    def audit_events_text(
        self, *, after: int = 0, limit: int = 5000
    ) -> list[tuple[AuditEvent, str]]:
        """Events with their details text exactly as stored (what the verifier hashes)."""
        query = sa.select(t.audit).where(t.audit.c.seq > after).order_by(t.audit.c.seq).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [(event_from_row(r), r[6]) for r in rows]

    def has_keyed_events(self) -> bool:
        """Whether any audit event carries a MAC (the log was written under a key)."""
        with self._read() as conn:
            return (
                conn.execute(
                    sa.select(t.audit.c.seq).where(t.audit.c.mac.is_not(None)).limit(1)
                ).first()
                is not None
            )

    def table_state(self) -> TableState:
        """Every governed row as the replay keys it (see :class:`TableState`)."""
        out = TableState()
        with self._read() as conn:
            names = dict(conn.execute(sa.select(t.models.c.id, t.models.c.name)).all())
            vids: dict[int, str] = {}
            for row in conn.execute(sa.select(t.versions)).all():
                ref = f"{names[row.model_id]}/{row.version}"
                vids[row.id] = ref
                out.versions[ref] = version_state(version_from_row(row, names[row.model_id]))
            d = t.decisions
            for vid, kind, actor, reason in conn.execute(
                sa.select(d.c.version_id, d.c.kind, d.c.actor, d.c.reason).order_by(d.c.id)
            ).all():
                out.decisions.setdefault(vids.get(vid, f"?{vid}"), []).append([kind, actor, reason])
            for mid, aliases in self._aliases_of(conn, list(names)).items():
                for alias, version in aliases.items():
                    out.aliases[f"{names[mid]}@{alias}"] = version
            for row in conn.execute(sa.select(t.tokens)).all():
                out.tokens[row.id] = token_state(token_from_row(row), row.salt, row.hash)
            for row in conn.execute(sa.select(t.keys)).all():
                out.keys[row.fingerprint] = {
                    k: v for k, v in row._mapping.items() if k != "public_key"
                } | {"public_key_sha256": hashlib.sha256(row.public_key.encode()).hexdigest()}
            for row in conn.execute(sa.select(t.atrs_answers)).all():
                state = answer_state(row)
                out.atrs_answers[answer_key(state)] = state
        return out

    def append_repair(self, make_event: Callable[[int], EventDraft]) -> AuditEvent:
        """Append a repair event after the newest event that exists, resetting a head row that
        was deleted or points past it. ``make_event`` gets that event's sequence number."""

        def tx(conn: Connection) -> AuditEvent:
            last = conn.execute(
                sa.select(t.audit.c.seq, t.audit.c.hash).order_by(t.audit.c.seq.desc()).limit(1)
            ).first()
            seq, digest = (last.seq, last.hash) if last is not None else (0, GENESIS_HASH)
            conn.execute(t.audit_head.delete())
            conn.execute(t.audit_head.insert().values(id=1, seq=seq, hash=digest))
            return self._append(conn, make_event(seq))

        return self._write(tx)

    # -- tokens ---------------------------------------------------------------------------
    def insert_token(self, secret: TokenSecret, event: EventDraft) -> TokenInfo:
        info = secret.info

        def tx(conn: Connection) -> TokenInfo:
            taken = conn.execute(
                sa.select(t.tokens.c.id).where(t.tokens.c.name == info.name)
            ).scalar()
            if taken is not None:
                raise ConflictError.build(
                    f"A token named {info.name!r} already exists",
                    fix="Choose another --name, or revoke and rename the old one",
                )
            conn.execute(
                t.tokens.insert().values(
                    id=info.id,
                    name=info.name,
                    salt=secret.salt,
                    hash=secret.hash,
                    scopes=",".join(info.scopes),
                    rate_limit=info.rate_limit,
                    created_at=info.created_at,
                    created_by=info.created_by,
                    owner=info.owner,
                    models=",".join(info.models) or None,
                )
            )
            self._append(conn, with_state(event, token_state(info, secret.salt, secret.hash)))
            return info

        return self._write(tx)

    def get_token(self, token_id: str) -> TokenSecret | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.tokens).where(t.tokens.c.id == token_id)).first()
        if row is None:
            return None
        return TokenSecret(token_from_row(row), row.salt, row.hash)

    def list_tokens(self) -> list[TokenInfo]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.tokens).order_by(t.tokens.c.created_at.desc(), t.tokens.c.name)
            ).all()
        return [token_from_row(r) for r in rows]

    def revoke_token(
        self, name_or_id: str, actor: str, make_event: Callable[[TokenInfo], EventDraft]
    ) -> TokenInfo:
        def tx(conn: Connection) -> TokenInfo:
            row = conn.execute(
                sa.select(t.tokens).where(
                    sa.or_(t.tokens.c.name == name_or_id, t.tokens.c.id == name_or_id)
                )
            ).first()
            if row is None:
                raise NotFoundError.build(
                    f"There is no token named {name_or_id!r}",
                    fix="Run 'civicml tokens list' to see the tokens",
                )
            info = token_from_row(row)
            if info.revoked_at is not None:
                raise ConflictError.build(
                    f"The token {info.name!r} was already revoked at {info.revoked_at}"
                )
            now = utc_now()
            conn.execute(
                t.tokens.update()
                .where(t.tokens.c.id == info.id)
                .values(revoked_at=now, revoked_by=actor)
            )
            revoked = dataclasses.replace(info, revoked_at=now, revoked_by=actor)
            state = token_state(revoked, row.salt, row.hash)
            self._append(conn, with_state(make_event(revoked), state))
            return revoked

        return self._write(tx)

    # -- signing keys ---------------------------------------------------------------------
    def insert_key(self, info: KeyInfo, event: EventDraft) -> KeyInfo:
        def tx(conn: Connection) -> KeyInfo:
            taken = conn.execute(
                sa.select(t.keys.c.owner, t.keys.c.revoked_at).where(
                    t.keys.c.fingerprint == info.fingerprint
                )
            ).first()
            if taken is not None:
                state = "was revoked" if taken.revoked_at else f"is registered to {taken.owner}"
                raise ConflictError.build(
                    f"The signing key {info.fingerprint[:16]}… {state} already",
                    fix="Run 'civicml keys list' to see the keys; a revoked key cannot come "
                    "back, so create a new one with 'civicml keys create --force'",
                )
            conn.execute(
                t.keys.insert().values(
                    fingerprint=info.fingerprint,
                    owner=info.owner,
                    public_key=info.public_key,
                    created_at=info.created_at,
                    created_by=info.created_by,
                )
            )
            self._append(conn, event)
            return info

        return self._write(tx)

    def get_key(self, fingerprint: str) -> KeyInfo | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.keys).where(t.keys.c.fingerprint == fingerprint)).first()
        return None if row is None else KeyInfo(**row._mapping)

    def list_keys(self) -> list[KeyInfo]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.keys).order_by(t.keys.c.created_at.desc(), t.keys.c.fingerprint)
            ).all()
        return [KeyInfo(**r._mapping) for r in rows]

    def revoke_key(
        self, fingerprint: str, actor: str, make_event: Callable[[KeyInfo], EventDraft]
    ) -> KeyInfo:
        def tx(conn: Connection) -> KeyInfo:
            row = conn.execute(sa.select(t.keys).where(t.keys.c.fingerprint == fingerprint)).first()
            if row is None:
                raise NotFoundError.build(
                    f"There is no signing key with fingerprint {fingerprint!r}",
                    fix="Run 'civicml keys list' to see the keys",
                )
            info = KeyInfo(**row._mapping)
            if info.revoked_at is not None:
                raise ConflictError.build(
                    f"The signing key {fingerprint[:16]}… was already revoked at {info.revoked_at}"
                )
            revoked = dataclasses.replace(info, revoked_at=utc_now(), revoked_by=actor)
            event = make_event(revoked)
            conn.execute(
                t.keys.update()
                .where(t.keys.c.fingerprint == fingerprint)
                .values(revoked_at=revoked.revoked_at, revoked_by=actor)
            )
            self._append(conn, event)
            return revoked

        return self._write(tx)

    # -- ATRS answers ---------------------------------------------------------------------
    def atrs_answer_rows(self, name: str, versions: tuple[int, ...]) -> list[dict[str, Any]]:
        a = t.atrs_answers
        with self._read() as conn:
            rows = conn.execute(
                sa.select(a)
                .where(a.c.model == name, a.c.version.in_(versions))
                .order_by(a.c.version, a.c.field)
            ).all()
        return [answer_state(r) for r in rows]

    def set_atrs_answer_rows(
        self,
        name: str,
        make_rows: Callable[[dict[str, dict[str, Any]]], dict[str, dict[str, Any]]],
        make_event: Callable[[dict[str, dict[str, Any]]], EventDraft | None],
    ) -> dict[str, dict[str, Any]]:
        a = t.atrs_answers

        def tx(conn: Connection) -> dict[str, dict[str, Any]]:
            current = {
                answer_key(s): s
                for s in (
                    answer_state(r)
                    for r in conn.execute(sa.select(a).where(a.c.model == name)).all()
                )
            }
            rows = make_rows(current)
            event = make_event(rows)
            if event is None:
                return {}
            for key, row in rows.items():
                values = {**row, "answer": canonical_json(row["answer"])}
                if key in current:
                    conn.execute(
                        a.update()
                        .where(
                            a.c.model == row["model"],
                            a.c.version == row["version"],
                            a.c.field == row["field"],
                        )
                        .values(**values)
                    )
                else:
                    conn.execute(a.insert().values(**values))
            self._append(conn, event)
            return rows

        return self._write(tx)


def _moved(name: str, alias: str, expect: Expect, current: int | None) -> ConflictError:
    """The conflict of a compare-and-set alias move whose expectation no longer holds."""
    now = "points at nothing" if current is None else f"points at v{current}"
    again = "none" if current is None else str(current)
    return ConflictError.build(
        f"{name}@{alias} {now}, not {expect.describe()} as this move expected: someone else "
        "moved it meanwhile, so nothing was changed",
        fix=f"Check 'civicml models show {name}', then promote again with --expect {again} "
        "(API: expected_version) if you still mean to replace it",
    )
