"""The tenant's OAuth sending application and the mailboxes it was given.

Revision ID: c8f4a2d6e715
Revises: b3e9f1c7d542
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c8f4a2d6e715"
down_revision: str | Sequence[str] | None = "b3e9f1c7d542"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "sending_app_status IN ('pending', 'ready', 'failed', 'removing')"


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("sending_app_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("sending_app_object_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("sending_app_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("sending_app_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("sending_app_next_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_check_constraint(op.f("ck_tenant_sending_app_status"), _STATUSES)
        batch.create_index("ix_tenant_sending_app_next_at", ["sending_app_next_at"])
    with op.batch_alter_table("mailbox") as batch:
        batch.add_column(sa.Column("sending_app_granted", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailbox") as batch:
        batch.drop_column("sending_app_granted")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_index("ix_tenant_sending_app_next_at")
        batch.drop_constraint(op.f("ck_tenant_sending_app_status"), type_="check")
        batch.drop_column("sending_app_next_at")
        batch.drop_column("sending_app_error")
        batch.drop_column("sending_app_status")
        batch.drop_column("sending_app_object_id")
        batch.drop_column("sending_app_id")
