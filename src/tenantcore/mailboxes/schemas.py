"""Mailbox request and response bodies (seed: list, provision, update, usage).

Seed fields keep their names and types; fields beyond the seed are marked as such.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tenantcore.core.openapi import accepts


class MailboxRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Display name for the mailbox (1-256 characters).")
    email: str = Field(description="Full email address. Must end with @{domain}.")


class ProvisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(description="The verified domain to create mailboxes on.", max_length=300)
    # SecretStr: never echoed by repr, logs or validation errors.
    account_password: SecretStr = Field(
        description="Initial password for the underlying user accounts (all mailboxes of the "
        "request). 8-256 ASCII characters with 3 of: lowercase, uppercase, digits, symbols. "
        "Sent to Microsoft and never stored in plain text or logged.",
    )
    mailboxes: list[MailboxRequest] = Field(
        description="Mailboxes to create: 1-3, and at most 3 per domain including existing.",
        min_length=1,
    )


class MailboxDetails(BaseModel):
    display_name: str
    primary_smtp: str
    user_principal_name: str = Field(
        description="The sign-in name (SMTP AUTH username). TenantCore makes it the address, "
        "whatever Exchange assigns at creation."
    )
    alias: str = Field(description="The Exchange alias (Graph mailNickname).")


class ProvisionResult(BaseModel):
    status: Literal["created", "exists", "failed"] = Field(
        description="`created`: stored and Exchange provisioning under way (the mailbox turns "
        "`ready` after propagation, see list mailboxes); `exists`: already on this tenant, no "
        "action taken; `failed`: see `error`."
    )
    name: str
    email: str
    details: MailboxDetails | None = Field(description="Null for `failed`.")
    # Beyond the seed:
    mailbox_id: str | None = Field(description="The TenantCore mailbox UUID; null for `failed`.")
    mailbox_status: str | None = Field(
        description="The mailbox's `status` (provisioning | ready | failed); null for `failed`."
    )
    error: str | None = Field(description="For `failed`: the error code.")
    message: str | None = Field(description="For `failed`: what went wrong.")


class ProvisionResponse(BaseModel):
    created_count: int
    exists_count: int
    failed_count: int
    results: list[ProvisionResult]


MAX_DOMAINS_PER_BATCH = 50


class DomainMailboxes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(description="A verified domain of the tenant.", max_length=300)
    mailboxes: list[MailboxRequest] = Field(
        description="Mailboxes to create on it: 1-3, and at most 3 per domain including existing.",
        min_length=1,
    )


class BatchProvisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_password: SecretStr = Field(
        description="Initial password for the underlying user accounts (all mailboxes of the "
        "request), with the same rules as a single provisioning request."
    )
    domains: list[DomainMailboxes] = Field(
        description=f"1 to {MAX_DOMAINS_PER_BATCH} domains, each named once.",
        min_length=1,
        max_length=MAX_DOMAINS_PER_BATCH,
    )


class BatchProvisionResult(ProvisionResult):
    domain: str = Field(description="The domain as sent.")


class BatchProvisionResponse(BaseModel):
    created_count: int
    exists_count: int
    failed_count: int
    results: list[BatchProvisionResult] = Field(
        description="One per mailbox, domain by domain, in the order sent. A domain that "
        "cannot take mailboxes (`domain_not_found`, `domain_not_verified`, a bad address, more "
        "than 3 listed) fails each of its mailboxes with that code."
    )


class MailboxOut(BaseModel):
    id: str
    display_name: str
    primary_smtp: str = Field(description="The mailbox email address.")
    user_principal_name: str = Field(
        description="The account's sign-in name as Microsoft has it (the address once provisioned)."
    )
    mail_nickname: str
    account_enabled: bool = Field(description="Whether the account is enabled in Entra ID.")
    daily_send_limit: int | None = Field(
        description="Configured daily send cap (1 to 25); null when none is set."
    )
    sends_today: int = Field(
        description="Emails sent today (UTC) as reported by Exchange message trace."
    )
    blocked_at: datetime | None = Field(
        description="When the mailbox was blocked by enforcement, or null if not blocked."
    )
    created_at: datetime
    domain_name: str
    tenant_name: str | None
    # Beyond the seed:
    status: str = Field(
        description="`provisioning` (Exchange is creating and propagating it: not usable for "
        "sending yet), `ready`, or `failed` (see `error`)."
    )
    ready_at: datetime | None = Field(description="When the mailbox became ready.")
    usage_synced_at: datetime | None = Field(
        description="When `sends_today` and `blocked_at` were last read from Exchange."
    )
    error: str | None = Field(description="Why provisioning failed (or is being retried).")
    smtp_auth_enabled: bool | None = Field(
        description="Whether sending tools can log in as the mailbox with SMTP AUTH, as last "
        "read (ready mailboxes, re-read hourly): Entra security defaults off, and the "
        "mailbox's own Exchange switch on (or, unset, the tenant's). Null before it is ready. "
        "false: logins fail with 535 5.7.139 until that is changed."
    )
    effective_send_limit: int | None = Field(
        description="The cap Exchange enforces today, as the mailbox's usage shows it: its own "
        "cap, never above the covering mailbox-limits policy's (under a ramp, what the ramp "
        "allows today), else the policy's. Null when no policy covers the mailbox's domain."
    )


class MailboxList(BaseModel):
    tenant_id: str
    mailboxes: list[MailboxOut]
    count: int = Field(description="How many mailboxes this answer holds.")
    next_cursor: str | None = Field(
        description="Beyond the seed: with `limit`, the `cursor` of the next page; null on the "
        "last page and without `limit`."
    )


class MailboxUpdate(BaseModel):
    """Unknown fields are ignored (a body with none of these is `no_updates`); values are
    validated by the service so a bad cap gets the seed's `invalid_send_limit`."""

    model_config = ConfigDict(extra="ignore")

    # Typed as Any so the service, not the framework, refuses bad values with the seed's codes;
    # the schema still tells clients what is accepted.
    display_name: Any = Field(
        default=None,
        description="New display name (1-256 characters).",
        json_schema_extra=accepts({"type": "string", "minLength": 1, "maxLength": 256}),
    )
    daily_send_limit: Any = Field(
        default=None,
        description="Daily send cap between 1 and 25; null removes the mailbox's own cap. "
        "Stored in TenantCore; enforced in Exchange where a mailbox-limits policy covers the "
        "mailbox's domain.",
        json_schema_extra=accepts(
            {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 25}, {"type": "null"}]}
        ),
    )
    # Beyond the seed:
    smtp_auth_enabled: Any = Field(
        default=None,
        description="Turn the mailbox's own SMTP AUTH switch in Exchange on (`true`: sending "
        "tools can log in again after an admin or Microsoft turned it off) or off (`false`: "
        "every login fails with 535 5.7.139, pausing the mailbox's sending). Applied with "
        "Set-CASMailbox before the answer; only for a `ready` mailbox.",
        json_schema_extra=accepts({"type": "boolean"}),
    )
    account_password: SecretStr | None = Field(
        default=None,
        description="A new password for the mailbox's account (same rule as at provisioning: "
        "8-256 ASCII characters with 3 of lowercase, uppercase, digits, symbols), set in "
        "Microsoft 365 before the answer; only for a `ready` mailbox. Sending tools must log "
        "in with it from then on. Never stored or logged.",
    )


