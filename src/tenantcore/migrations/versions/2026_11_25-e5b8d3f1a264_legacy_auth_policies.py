"""The tenant's Conditional Access policies that refuse SMTP AUTH with a password, by name, as
last read.

Revision ID: e5b8d3f1a264
Revises: d4a7c2e9f150
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e5b8d3f1a264"
down_revision: str | Sequence[str] | None = "d4a7c2e9f150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("legacy_auth_blocked_by", json_type, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("legacy_auth_blocked_by")
