"""The tenant's Exchange licenses as last read, which set its external recipient rate limit.

Revision ID: a7d2e4f6b839
Revises: e5b8d3f1a264
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7d2e4f6b839"
down_revision: str | Sequence[str] | None = "e5b8d3f1a264"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("exchange_licenses", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("trial_only", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("trial_only")
        batch.drop_column("exchange_licenses")
