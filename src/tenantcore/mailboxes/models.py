"""Sending mailboxes and their daily usage history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, check_in, new_id, utcnow

MAX_MAILBOXES_PER_DOMAIN = 3
DAILY_SEND_LIMIT_MIN = 1
DAILY_SEND_LIMIT_MAX = 25


class MailboxStatus(StrEnum):
    PROVISIONING = "provisioning"
    READY = "ready"
    FAILED = "failed"


class ProvisioningStep(StrEnum):
    """The last completed step of DESIGN.md §4's provisioning, in order, so a job picked up
    again after a crash resumes after it instead of repeating Microsoft calls. Not a CHECK
    constraint: steps may be added without a migration."""

    NONE = "none"
    MAILBOX_CREATED = "mailbox_created"  # New-Mailbox -Shared
    USER_UPDATED = "user_updated"  # Graph PATCH /users/{id}: password, accountEnabled
    SMTP_AUTH_ENABLED = "smtp_auth_enabled"  # Set-CASMailbox
    PROPAGATED = "propagated"  # Exchange answers for it; the mailbox is ready


class Mailbox(Base):
    """At most 3 mailboxes per domain, enforced by the database, not by counting: each takes a
    `slot` in 1..3 and (domain_pk, slot) is unique. Two concurrent requests that both saw a free
    slot cannot both insert it; the loser gets an IntegrityError and tries the next free slot
    or reports `mailbox_limit_reached`. This holds on SQLite and PostgreSQL alike, without
    relying on isolation levels or row locks."""

    __tablename__ = "mailbox"
    __table_args__ = (
        CheckConstraint(f"slot BETWEEN 1 AND {MAX_MAILBOXES_PER_DOMAIN}", name="slot_range"),
        CheckConstraint(
            f"daily_send_limit BETWEEN {DAILY_SEND_LIMIT_MIN} AND {DAILY_SEND_LIMIT_MAX}",
            name="daily_send_limit_range",
        ),
        check_in("status", MailboxStatus),
        UniqueConstraint("domain_pk", "slot"),
        # Leading tenant_pk: also the index for "mailboxes of a tenant", so no separate one.
        UniqueConstraint("tenant_pk", "primary_smtp"),
        # The propagation checker's scan: provisioning mailboxes whose next check is due.
        Index(None, "status", "next_check_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_pk: Mapped[str] = mapped_column(String(36), ForeignKey("tenant.id", ondelete="CASCADE"))
    domain_pk: Mapped[str] = mapped_column(String(36), ForeignKey("domain.id", ondelete="CASCADE"))
    slot: Mapped[int]
    display_name: Mapped[str] = mapped_column(String(256))
    # Lowercase. 320 is the longest address SMTP allows (64 local + @ + 255 domain).
    primary_smtp: Mapped[str] = mapped_column(String(320))
    user_principal_name: Mapped[str] = mapped_column(String(320))
    mail_nickname: Mapped[str] = mapped_column(String(64))
    alias: Mapped[str] = mapped_column(String(64))
    exchange_guid: Mapped[str | None] = mapped_column(String(36))
    # The Entra user's object id (Graph /users/{id}).
    external_directory_object_id: Mapped[str | None] = mapped_column(String(36))
    account_enabled: Mapped[bool] = mapped_column(default=False)
    # The mailbox's own cap; NULL means "the enforcing policy's cap", or unlimited without one.
    daily_send_limit: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(32), default=MailboxStatus.PROVISIONING)
    provisioning_step: Mapped[str] = mapped_column(String(64), default=ProvisioningStep.NONE)
    error: Mapped[str | None] = mapped_column(Text)
    ready_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    # The account password, Fernet-sealed (mailboxes/vault.py), only between the provisioning
    # request and the background step that sets it in Microsoft; NULL before and after.
    sealed_password: Mapped[str | None] = mapped_column(Text)
    # When the current provisioning attempt began (transient failures give up after a bound).
    provisioning_started_at: Mapped[datetime | None]
    # New-Mailbox's time plus the longest propagation Exchange may take: not `ready` before.
    propagation_ends_at: Mapped[datetime | None]
    # Today's count from message trace; `usage_day` (UTC, YYYY-MM-DD) says which day it is
    # for, so a counter from yesterday is recognised as stale before the day-boundary job runs.
    # Whether SMTP AUTH lets the mailbox log in (its own switch, else the tenant's), as Exchange
    # last showed it; NULL before TenantCore has seen the mailbox ready.
    smtp_auth_enabled: Mapped[bool | None]
    # The sending application (tenant's `sending_app_id`) given FullAccess on this mailbox.
    sending_app_granted: Mapped[str | None] = mapped_column(String(36))
    sends_today: Mapped[int] = mapped_column(default=0)
    usage_day: Mapped[str | None] = mapped_column(String(10))
    usage_synced_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailboxUsageDay(Base):
    """One row per mailbox per UTC day, written before the counters on `mailbox` reset, so
    history survives the day boundary."""

    __tablename__ = "mailbox_usage_day"

    mailbox_pk: Mapped[str] = mapped_column(
        String(36), ForeignKey("mailbox.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    sends: Mapped[int] = mapped_column(default=0)
    blocked_at: Mapped[datetime | None]
    # The effective cap that applied that day (NULL: none).
    limit_value: Mapped[int | None]
    # When the finished day was counted again from message trace (usage/settle.py); NULL:
    # `sends` is the count of the day's last usage sync.
    settled_at: Mapped[datetime | None]
