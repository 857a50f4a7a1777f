"""The tenant's Entra security defaults as last read (they refuse SMTP AUTH with a password).

Revision ID: c9f1a4e7d352
Revises: b8e2d61c4f37
Create Date: 2026-11-25 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c9f1a4e7d352"
down_revision: str | Sequence[str] | None = "b8e2d61c4f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("security_defaults_enabled", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("security_defaults_enabled")