class UpdateResponse(BaseModel):
    status: Literal["updated"]
    mailbox: MailboxOut


class UsageOut(BaseModel):
    mailbox_id: str
    primary_smtp: str
    display_name: str
    account_enabled: bool
    daily_send_limit: int | None = Field(
        description="The mailbox's own configured cap; null when none is set."
    )
    sends_today: int = Field(description="Emails sent today (UTC) from Exchange message trace.")
    remaining_sends: int | None = Field(
        description="The applicable cap minus sends_today, floored at 0. The applicable cap is "
        "`effective_send_limit` when enforcement covers the mailbox, else `daily_send_limit`; "
        "null when neither is set (no cap: sending is not limited by TenantCore)."
    )
    is_blocked: bool = Field(description="True if enforcement has blocked this mailbox.")
    blocked_at: datetime | None = Field(description="When the block was applied.")
    utilization_pct: float | None = Field(
        description="sends_today / applicable cap x 100, rounded to 1 decimal (half up); may "
        "exceed 100 when Exchange counted recipients past the cap. Null when no cap applies."
    )
    # Beyond the seed:
    effective_send_limit: int | None = Field(
        description="The cap Exchange enforces today: the mailbox's own cap, never above the "
        "covering mailbox-limits policy's (under a ramp, what the ramp allows today), else the "
        "policy's. Null when no policy covers the "
        "mailbox's domain (its own cap, if any, is stored but not enforced)."
    )
    usage_synced_at: datetime | None = Field(
        description="When the numbers were last read from Exchange; null before the first sync."
    )
    status: str = Field(description="The mailbox's status (provisioning | ready | failed).")
    smtp_auth_enabled: bool | None = Field(
        description="Whether sending tools can log in as the mailbox with SMTP AUTH, as last "
        "read (ready mailboxes, re-read hourly): Entra security defaults off, and the "
        "mailbox's own Exchange switch on (or, unset, the tenant's). Null before it is ready. "
        "false: logins fail with 535 5.7.139 until that is changed."
    )


class UsageDayOut(BaseModel):
    """One UTC day of a mailbox's sending (beyond the seed)."""

    day: str = Field(description="The UTC day, YYYY-MM-DD.")
    sends: int = Field(
        description="Emails sent that day from Exchange message trace (recipients, the unit "
        "Exchange's cap counts)."
    )
    limit_value: int | None = Field(
        description="The cap Exchange enforced that day (`effective_send_limit`); null when "
        "no mailbox-limits policy covered the mailbox. For an `open` day, the cap that "
        "applies now."
    )
    blocked_at: datetime | None = Field(description="When the day's block was applied, if any.")
    state: Literal["open", "closed", "settled"] = Field(
        description="`open`: the usage sync is still counting the day (today, or the day just "
        "ended until the first sync after midnight closes it). `closed`: kept with the count "
        "of the day's last usage sync. `settled`: counted again from message trace once it "
        "had caught up after the day ended (final)."
    )
    settled_at: datetime | None = Field(description="When the day was settled.")


class UsageHistory(BaseModel):
    """A mailbox's daily usage over a range of UTC days (beyond the seed)."""

    model_config = ConfigDict(populate_by_name=True)

    mailbox_id: str
    primary_smtp: str
    from_day: str = Field(alias="from", description="The first day asked for (YYYY-MM-DD).")
    to_day: str = Field(alias="to", description="The last day asked for (YYYY-MM-DD).")
    days: list[UsageDayOut] = Field(
        description="Oldest first. A day is missing when TenantCore has no count for it: "
        "before the mailbox was ready, or more than message trace's 90 days back. A day no "
        "usage sync saw (an outage) shows `closed` with no sends until it is counted from "
        "message trace (`settled`), a few sync intervals later."
    )
    count: int
