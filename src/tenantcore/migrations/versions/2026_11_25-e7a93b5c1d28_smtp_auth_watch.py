"""SMTP AUTH as Exchange last showed it: the tenant's switch and each mailbox's effective one.

Ready mailboxes had SMTP AUTH on when they became ready; the first check after this revision
reads them again.

Revision ID: e7a93b5c1d28
Revises: c41f7d2e9a10
Create Date: 2026-11-25 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7a93b5c1d28"
down_revision: str | Sequence[str] | None = "c41f7d2e9a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("smtp_auth_enabled", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("smtp_auth_checked_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("smtp_auth_next_check_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_tenant_smtp_auth_next_check_at", ["smtp_auth_next_check_at"])
    with op.batch_alter_table("mailbox") as batch:
        batch.add_column(sa.Column("smtp_auth_enabled", sa.Boolean(), nullable=True))
    op.execute("UPDATE mailbox SET smtp_auth_enabled = true WHERE status = 'ready'")


def downgrade() -> None:
    with op.batch_alter_table("mailbox") as batch:
        batch.drop_column("smtp_auth_enabled")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_index("ix_tenant_smtp_auth_next_check_at")
        batch.drop_column("smtp_auth_next_check_at")
        batch.drop_column("smtp_auth_checked_at")
        batch.drop_column("smtp_auth_enabled")
