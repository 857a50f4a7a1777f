"""Tenant request and response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
    # Live mode, before consent: where a Global Administrator grants TenantCore access.
    admin_consent_url: str | None = None


class TenantList(BaseModel):
    tenants: list[TenantOut]
    count: int
