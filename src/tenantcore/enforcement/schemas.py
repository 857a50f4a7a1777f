"""Enforcement request and response bodies (seed: set / get enforcement; events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tenantcore.core.openapi import accepts


class Ramp(BaseModel):
    """How a policy raises new mailboxes to its limit (beyond the seed)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(
        ge=1,
        le=25,
        description="The ceiling on the UTC day a mailbox becomes ready; below the policy's "
        "daily_send_limit.",
    )
    daily_increase: int = Field(
        ge=1, le=25, description="Added to the ceiling on each later UTC day, up to the limit."
    )


class RampOut(Ramp):
    full_after_days: int = Field(
        description="Days after becoming ready at which a mailbox reaches the policy's limit."
    )


class PolicySet(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["daily_send_limit"]})

    # Validated by the service so a bad value gets the seed's `invalid_send_limit`; the schema
    # still tells clients what is accepted.
    daily_send_limit: Any = Field(
        default=None,
        description="The daily send cap (1-25) for every mailbox in the scope.",
        json_schema_extra=accepts({"type": "integer", "minimum": 1, "maximum": 25}),
    )
    domain_scope: str | None = Field(
        default=None,
        description="A registered domain of the tenant; omitted or null: the whole tenant.",
    )
    ramp: Ramp | None = Field(
        default=None,
        description="Beyond the seed: raise each mailbox of the scope to the limit gradually, "
        "from `start` on the UTC day it becomes ready by `daily_increase` a day (its own "
        "daily_send_limit still applies when lower). Exchange's caps follow at each UTC "
        "midnight. Omitted: the saved ramp stays; null: no ramp.",
    )


class PolicyOut(BaseModel):
    """What TenantCore saved for the scope."""

    daily_send_limit: int
    domain_scope: str | None
    scope_label: str
    ramp: RampOut | None = Field(description="Beyond the seed: the ramp, if any.")
    provisioning_status: str
    provisioning_error: str | None
    provisioned_at: datetime | None
    enforced_mailboxes: int
    created_at: datetime
    updated_at: datetime


class PolicyList(BaseModel):
    """Beyond the seed: every saved policy of a tenant."""

    tenant_id: str
    policies: list[PolicyOut]
    count: int


class PolicyResponse(BaseModel):
    status: str
    tenant_id: str
    daily_send_limit: int
    domain_scope: str | None
    scope_label: str
    policy: PolicyOut
    provisioning: dict[str, Any] = Field(
        description="What exists in Exchange: `state` (the saved policy's provisioning status); "
        "`outbound_spam_policies` (one per cap, with its rule's priority and senders), "
        "`block_group` (name, address, members) and `transport_rule` (the scope's switch); "
        "`read_at`, when Exchange was read (a POST reads it anew; a GET may show a reading up "
        "to `TENANTCORE_EXCHANGE_STATE_MAX_AGE_SECONDS` old, never one older than a change "
        "TenantCore made); or `exchange_error` when Exchange could not be read."
    )


class EventOut(BaseModel):
    id: str = Field(description="The event's id: stable, unique, for de-duplicating polls.")
    tenant_id: str
    mailbox_id: str | None = Field(
        description="The mailbox's id; null once the mailbox is no longer in TenantCore "
        "(`mailbox_address` still names it)."
    )
    mailbox_address: str
    action_taken: str = Field(description="`blocked` or `unblocked`.")
    sent_count: int = Field(
        description="The mailbox's sends that day as message trace showed them when the event "
        "was recorded (recipients, the unit Exchange's cap counts)."
    )
    limit_value: int | None = Field(description="The daily cap that applied (blocked events).")
    message: str
    created_at: datetime = Field(
        description="When TenantCore recorded the event. Events found late (see "
        "`occurred_at`) are recorded when found, never back-dated, so a poller reading newest "
        "first sees them as new."
    )
    occurred_at: datetime = Field(
        description="When it happened. `unblocked`: the 00:00 UTC at which Exchange lifted the "
        "block. `blocked`: the usage sync that saw the cap reached (equal to `created_at`), or, "
        "for a cap reached after the day's last sync and found when the finished day is counted "
        "again from message trace after midnight, the send that reached it."
    )


class EventPage(BaseModel):
    events: list[EventOut]
    count: int
    total: int
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Beyond the seed: the `cursor` of the next (older) page; null on the last."
    )
