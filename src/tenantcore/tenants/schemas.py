"""Tenant request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TenantConnect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str


class TenantOut(BaseModel):
    id: str
    tenant_id: str
    tenant_name: str | None
    tenant_domain: str | None
    default_domain: str | None
    domain_count: int
    mailbox_count: int
    status: str
    discovery_completed: bool
    exchange_bootstrap_status: str
    bootstrap_error: str | None
    consented_at: datetime | None
    last_sync_at: datetime | None
    created_at: datetime
    smtp_auth_enabled: bool | None = Field(
        description="The tenant-wide SMTP AUTH switch as Exchange last showed it "
        "(`Get-TransportConfig`), re-read hourly; null before the first reading. Each "
        "mailbox's own switch, which TenantCore turns on, wins over it: see the mailboxes' "
        "`smtp_auth_enabled`."
    )
    security_defaults_enabled: bool | None = Field(
        description="Whether Entra security defaults are on, as Graph last showed them: they "
        "refuse every SMTP AUTH login with a password. Null before the first reading, or when "
        "the app lacks the Policy.Read.All permission."
    )
    legacy_auth_blocked_by: list[str] | None = Field(
        default=None,
        description="Names of the tenant's enabled Conditional Access policies that block "
        "legacy authentication to Exchange Online, which refuses SMTP AUTH with a password "
        "(`535 5.7.139`) for the users they cover (e.g. Microsoft's \"Block legacy "
        'authentication"); each mailbox they certainly cover shows `smtp_auth_enabled: '
        "false`. Empty when none; null before the first reading, or when the app lacks "
        "Policy.Read.All.",
    )
    smtp_auth_checked_at: datetime | None = Field(
        description="When the SMTP AUTH switches were last read."
    )
    # Live mode, before consent: where a Global Administrator grants TenantCore access.
    admin_consent_url: str | None = None


class TenantList(BaseModel):
    tenants: list[TenantOut]
    count: int
