"""When each kept day of usage was settled (counted again from message trace after it ended).

Days kept before this revision are left unsettled: nothing records whether they were.

Revision ID: c41f7d2e9a10
Revises: 8d3e51a0c6b2
Create Date: 2026-11-25 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41f7d2e9a10"
down_revision: str | Sequence[str] | None = "8d3e51a0c6b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mailbox_usage_day") as batch:
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailbox_usage_day") as batch:
        batch.drop_column("settled_at")
