"""Governance that cannot be walked around: the legal record and bundle signer of a version, the
audit chain's keyed MAC, and the person or service an API token acts as.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_versions") as batch:
        batch.add_column(sa.Column("legal", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("signer", sa.String(200)))
    with op.batch_alter_table("registry_audit") as batch:
        batch.add_column(sa.Column("mac", sa.String(64)))
    with op.batch_alter_table("registry_tokens") as batch:
        batch.add_column(sa.Column("owner", sa.String(200)))
    op.create_table(
        "registry_keys",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("public_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
        sa.Column("revoked_by", sa.String(200)),
    )


def downgrade() -> None:
    op.drop_table("registry_keys")
    with op.batch_alter_table("registry_tokens") as batch:
        batch.drop_column("owner")
    with op.batch_alter_table("registry_audit") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("registry_versions") as batch:
        batch.drop_column("signer")
        batch.drop_column("legal")
