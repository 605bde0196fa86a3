"""Experiment tracking: every training run and the data versions it read.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.String(32)
_WHO = sa.String(200)


def upgrade() -> None:
    op.create_table(
        "runs",
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
    )
    op.create_index("ix_runs_project_started", "runs", ["project", "started_at"])
    op.create_index("ix_runs_started", "runs", ["started_at"])
    op.create_table(
        "run_data_versions",
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
    )
    op.create_index("ix_run_data_versions_run", "run_data_versions", ["run_id", "id"])


def downgrade() -> None:
    op.drop_table("run_data_versions")
    op.drop_table("runs")
