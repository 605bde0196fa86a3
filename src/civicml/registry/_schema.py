"""The registry's tables (SQLAlchemy Core), identical on SQLite and PostgreSQL.

The Alembic migrations under ``migrations/versions`` create exactly these tables; a test compares
the migrated database with this metadata so the two never drift apart. JSON values are stored as
canonical JSON text so that both databases hold byte-identical documents.

Examples
--------
>>> sorted(metadata.tables)[:3]
['registry_alias_history', 'registry_aliases', 'registry_audit']
>>> HEAD_REVISION
'0002'
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "HEAD_REVISION",
    "alias_history",
    "aliases",
    "audit",
    "audit_head",
    "decisions",
    "metadata",
    "models",
    "run_data_versions",
    "runs",
    "tokens",
    "versions",
]

#: the newest Alembic revision; opening a registry migrates to it
HEAD_REVISION = "0002"

metadata = sa.MetaData()

_TIME = sa.String(32)  # ISO 8601 UTC with microseconds: sorts as text
_WHO = sa.String(200)

models = sa.Table(
    "registry_models",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", _WHO, nullable=False),
    sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
)

versions = sa.Table(
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
    sa.UniqueConstraint("model_id", "version", name="uq_registry_versions_model_version"),
    sa.Index("ix_registry_versions_model_digest", "model_id", "digest"),
    sa.Index("ix_registry_versions_model_status", "model_id", "status", "version"),
)

decisions = sa.Table(
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

aliases = sa.Table(
    "registry_aliases",
    metadata,
    sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), primary_key=True),
    sa.Column("alias", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.Column("updated_by", _WHO, nullable=False),
)

alias_history = sa.Table(
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

audit = sa.Table(
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
    sa.Index("ix_registry_audit_subject", "subject", "seq"),
)

audit_head = sa.Table(
    "registry_audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

tokens = sa.Table(
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
