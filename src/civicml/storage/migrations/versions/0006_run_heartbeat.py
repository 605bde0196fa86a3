"""A run's heartbeat: when its process last said it was alive, and which host and pid it is.

A ``running`` run whose heartbeat is stale (or whose pid on this host is gone) is shown as
``failed`` and recorded so at the next write (:mod:`civicml.tracking`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("heartbeat_at", sa.String(32)))
    op.add_column("runs", sa.Column("host", sa.String(255)))
    op.add_column("runs", sa.Column("pid", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
        batch.drop_column("heartbeat_at")
