"""Whether the tenant's caps exceeded its external recipient rate limit at the last check.

Revision ID: d1e7b3a9c462
Revises: c8f4a2d6e715
Create Date: 2026-11-25 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d1e7b3a9c462"
down_revision: str | Sequence[str] | None = "c8f4a2d6e715"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("capacity_over_limit", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("capacity_over_limit")
