"""Connected Microsoft 365 tenants."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, JSONList, check_in, new_id, utcnow


class TenantStatus(StrEnum):
    PENDING_CONSENT = "pending_consent"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class BootstrapStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class SendingAppStatus(StrEnum):
    """The customer's OAuth sending application (sending/jobs.py)."""

    PENDING = "pending"  # being registered in Exchange and given the mailboxes
    READY = "ready"  # holds FullAccess on every ready mailbox
    FAILED = "failed"  # cannot be registered (not consented, say): see the error
    REMOVING = "removing"  # being taken out of Exchange


class Tenant(Base):
    """`id` is TenantCore's key; `tenant_id` is Microsoft's directory GUID, the one the API
    paths carry. A GUID is connected at most once (across accounts too): two accounts driving
    the same directory would fight over its policies and mailboxes."""

    __tablename__ = "tenant"
    __table_args__ = (
        check_in("status", TenantStatus),
        check_in("exchange_bootstrap_status", BootstrapStatus),
        check_in("sending_app_status", SendingAppStatus),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("account.id"), index=True)
    # Lowercase, hyphenated.
    tenant_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_name: Mapped[str | None] = mapped_column(String(256))
    # The initial `*.onmicrosoft.com` domain found by discovery.
    tenant_domain: Mapped[str | None] = mapped_column(String(253))
    default_domain: Mapped[str | None] = mapped_column(String(253))
    status: Mapped[str] = mapped_column(String(32), default=TenantStatus.PENDING_CONSENT)
    discovery_completed: Mapped[bool] = mapped_column(default=False)
    exchange_bootstrap_status: Mapped[str] = mapped_column(
        String(32), default=BootstrapStatus.PENDING
    )
    bootstrap_error: Mapped[str | None] = mapped_column(Text)
    # When discovery/bootstrap began (the bounded time before `failed` counts from here), and
    # when the background worker should next look at this tenant (NULL: nothing to do).
    bootstrap_started_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    # Live mode: the nonce sent as `state` with the admin-consent URL; the callback finds the
    # tenant by it. Unique so a nonce can never match two tenants.
    consent_state: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    consented_at: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    # When the usage reconciler should next look at this tenant (indexed: it scans by it).
    next_sync_at: Mapped[datetime | None] = mapped_column(index=True)
    # Message-trace queries spent in the current 5-minute window (Microsoft allows 100 per 5
    # minutes per tenant); the usage sync keeps within its budget.
    trace_window_started_at: Mapped[datetime | None]
    trace_queries_in_window: Mapped[int] = mapped_column(default=0, server_default="0")
    # The last finished UTC day (YYYY-MM-DD) whose usage has not yet been counted again from
    # message trace; set at the day boundary, cleared once that day is settled (usage/settle.py).
    usage_unsettled_day: Mapped[str | None] = mapped_column(String(10))
    # The tenant-wide SMTP AUTH switch as Exchange last showed it (`Get-TransportConfig`; NULL:
    # not read yet), when, and when to read it and the mailboxes' switches again
    # (tenants/smtp_auth.py; indexed: the sweep scans by it).
    smtp_auth_enabled: Mapped[bool | None]
    # Entra security defaults as Graph last showed them (NULL: not read, or not readable).
    security_defaults_enabled: Mapped[bool | None]
    # Names of the Conditional Access policies that refuse SMTP AUTH with a password for some
    # or all users (tenants/conditional_access.py; NULL: not read, or not readable).
    legacy_auth_blocked_by: Mapped[list[str] | None] = mapped_column(JSONList)
    # The tenant's working Exchange licenses (paid) and whether it has only trial ones, as
    # Graph last showed them (tenants/sending_limit.py; NULL: not read, or not readable).
    exchange_licenses: Mapped[int | None]
    trial_only: Mapped[bool | None]
    # Whether the caps of its ready mailboxes added up to more than its estimated external
    # recipient rate limit at the last check (NULL: the limit is not known).
    capacity_over_limit: Mapped[bool | None]
    smtp_auth_checked_at: Mapped[datetime | None]
    smtp_auth_next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    # The customer's own application that sends as the mailboxes with OAuth (XOAUTH2): its
    # app id, its service principal's object id once found, where registering it stands
    # (NULL: none), why it failed, and when the worker should next look (indexed: swept).
    sending_app_id: Mapped[str | None] = mapped_column(String(36))
    sending_app_object_id: Mapped[str | None] = mapped_column(String(36))
    sending_app_status: Mapped[str | None] = mapped_column(String(16))
    sending_app_error: Mapped[str | None] = mapped_column(Text)
    sending_app_next_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
