"""The registry's first tables: models, versions, decisions, aliases, audit chain, tokens.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.String(32)
_WHO = sa.String(200)


def upgrade() -> None:
    _models()
    _versions()
    _decisions()
    _aliases()
    _alias_history()
    _audit()
    _audit_head()
    _tokens()


def _models() -> None:
    op.create_table(
        "registry_models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", _WHO, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False, server_default="0"),
    )


def _versions() -> None:
    op.create_table(
        "registry_versions",
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
    )
    op.create_index(
        "ix_registry_versions_model_digest", "registry_versions", ["model_id", "digest"]
    )
    op.create_index(
        "ix_registry_versions_model_status", "registry_versions", ["model_id", "status", "version"]
    )


def _decisions() -> None:
    op.create_table(
        "registry_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("registry_versions.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", _WHO, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", _TIME, nullable=False),
    )
    op.create_index("ix_registry_decisions_version", "registry_decisions", ["version_id", "id"])


def _aliases() -> None:
    op.create_table(
        "registry_aliases",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), primary_key=True),
        sa.Column("alias", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("updated_by", _WHO, nullable=False),
    )


def _alias_history() -> None:
    op.create_table(
        "registry_alias_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("registry_models.id"), nullable=False),
        sa.Column("alias", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", _WHO, nullable=False),
    )
    op.create_index(
        "ix_registry_alias_history_lookup", "registry_alias_history", ["model_id", "alias", "id"]
    )


def _audit() -> None:
    op.create_table(
        "registry_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", _TIME, nullable=False),
        sa.Column("actor", _WHO, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_registry_audit_subject", "registry_audit", ["subject", "seq"])


def _audit_head() -> None:
    head = op.create_table(
        "registry_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # the chain head starts empty: no events, the genesis hash
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def _tokens() -> None:
    op.create_table(
        "registry_tokens",
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


def downgrade() -> None:
    for name in (
        "registry_tokens",
        "registry_audit_head",
        "registry_audit",
        "registry_alias_history",
        "registry_aliases",
        "registry_decisions",
        "registry_versions",
        "registry_models",
    ):
        op.drop_table(name)
