"""Enforcement policies (what was asked) and the block/unblock log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, check_in, new_id, utcnow
from tenantcore.mailboxes.models import DAILY_SEND_LIMIT_MAX, DAILY_SEND_LIMIT_MIN

TENANT_WIDE_SCOPE = "*"


class PolicyProvisioningStatus(StrEnum):
    PENDING = "pending"
    PROVISIONED = "provisioned"
    FAILED = "failed"


class EnforcementAction(StrEnum):
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"


RAMP_CHECK = (
    "(ramp_start IS NULL AND ramp_daily_increase IS NULL) OR "
    f"(ramp_start BETWEEN {DAILY_SEND_LIMIT_MIN} AND {DAILY_SEND_LIMIT_MAX} "
    f"AND ramp_daily_increase BETWEEN {DAILY_SEND_LIMIT_MIN} AND {DAILY_SEND_LIMIT_MAX})"
)


class EnforcementPolicy(Base):
    """One policy per scope: a domain, or the whole tenant (`scope_key` "*", no domain).

    Uniqueness is on `scope_key` rather than `domain_pk` because NULLs never collide in a
    unique constraint, which would allow any number of tenant-wide policies; the CHECK keeps
    the two columns consistent.
    """

    __tablename__ = "enforcement_policy"
    __table_args__ = (
        UniqueConstraint("tenant_pk", "scope_key"),
        CheckConstraint(
            f"daily_send_limit BETWEEN {DAILY_SEND_LIMIT_MIN} AND {DAILY_SEND_LIMIT_MAX}",
            name="daily_send_limit_range",
        ),
        CheckConstraint(
            f"(scope_key = '{TENANT_WIDE_SCOPE}') = (domain_pk IS NULL)",
            name="scope_matches_domain",
        ),
        check_in("provisioning_status", PolicyProvisioningStatus),
        CheckConstraint(RAMP_CHECK, name="ramp"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_pk: Mapped[str] = mapped_column(String(36), ForeignKey("tenant.id", ondelete="CASCADE"))
    # Indexed so deleting a domain finds its policy without a scan on PostgreSQL.
    domain_pk: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("domain.id", ondelete="CASCADE"), index=True
    )
    # The domain name, or "*" for tenant-wide.
    scope_key: Mapped[str] = mapped_column(String(253))
    daily_send_limit: Mapped[int]
    # A ramp (both set, or neither): a mailbox's ceiling is `ramp_start` on the UTC day it
    # became ready and `ramp_daily_increase` more each day after, up to `daily_send_limit`.
    ramp_start: Mapped[int | None]
    ramp_daily_increase: Mapped[int | None]
    provisioning_status: Mapped[str] = mapped_column(
        String(32), default=PolicyProvisioningStatus.PENDING
    )
    provisioning_error: Mapped[str | None] = mapped_column(Text)
    provisioned_at: Mapped[datetime | None]
    # While pending after a failed attempt: when the reconciler should try again.
    next_attempt_at: Mapped[datetime | None]
    # Set by the service on the system's clock (the sandbox clock in sandbox mode).
    # `updated_at` is when the customer last saved the policy, not every provisioning attempt
    # (`provisioned_at` says that).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EnforcementEvent(Base):
    """An append-only log line. `mailbox_address` is copied so the line still reads after the
    mailbox row is gone (its `mailbox_pk` is then NULL)."""

    __tablename__ = "enforcement_event"
    __table_args__ = (
        check_in("action", EnforcementAction),
        # GET /v1/enforcement/events filters by tenant and pages newest first.
        Index(None, "tenant_pk", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_pk: Mapped[str] = mapped_column(String(36), ForeignKey("tenant.id", ondelete="CASCADE"))
    mailbox_pk: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("mailbox.id", ondelete="SET NULL"), index=True
    )
    mailbox_address: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(16))
    sent_count: Mapped[int]
    limit_value: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)
    # When TenantCore recorded the event (the usage sync's clock: the sandbox clock in sandbox
    # mode), and when what it reports happened (EventOut says which time that is).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
