"""Every civicml table (SQLAlchemy Core), identical on SQLite and PostgreSQL.

The registry (``registry_*``), experiment tracking (``runs``, ``run_data_versions``) and the
bandits (``bandit_*``) share one metadata and one Alembic history (``migrations/versions``); a
test compares a migrated database with this metadata so the two never drift apart. JSON values
are stored as canonical JSON text so that both databases hold byte-identical documents, and times
as ISO 8601 text in UTC (:func:`utc_now`), which sorts.

Examples
--------
>>> sorted(metadata.tables)[:3]
['bandit_bandits', 'bandit_decisions', 'bandit_policies']
>>> HEAD_REVISION
'0007'
"""

from __future__ import annotations

import datetime as _dt

import sqlalchemy as sa

__all__ = [
    "HEAD_REVISION",
    "bandit_bandits",
    "bandit_decisions",
    "bandit_policies",
    "metadata",
    "registry_alias_history",
    "registry_aliases",
    "registry_atrs_answers",
    "registry_audit",
    "registry_audit_head",
    "registry_decisions",
    "registry_keys",
    "registry_models",
    "registry_tokens",
    "registry_versions",
    "run_data_versions",
    "runs",
    "utc_now",
]

#: the newest Alembic revision; opening any store migrates to it
HEAD_REVISION = "0007"

metadata = sa.MetaData()


def utc_now() -> str:
    """Now in UTC as ISO 8601 with microseconds: the text every time column holds (sorts).

    >>> len(utc_now()), utc_now().endswith("Z")
    (27, True)
    """
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TIME = sa.String(32)  # ISO 8601 UTC with microseconds: sorts as text
_WHO = sa.String(200)

# -- the model registry (revision 0001): civicml.registry reads and writes these --------------

registry_models = sa.Table(
    "registry_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", _WHO, nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
)

registry_versions = sa.Table(
    "registry_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("artifact_key", sa.String(300), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", _WHO, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("task", sa.String(50)),
    sa.Column("owner", sa.Text, nullable=False, server_default="{}"),
    sa.Column("intended_use", sa.Text),
    sa.Column("out_of_scope_uses", sa.Text, nullable=False, server_default="[]"),
    sa.Column("oversight", sa.String(30)),
    sa.Column("lawful_basis", sa.Text),
    sa.Column("checks", sa.Text, nullable=False, server_default="[]"),
    sa.Column("checks_passed", sa.Boolean),
    sa.Column("override_by", _WHO),
    sa.Column("override_reason", sa.Text),
    sa.Column("approved_by", _WHO),
    sa.Column("approved_at", _TIME),
    # revision 0004: the legal record (Art. 22A-22D safeguards, Art. 9 conditions) and the
    # fingerprint of the key that signed the bundle
    sa.Column("legal", sa.Text, nullable=False, server_default="{}"),
    sa.Column("signer", sa.String(200)),
    sa.UniqueConstraint("model_id", "version", name="uq_registry_versions_model_version"),
    sa.Index("ix_registry_versions_model_digest", "model_id", "digest"),
    sa.Index("ix_registry_versions_model_status", "model_id", "status", "version"),
)

registry_decisions = sa.Table(
    "registry_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("registry_versions.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("actor", _WHO, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Index("ix_registry_decisions_version", "version_id", "id"),
)

registry_aliases = sa.Table(
    "registry_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Column("updated_by", _WHO, nullable=False),
)

registry_alias_history = sa.Table(
    "registry_alias_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), nullable=False),
    sa.Column("alias", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Column("actor", _WHO, nullable=False),
    sa.Index("ix_registry_alias_history_lookup", "model_id", "alias", "id"),
)

registry_audit = sa.Table(
    "registry_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("time", _TIME, nullable=False),
    sa.Column("actor", _WHO, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # revision 0004: HMAC-SHA256 of ``hash`` under the audit key the database does not hold
    sa.Column("mac", sa.String(64)),
    sa.Index("ix_registry_audit_subject", "subject", "seq"),
)

registry_audit_head = sa.Table(
    "registry_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

registry_tokens = sa.Table(
    "registry_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False),
    sa.Column("scopes", sa.String(200), nullable=False),
    sa.Column("rate_limit", sa.String(32)),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", _WHO, nullable=False),
    sa.Column("revoked_at", _TIME),
    sa.Column("revoked_by", _WHO),
    # revision 0004: the person or service the token acts as (older rows: its creator)
    sa.Column("owner", _WHO),
    # revision 0007: the models the token may reach, comma-separated names or 'prefix*'
    # patterns (NULL or empty: every model)
    sa.Column("models", sa.Text),
)

# revision 0004: the Ed25519 public keys that may sign bundles, each registered to a person or
# service (the private key never reaches the registry)
registry_keys = sa.Table(
    "registry_keys",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("owner", _WHO, nullable=False),
    sa.Column("public_key", sa.Text, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", _WHO, nullable=False),
    sa.Column("revoked_at", _TIME),
    sa.Column("revoked_by", _WHO),
)

# revision 0005: a person's answers to a model's ATRS record, one row per field; ``version`` 0
# holds the answers every version of the model shares (owner, contact, purpose), a version number
# those tied to that version (its performance, data, risks). ``answer`` is canonical JSON text.
registry_atrs_answers = sa.Table(
    "registry_atrs_answers",
    metadata,
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("field", sa.String(100), primary_key=True),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("answered_by", _WHO, nullable=False),
    sa.Column("answered_at", _TIME, nullable=False),
    sa.Column("reason", sa.Text),
)

# -- experiment tracking (revision 0002): civicml.tracking reads and writes these -------------

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("project", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", _TIME, nullable=False),
    sa.Column("finished_at", _TIME),
    sa.Column("seconds", sa.Float),
    sa.Column("actor", _WHO),
    sa.Column("git_commit", sa.String(80)),
    sa.Column("spec", sa.Text, nullable=False, server_default="{}"),
    sa.Column("packages", sa.Text, nullable=False, server_default="{}"),
    sa.Column("params", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),
    sa.Column("leaderboard", sa.Text, nullable=False, server_default="{}"),
    sa.Column("timings", sa.Text, nullable=False, server_default="{}"),
    sa.Column("energy", sa.Text),
    sa.Column("artifacts", sa.Text, nullable=False, server_default="{}"),
    sa.Column("bundle_digest", sa.String(64)),
    sa.Column("error", sa.Text),
    sa.Column("heartbeat_at", _TIME),  # revision 0006: last sign of life of a running run
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Index("ix_runs_project_started", "project", "started_at"),
    sa.Index("ix_runs_started", "started_at"),
)

run_data_versions = sa.Table(
    "run_data_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("columns", sa.Integer, nullable=False),
    sa.Column("schema", sa.Text, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("location", sa.Text),
    sa.Column("file_sha256", sa.String(64)),
    sa.Index("ix_run_data_versions_run", "run_id", "id"),
)

# -- bandits (revision 0003): civicml.bandits reads and writes these ---------------------------

bandit_bandits = sa.Table(
    "bandit_bandits",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
)

bandit_policies = sa.Table(
    "bandit_policies",
    metadata,
    sa.Column("bandit", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", _TIME, nullable=False),
)

bandit_decisions = sa.Table(
    "bandit_decisions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.String(64), nullable=False, unique=True),
    sa.Column("bandit", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("context", sa.Text, nullable=False),
    sa.Column("arm", sa.String(200), nullable=False),
    sa.Column("propensity", sa.Float, nullable=False),
    sa.Column("reward", sa.Float, nullable=True),
    sa.Column("reward_at", _TIME, nullable=True),
)
