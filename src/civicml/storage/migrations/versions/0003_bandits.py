"""Bandits: their specs, policy versions and the decision log.

Before this revision the bandit store created these tables itself (``create_all``), outside
Alembic, so a database may already hold them: each table is created only when it is missing,
which lets such a database (and a registry database that also held bandits) join this history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TIME = sa.String(32)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "bandit_bandits" not in existing:
        _bandits()
    if "bandit_policies" not in existing:
        _policies()
    if "bandit_decisions" not in existing:
        _decisions()


def _bandits() -> None:
    op.create_table(
        "bandit_bandits",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )


def _policies() -> None:
    op.create_table(
        "bandit_policies",
        sa.Column("bandit", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )


def _decisions() -> None:
    op.create_table(
        "bandit_decisions",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(64), nullable=False, unique=True),
        sa.Column("bandit", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("arm", sa.String(200), nullable=False),
        sa.Column("propensity", sa.Float, nullable=False),
        sa.Column("reward", sa.Float, nullable=True),
        sa.Column("reward_at", _TIME, nullable=True),
    )
    op.create_index("ix_bandit_decisions_bandit", "bandit_decisions", ["bandit"])


def downgrade() -> None:
    for name in ("bandit_decisions", "bandit_policies", "bandit_bandits"):
        op.drop_table(name)
