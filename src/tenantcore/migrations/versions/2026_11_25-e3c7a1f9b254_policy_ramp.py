"""Enforcement policies may ramp new mailboxes up to their limit.

Revision ID: e3c7a1f9b254
Revises: d1e7b3a9c462
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e3c7a1f9b254"
down_revision: str | Sequence[str] | None = "d1e7b3a9c462"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The model's rule (enforcement/models.py RAMP_CHECK) as it stood when this was written.
_RAMP = (
    "(ramp_start IS NULL AND ramp_daily_increase IS NULL) OR "
    "(ramp_start BETWEEN 1 AND 25 AND ramp_daily_increase BETWEEN 1 AND 25)"
)


def upgrade() -> None:
    with op.batch_alter_table("enforcement_policy") as batch:
        batch.add_column(sa.Column("ramp_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ramp_daily_increase", sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f("ck_enforcement_policy_ramp"), _RAMP)


def downgrade() -> None:
    with op.batch_alter_table("enforcement_policy") as batch:
        batch.drop_constraint(op.f("ck_enforcement_policy_ramp"), type_="check")
        batch.drop_column("ramp_daily_increase")
        batch.drop_column("ramp_start")
