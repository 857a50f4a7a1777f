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
        description="When the SMTP AUTH switches (and the licenses) were last read."
    )
    exchange_licenses: int | None = Field(
        default=None,
        description="The tenant's working, paid Exchange Online licenses, from its "
        "subscriptions as Graph last showed them (re-read hourly). Shared mailboxes need none "
        "and add none. Null before the first reading, or when the app lacks "
        "Organization.Read.All.",
    )
    trial_only: bool | None = Field(
        default=None,
        description="Whether the tenant's only Exchange licenses are trials (its external "
        "recipient limit is then 5,000). Null when not known.",
    )
    external_recipient_limit: int | None = Field(
        default=None,
        description="Estimated tenant external recipient rate limit: how many external "
        "recipients the whole tenant's mail may reach in a rolling 24 hours before Exchange "
        "refuses more with `550 5.7.233` (500 x licenses^0.7 + 9,500; 5,000 for a trial "
        "tenant). Compare it with `capacity_today` in the tenant usage summary. Null when the "
        "licenses are not known.",
    )
    sending_app_status: str | None = Field(
        default=None,
        description="Where the tenant's OAuth sending app stands (`pending`, `ready`, "
        "`failed`, `removing`; details at `GET …/sending-app`); null when it has none.",
    )
    # Live mode, before consent: where a Global Administrator grants TenantCore access.
    admin_consent_url: str | None = None


class TenantList(BaseModel):
    tenants: list[TenantOut]
    count: int = Field(description="How many tenants this answer holds.")
    next_cursor: str | None = Field(
        description="With `limit`, the `cursor` of the next page; null on the last page and "
        "without `limit`."
    )
