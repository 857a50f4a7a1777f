"""The tenant usage summary and history (beyond the seed): a tenant's sending, today and by day."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class UsageTotals(BaseModel):
    sends_today: int = Field(
        description="Emails sent today (UTC) by these mailboxes, from message trace "
        "(recipients, the unit Exchange's caps count)."
    )
    capacity_today: int = Field(
        description="The sum of the caps that apply to the ready mailboxes that have one (each "
        "mailbox's `effective_send_limit` when enforcement covers it, else its own "
        "`daily_send_limit`): how many sends today's caps allow in all."
    )
    uncapped_mailboxes: int = Field(
        description="Ready mailboxes with no cap at all: not counted in `capacity_today`."
    )
    mailbox_count: int
    ready_count: int
    enforced_count: int = Field(
        description="Mailboxes a mailbox-limits policy covers (their cap is held by Exchange)."
    )
    blocked_count: int = Field(
        description="Mailboxes blocked (`blocked_at` set: `is_blocked` in their usage)."
    )
    smtp_auth_disabled_count: int = Field(
        description="Ready mailboxes whose SMTP AUTH switch was last seen off "
        "(`smtp_auth_enabled` false): their sending tools cannot log in."
    )


class DomainUsage(UsageTotals):
    domain_name: str
    policy_limit: int | None = Field(
        description="The ceiling of the mailbox-limits policy covering the domain (its own, "
        "else the tenant-wide one); null when none does."
    )


class TenantUsage(UsageTotals):
    tenant_id: str
    day: str = Field(description="The UTC day the numbers are for (YYYY-MM-DD).")
    usage_synced_at: datetime | None = Field(
        description="When the tenant's usage was last read from Exchange; null before the first "
        "sync."
    )
    external_recipient_limit: int | None = Field(
        description="The tenant's estimated external recipient rate limit (the tenant's "
        "`external_recipient_limit`): external recipients per rolling 24 hours for all its "
        "mail, past which Exchange refuses its external mail. Null when its licenses are not "
        "known."
    )
    capacity_exceeds_tenant_limit: bool | None = Field(
        description="Whether `capacity_today` is more than `external_recipient_limit`: the "
        "caps allow more sends than the tenant may make, so mailboxes can be refused before "
        "their own caps (`550 5.7.233`). Buy Exchange licenses or lower caps. Null when the "
        "limit is not known."
    )
    domains: list[DomainUsage] = Field(description="Per domain, by name.")


class TenantDay(BaseModel):
    day: str = Field(description="The UTC day, YYYY-MM-DD.")
    sends: int = Field(description="Emails its mailboxes sent that day, from message trace.")
    mailbox_count: int = Field(description="Mailboxes counted that day.")
    blocked_count: int = Field(description="Mailboxes blocked that day.")
    state: Literal["open", "closed", "settled"] = Field(
        description="`open`: still being counted. `closed`: as the day's last usage sync "
        "counted it. `settled`: every mailbox's count was read again from message trace after "
        "the day ended (final)."
    )


class TenantUsageHistory(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    tenant_id: str
    from_day: str = Field(alias="from", description="The first day asked for (YYYY-MM-DD).")
    to_day: str = Field(alias="to", description="The last day asked for (YYYY-MM-DD).")
    days: list[TenantDay] = Field(
        description="Oldest first; a day is missing when TenantCore has no count for it."
    )
    count: int
