"""Settling a finished day's usage: the tenant's unsettled day and each event's occurred_at.

Existing events happened when they were recorded, so `occurred_at` starts as `created_at`.

Revision ID: 8d3e51a0c6b2
Revises: 5b1f0c9e7a42
Create Date: 2026-11-25 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d3e51a0c6b2"
down_revision: str | Sequence[str] | None = "5b1f0c9e7a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("usage_unsettled_day", sa.String(length=10), nullable=True))
    with op.batch_alter_table("enforcement_event") as batch:
        batch.add_column(sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE enforcement_event SET occurred_at = created_at")
    with op.batch_alter_table("enforcement_event") as batch:
        batch.alter_column("occurred_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("enforcement_event") as batch:
        batch.drop_column("occurred_at")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("usage_unsettled_day")
