"""API keys get a name and a scope: `full` (every key issued so far) or `read` (GET only).

Revision ID: f2b6c8d4e013
Revises: e7a93b5c1d28
Create Date: 2026-11-25 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b6c8d4e013"
down_revision: str | Sequence[str] | None = "e7a93b5c1d28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(
            sa.Column("scope", sa.String(length=8), server_default="full", nullable=False)
        )
        batch.create_check_constraint(op.f("ck_api_key_scope"), "scope IN ('full', 'read')")


def downgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.drop_constraint(op.f("ck_api_key_scope"), type_="check")
        batch.drop_column("scope")
        batch.drop_column("name")
