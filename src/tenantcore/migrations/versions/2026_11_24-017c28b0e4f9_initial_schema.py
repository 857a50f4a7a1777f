"""Initial schema: accounts, keys, tenants, domains, mailboxes, usage history, enforcement.

Revision ID: 017c28b0e4f9
Revises:
Create Date: 2026-11-24 16:07:08.765172
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "017c28b0e4f9"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("name", name=op.f("uq_account_name")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_api_key_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
    )
    op.create_index(op.f("ix_api_key_account_id"), "api_key", ["account_id"], unique=False)
    op.create_index(op.f("ix_api_key_prefix"), "api_key", ["prefix"], unique=True)
    op.create_table(
        "tenant",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_name", sa.String(length=256), nullable=True),
        sa.Column("tenant_domain", sa.String(length=253), nullable=True),
        sa.Column("default_domain", sa.String(length=253), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("discovery_completed", sa.Boolean(), nullable=False),
        sa.Column("exchange_bootstrap_status", sa.String(length=32), nullable=False),
        sa.Column("bootstrap_error", sa.Text(), nullable=True),
        sa.Column("bootstrap_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_state", sa.String(length=64), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trace_window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trace_queries_in_window", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "exchange_bootstrap_status IN ('pending', 'ready', 'failed')",
            name=op.f("ck_tenant_exchange_bootstrap_status"),
        ),
        sa.CheckConstraint(
            "status IN ('pending_consent', 'connected', 'disconnected')",
            name=op.f("ck_tenant_status"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_tenant_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_tenant_tenant_id")),
    )
    op.create_index(op.f("ix_tenant_account_id"), "tenant", ["account_id"], unique=False)
    op.create_index(op.f("ix_tenant_consent_state"), "tenant", ["consent_state"], unique=True)
    op.create_index(op.f("ix_tenant_next_sync_at"), "tenant", ["next_sync_at"], unique=False)
    op.create_index(op.f("ix_tenant_next_attempt_at"), "tenant", ["next_attempt_at"], unique=False)
    op.create_table(
        "domain",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_pk", sa.String(length=36), nullable=False),
        sa.Column("domain_name", sa.String(length=253), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("is_verified", sa.Boolean(), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "verification_records",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "service_records",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("spf_status", sa.String(length=32), nullable=False),
        sa.Column("dkim_status", sa.String(length=32), nullable=False),
        sa.Column("dmarc_status", sa.String(length=32), nullable=False),
        sa.Column("mx_status", sa.String(length=32), nullable=False),
        sa.Column("last_checked", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenant.id"],
            name=op.f("fk_domain_tenant_pk_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain")),
        sa.UniqueConstraint(
            "tenant_pk", "domain_name", name=op.f("uq_domain_tenant_pk_domain_name")
        ),
        sa.UniqueConstraint("domain_name", name=op.f("uq_domain_domain_name")),
    )
    op.create_index(op.f("ix_domain_last_checked"), "domain", ["last_checked"], unique=False)
    op.create_table(
        "enforcement_policy",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_pk", sa.String(length=36), nullable=False),
        sa.Column("domain_pk", sa.String(length=36), nullable=True),
        sa.Column("scope_key", sa.String(length=253), nullable=False),
        sa.Column("daily_send_limit", sa.Integer(), nullable=False),
        sa.Column("provisioning_status", sa.String(length=32), nullable=False),
        sa.Column("provisioning_error", sa.Text(), nullable=True),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(scope_key = '*') = (domain_pk IS NULL)",
            name=op.f("ck_enforcement_policy_scope_matches_domain"),
        ),
        sa.CheckConstraint(
            "provisioning_status IN ('pending', 'provisioned', 'failed')",
            name=op.f("ck_enforcement_policy_provisioning_status"),
        ),
        sa.CheckConstraint(
            "daily_send_limit BETWEEN 1 AND 25",
            name=op.f("ck_enforcement_policy_daily_send_limit_range"),
        ),
        sa.ForeignKeyConstraint(
            ["domain_pk"],
            ["domain.id"],
            name=op.f("fk_enforcement_policy_domain_pk_domain"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenant.id"],
            name=op.f("fk_enforcement_policy_tenant_pk_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_policy")),
        sa.UniqueConstraint(
            "tenant_pk", "scope_key", name=op.f("uq_enforcement_policy_tenant_pk_scope_key")
        ),
    )
    op.create_index(
        op.f("ix_enforcement_policy_domain_pk"), "enforcement_policy", ["domain_pk"], unique=False
    )
    op.create_table(
        "mailbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_pk", sa.String(length=36), nullable=False),
        sa.Column("domain_pk", sa.String(length=36), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=256), nullable=False),
        sa.Column("primary_smtp", sa.String(length=320), nullable=False),
        sa.Column("user_principal_name", sa.String(length=320), nullable=False),
        sa.Column("mail_nickname", sa.String(length=64), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("exchange_guid", sa.String(length=36), nullable=True),
        sa.Column("external_directory_object_id", sa.String(length=36), nullable=True),
        sa.Column("account_enabled", sa.Boolean(), nullable=False),
        sa.Column("daily_send_limit", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("provisioning_step", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_password", sa.Text(), nullable=True),
        sa.Column("provisioning_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("propagation_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sends_today", sa.Integer(), nullable=False),
        sa.Column("usage_day", sa.String(length=10), nullable=True),
        sa.Column("usage_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('provisioning', 'ready', 'failed')", name=op.f("ck_mailbox_status")
        ),
        sa.CheckConstraint(
            "daily_send_limit BETWEEN 1 AND 25", name=op.f("ck_mailbox_daily_send_limit_range")
        ),
        sa.CheckConstraint("slot BETWEEN 1 AND 3", name=op.f("ck_mailbox_slot_range")),
        sa.ForeignKeyConstraint(
            ["domain_pk"],
            ["domain.id"],
            name=op.f("fk_mailbox_domain_pk_domain"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenant.id"],
            name=op.f("fk_mailbox_tenant_pk_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailbox")),
        sa.UniqueConstraint("domain_pk", "slot", name=op.f("uq_mailbox_domain_pk_slot")),
        sa.UniqueConstraint(
            "tenant_pk", "primary_smtp", name=op.f("uq_mailbox_tenant_pk_primary_smtp")
        ),
    )
    op.create_index(
        op.f("ix_mailbox_status_next_check_at"),
        "mailbox",
        ["status", "next_check_at"],
        unique=False,
    )
    op.create_table(
        "enforcement_event",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_pk", sa.String(length=36), nullable=False),
        sa.Column("mailbox_pk", sa.String(length=36), nullable=True),
        sa.Column("mailbox_address", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("limit_value", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('blocked', 'unblocked')", name=op.f("ck_enforcement_event_action")
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_pk"],
            ["mailbox.id"],
            name=op.f("fk_enforcement_event_mailbox_pk_mailbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_pk"],
            ["tenant.id"],
            name=op.f("fk_enforcement_event_tenant_pk_tenant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_event")),
    )
    op.create_index(
        op.f("ix_enforcement_event_mailbox_pk"), "enforcement_event", ["mailbox_pk"], unique=False
    )
    op.create_index(
        op.f("ix_enforcement_event_tenant_pk_created_at"),
        "enforcement_event",
        ["tenant_pk", "created_at"],
        unique=False,
    )
    op.create_table(
        "mailbox_usage_day",
        sa.Column("mailbox_pk", sa.String(length=36), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("limit_value", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["mailbox_pk"],
            ["mailbox.id"],
            name=op.f("fk_mailbox_usage_day_mailbox_pk_mailbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailbox_pk", "day", name=op.f("pk_mailbox_usage_day")),
    )


def downgrade() -> None:
    # Children first; each table's indexes and constraints go with it.
    for table in (
        "mailbox_usage_day",
        "enforcement_event",
        "mailbox",
        "enforcement_policy",
        "domain",
        "tenant",
        "api_key",
        "account",
    ):
        op.drop_table(table)
