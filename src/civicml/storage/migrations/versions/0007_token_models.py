"""A token's model scope: the model names or team prefixes (``benefits-*``) it may reach.

Existing tokens keep reaching every model (the column is NULL). The scope is part of the token's
audited state, so ``civicml models audit --verify`` notices a scope widened in the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registry_tokens", sa.Column("models", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("registry_tokens") as batch:
        batch.drop_column("models")
