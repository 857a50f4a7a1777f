"""A domain's DKIM signing in Exchange: the two CNAME targets its keys are published under, and
whether Exchange signs the domain's mail with them.

Revision ID: d4a7c2e9f150
Revises: c9f1a4e7d352
Create Date: 2026-11-25 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4a7c2e9f150"
down_revision: str | Sequence[str] | None = "c9f1a4e7d352"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("domain") as batch:
        batch.add_column(sa.Column("dkim_selector1_target", sa.String(253), nullable=True))
        batch.add_column(sa.Column("dkim_selector2_target", sa.String(253), nullable=True))
        batch.add_column(
            sa.Column(
                "dkim_signing_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("domain") as batch:
        batch.drop_column("dkim_signing_enabled")
        batch.drop_column("dkim_selector2_target")
        batch.drop_column("dkim_selector1_target")
