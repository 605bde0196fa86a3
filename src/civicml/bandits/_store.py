"""The bandit store: bandits, policy versions and the decision log, in SQLite or PostgreSQL.

Its three ``bandit_*`` tables are part of civicml's one Alembic history (revision 0003), opened
and migrated through :mod:`civicml.storage` like the registry's. Every decision is committed
before the API answers (SQLite syncs every commit, ``synchronous=FULL``), and a reward is
recorded at most once per decision (a conditional ``UPDATE … WHERE reward IS NULL``), so a
retried reward is harmless and a restart rebuilds the policy from the log.

Examples
--------
>>> from civicml.bandits._spec import BanditSpec
>>> store = open_bandit_store("sqlite://")
>>> _ = store.create_bandit(BanditSpec(name="demo", arms=["a", "b"]))
>>> d = store.log_decision("demo", "d1", policy_version=1, context={}, arm="a", propensity=0.5)
>>> store.record_reward("demo", "d1", 1.0)[1], store.record_reward("demo", "d1", 1.0)[1]
(True, False)
>>> store.arm_stats("demo")["a"]["pulls"]
1
>>> store.close()
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from civicml._errors import ConflictError, NotFoundError, RegistryError
from civicml.bandits._records import BanditLog, BanditRecord, LoggedDecision
from civicml.bandits._spec import BanditSpec, spec_from_dict
from civicml.storage import Database, display_url, open_database, utc_now
from civicml.storage import bandit_bandits as bandits_t
from civicml.storage import bandit_decisions as decisions_t
from civicml.storage import bandit_policies as policies_t

__all__ = ["DEFAULT_URI", "BanditStore", "display_uri", "open_bandit_store", "utc_now"]

DEFAULT_URI = "sqlite:///.civicml/bandits.db"
_WHAT = "bandit store"
_SETTING = "the bandit store URL (CIVICML_BANDITS_DB)"


class BanditStore:
    """Bandits and their decision logs in one SQL database.

    Parameters
    ----------
    uri : str
        A SQLAlchemy URL: ``sqlite:///path.db``, ``sqlite://`` (in memory) or
        ``postgresql://…``. The constructor does no I/O; :meth:`connect` does.
    """

    def __init__(self, uri: str = DEFAULT_URI) -> None:
        self.uri = uri
        self._db: Database | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the database and migrate it (the bandit tables included) to the newest schema."""
        if self._db is None:
            self._db = open_database(self.uri, what=_WHAT, setting=_SETTING, durable=True)

    def close(self) -> None:
        """Release the database connections."""
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    @property
    def engine(self) -> Engine:
        return self._database().engine

    def _database(self) -> Database:
        if self._db is None:
            raise RegistryError.build(
                "The bandit store is not connected", fix="Call connect() or open_bandit_store()"
            )
        return self._db

    def _read(self) -> AbstractContextManager[Connection]:
        return self._database().read()

    def _transaction(self) -> AbstractContextManager[Connection]:
        return self._database().transaction()

    # -- bandits ---------------------------------------------------------------------------
    def create_bandit(
        self, spec: BanditSpec, *, exist_ok: bool = False, reason: str = "created"
    ) -> BanditRecord:
        """Store a new bandit and its first policy version (1).

        With ``exist_ok`` an identical existing bandit is returned; a different one is a
        :class:`ConflictError` either way.
        """
        doc = spec.model_dump(mode="json")
        now = utc_now()
        with self._transaction() as conn:
            row = conn.execute(sa.select(bandits_t).where(bandits_t.c.name == spec.name)).first()
            if row is not None:
                if exist_ok and json.loads(row.spec) == doc:
                    return self._record(conn, row)
                raise ConflictError.build(
                    f"A bandit named {spec.name!r} already exists",
                    fix="Choose another name, or use the existing bandit",
                )
            conn.execute(
                bandits_t.insert().values(
                    name=spec.name, spec=json.dumps(doc), policy_version=1, created_at=now
                )
            )
            conn.execute(
                policies_t.insert().values(
                    bandit=spec.name,
                    version=1,
                    config=json.dumps(spec.policy_config),
                    reason=reason,
                    created_at=now,
                )
            )
        return self.get_bandit(spec.name)

    def get_bandit(self, name: str) -> BanditRecord:
        """The bandit's record; :class:`NotFoundError` if there is none."""
        with self._read() as conn:
            row = conn.execute(sa.select(bandits_t).where(bandits_t.c.name == name)).first()
            if row is None:
                raise NotFoundError.build(
                    f"There is no bandit named {name[:64]!r}",
                    fix="Create it with 'civicml bandits create NAME --spec bandit.yaml'",
                )
            return self._record(conn, row)

    def spec(self, name: str) -> BanditSpec:
        """The bandit's spec."""
        return spec_from_dict(self.get_bandit(name).spec)

    def list_bandits(self) -> list[str]:
        """Every bandit's name, sorted."""
        with self._read() as conn:
            return sorted(r[0] for r in conn.execute(sa.select(bandits_t.c.name)))

    def set_policy(self, name: str, config: dict[str, Any], *, reason: str) -> int:
        """Make ``config`` the serving policy; returns its new version number."""
        with self._transaction() as conn:
            row = conn.execute(sa.select(bandits_t).where(bandits_t.c.name == name)).first()
            if row is None:
                raise NotFoundError.build(f"There is no bandit named {name[:64]!r}")
            version = int(row.policy_version) + 1
            conn.execute(
                policies_t.insert().values(
                    bandit=name,
                    version=version,
                    config=json.dumps(config),
                    reason=reason,
                    created_at=utc_now(),
                )
            )
            conn.execute(
                bandits_t.update()
                .where(bandits_t.c.name == name, bandits_t.c.policy_version == row.policy_version)
                .values(policy_version=version)
            )
        return version

    def policy_history(self, name: str) -> list[dict[str, Any]]:
        """Every policy version of the bandit, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                sa.select(policies_t)
                .where(policies_t.c.bandit == name)
                .order_by(policies_t.c.version)
            ).all()
        return [
            {
                "version": r.version,
                "config": json.loads(r.config),
                "reason": r.reason,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    # -- the decision log ------------------------------------------------------------------
    def log_decision(
        self,
        name: str,
        decision_id: str,
        *,
        policy_version: int,
        context: dict[str, float],
        arm: str,
        propensity: float,
    ) -> LoggedDecision:
        """Append one decision (committed before this returns)."""
        now = utc_now()
        with self._transaction() as conn:
            conn.execute(
                decisions_t.insert().values(
                    decision_id=decision_id,
                    bandit=name,
                    created_at=now,
                    policy_version=policy_version,
                    context=json.dumps(context, sort_keys=True),
                    arm=arm,
                    propensity=float(propensity),
                )
            )
        return LoggedDecision(
            decision_id, name, now, policy_version, dict(context), arm, propensity
        )

    def import_decisions(
        self, name: str, rows: list[dict[str, Any]], *, policy_version: int = 0
    ) -> int:
        """Add decisions logged by another system, all in one transaction.

        Each row holds ``decision_id``, ``context``, ``arm``, ``propensity`` and ``reward``
        (``None`` while unknown). Ids this bandit already holds are skipped, so re-importing a
        file adds only its new rows; an id held by another bandit is a :class:`ConflictError`
        and nothing is written. Imported decisions carry ``policy_version`` 0 ("logged
        elsewhere"). Returns the number of rows added.
        """
        self.get_bandit(name)
        now = utc_now()
        ids = [str(r["decision_id"]) for r in rows]
        c = decisions_t.c
        with self._transaction() as conn:
            held: dict[str, str] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                q = sa.select(c.decision_id, c.bandit).where(c.decision_id.in_(chunk))
                held.update({r.decision_id: r.bandit for r in conn.execute(q)})
            clash = next((i for i, b in held.items() if b != name), None)
            if clash is not None:
                raise ConflictError.build(
                    f"Decision {clash[:64]!r} in the imported log belongs to bandit "
                    f"{held[clash][:64]!r}",
                    fix="Give the imported decisions their own ids, or drop 'decision_id'",
                )
            new = [
                {
                    "decision_id": str(r["decision_id"]),
                    "bandit": name,
                    "created_at": now,
                    "policy_version": policy_version,
                    "context": json.dumps(r["context"], sort_keys=True),
                    "arm": str(r["arm"]),
                    "propensity": float(r["propensity"]),
                    "reward": None if r.get("reward") is None else float(r["reward"]),
                    "reward_at": None if r.get("reward") is None else now,
                }
                for r in rows
                if str(r["decision_id"]) not in held
            ]
            if new:
                conn.execute(decisions_t.insert(), new)
        return len(new)

    def get_decision(self, name: str, decision_id: str) -> LoggedDecision:
        """One decision of this bandit; :class:`NotFoundError` if there is none."""
        with self._read() as conn:
            row = conn.execute(
                sa.select(decisions_t).where(
                    decisions_t.c.decision_id == decision_id, decisions_t.c.bandit == name
                )
            ).first()
        if row is None:
            raise NotFoundError.build(
                f"Bandit {name[:64]!r} has no decision {decision_id[:64]!r}",
                fix="Send the decision_id that the choose endpoint returned",
            )
        return _decision(row)

    def record_reward(
        self, name: str, decision_id: str, reward: float
    ) -> tuple[LoggedDecision, bool]:
        """Record the decision's reward once.

        Returns the decision and ``True`` when this call recorded it; a repeat with the same
        reward returns ``False``; a different reward for a rewarded decision is a
        :class:`ConflictError`.
        """
        now = utc_now()
        with self._transaction() as conn:
            done = conn.execute(
                decisions_t.update()
                .where(
                    decisions_t.c.decision_id == decision_id,
                    decisions_t.c.bandit == name,
                    decisions_t.c.reward.is_(None),
                )
                .values(reward=float(reward), reward_at=now)
            ).rowcount
        found = self.get_decision(name, decision_id)
        if done == 1:
            return found, True
        if found.reward is not None and float(found.reward) == float(reward):
            return found, False
        raise ConflictError.build(
            f"Decision {decision_id[:64]!r} already has a different reward",
            expected=repr(found.reward),
            got=reward,
            fix="A reward is recorded once per decision; do not resend a changed reward",
        )

    def decisions(
        self, name: str, *, rewarded_only: bool = False, limit: int | None = None
    ) -> list[LoggedDecision]:
        """The bandit's decisions in the order they were made."""
        q = sa.select(decisions_t).where(decisions_t.c.bandit == name)
        if rewarded_only:
            q = q.where(decisions_t.c.reward.is_not(None))
        q = q.order_by(decisions_t.c.seq)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            return [_decision(r) for r in conn.execute(q)]

    def log(self, name: str) -> BanditLog:
        """The rewarded decisions as arrays, for off-policy evaluation."""
        spec = self.spec(name)
        return BanditLog.from_decisions(
            self.decisions(name, rewarded_only=True), spec.arms, spec.context
        )

    def arm_stats(self, name: str) -> dict[str, dict[str, Any]]:
        """Per arm: pulls, rewarded pulls, reward sum and sum of squares, propensity range."""
        c = decisions_t.c
        q = (
            sa.select(
                c.arm,
                sa.func.count().label("pulls"),
                sa.func.count(c.reward).label("rewarded"),
                sa.func.coalesce(sa.func.sum(c.reward), 0.0).label("reward_sum"),
                sa.func.coalesce(sa.func.sum(c.reward * c.reward), 0.0).label("reward_sq"),
                sa.func.avg(c.propensity).label("mean_propensity"),
                sa.func.min(c.propensity).label("min_propensity"),
            )
            .where(c.bandit == name)
            .group_by(c.arm)
        )
        with self._read() as conn:
            return {
                r.arm: {
                    "pulls": int(r.pulls),
                    "rewarded": int(r.rewarded),
                    "reward_sum": float(r.reward_sum),
                    "reward_sq": float(r.reward_sq),
                    "mean_propensity": float(r.mean_propensity),
                    "min_propensity": float(r.min_propensity),
                }
                for r in conn.execute(q)
            }

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _record(conn: Connection, row: Any) -> BanditRecord:
        cfg = conn.execute(
            sa.select(policies_t.c.config).where(
                policies_t.c.bandit == row.name, policies_t.c.version == row.policy_version
            )
        ).scalar_one()
        return BanditRecord(
            name=row.name,
            spec=json.loads(row.spec),
            policy_version=int(row.policy_version),
            policy_config=json.loads(cfg),
            created_at=row.created_at,
        )


def _decision(row: Any) -> LoggedDecision:
    return LoggedDecision(
        decision_id=row.decision_id,
        bandit=row.bandit,
        created_at=row.created_at,
        policy_version=int(row.policy_version),
        context=json.loads(row.context),
        arm=row.arm,
        propensity=float(row.propensity),
        reward=None if row.reward is None else float(row.reward),
        reward_at=row.reward_at,
    )


def display_uri(uri: str) -> str:
    """A store URL fit to print or log: the password hidden, or only the scheme if unparsable.

    >>> display_uri("postgresql://ann:s3cret@db:5432/bandits")
    'postgresql://ann:***@db:5432/bandits'
    """
    return display_url(uri)


def open_bandit_store(uri: str | None = None) -> BanditStore:
    """Connect to the bandit store at ``uri`` (default ``sqlite:///.civicml/bandits.db``).

    Parameters
    ----------
    uri : str, optional
        A SQLAlchemy URL; ``$CIVICML_BANDITS_DB`` is used when not given.
    """
    store = BanditStore(uri or os.environ.get("CIVICML_BANDITS_DB") or DEFAULT_URI)
    store.connect()
    return store
