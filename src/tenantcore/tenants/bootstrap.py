"""Discovery and Exchange bootstrap of a connected tenant (DESIGN.md section 4).

Discovery reads the tenant's name and domains. The bootstrap then makes Exchange usable:
`Get-OrganizationConfig` → `Enable-OrganizationCustomization` while the org is dehydrated →
SMTP AUTH on at tenant level → `ready`. Each pass does what it can and schedules the next one
(`next_attempt_at`); Microsoft calls run outside any database transaction. Transient trouble is
retried with backoff; after `bootstrap_timeout_seconds` the tenant is `failed` with the reason.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.microsoft.errors import MicrosoftError, Throttled, Transient
from tenantcore.tenants import repository
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

# How soon to look again while Exchange finishes hydrating the organization.
HYDRATION_POLL = timedelta(seconds=10)
RETRY_MIN = timedelta(seconds=2)
RETRY_MAX = timedelta(minutes=5)


async def advance_due_tenants(context: AppContext, limit: int = 20) -> int:
    """One pass over tenants whose discovery/bootstrap is due; returns how many were worked."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await repository.due_for_bootstrap(session, context.now(), limit)
    for tenant_pk in due:
        await advance_tenant(context, tenant_pk)
    return len(due)


async def advance_tenant(context: AppContext, tenant_pk: str) -> None:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await session.get(Tenant, tenant_pk)
    if tenant is None or tenant.status != TenantStatus.CONNECTED:
        return
    changes: dict[str, object] = {}
    try:
        if not tenant.discovery_completed:
            changes.update(await _discover(context, tenant.tenant_id))
        changes.update(await _bootstrap_step(context, tenant.tenant_id))
    except MicrosoftError as exc:
        changes.update(_after_failure(context, tenant, exc))
    await _save(context, tenant_pk, changes)


async def _discover(context: AppContext, tenant_guid: str) -> dict[str, object]:
    connector = context.connector
    organization = await connector.exchange.get_organization_config(tenant_guid)
    domains = await connector.graph.list_domains(tenant_guid)
    initial = next((d.id for d in domains if d.is_initial), None)
    default = next((d.id for d in domains if d.is_default), initial)
    return {
        "tenant_name": organization.display_name or organization.name,
        "tenant_domain": initial,
        "default_domain": default,
        "discovery_completed": True,
    }


async def _bootstrap_step(context: AppContext, tenant_guid: str) -> dict[str, object]:
    exchange = context.connector.exchange
    now = context.now()
    organization = await exchange.get_organization_config(tenant_guid)
    if organization.is_dehydrated:
        await exchange.enable_organization_customization(tenant_guid)
        organization = await exchange.get_organization_config(tenant_guid)
    if organization.is_dehydrated:
        # Exchange takes a while to hydrate (up to an hour): look again shortly.
        return {"next_attempt_at": now + HYDRATION_POLL, "bootstrap_error": None}
    await exchange.set_smtp_client_authentication(tenant_guid, disabled=False)
    return {
        "exchange_bootstrap_status": BootstrapStatus.READY,
        "bootstrap_error": None,
        "next_attempt_at": None,
        "last_sync_at": now,
    }


def _after_failure(context: AppContext, tenant: Tenant, exc: MicrosoftError) -> dict[str, object]:
    now = context.now()
    started = tenant.bootstrap_started_at or now
    timeout = timedelta(seconds=context.settings.bootstrap_timeout_seconds)
    reason = f"{type(exc).__name__}: {exc}"
    log.warning("tenant bootstrap step failed", tenant_id=tenant.tenant_id, error=reason)
    if now - started >= timeout:
        return {
            "exchange_bootstrap_status": BootstrapStatus.FAILED,
            "bootstrap_error": reason,
            "next_attempt_at": None,
        }
    retry_after = (
        getattr(exc, "retry_after", None) if isinstance(exc, Throttled | Transient) else None
    )
    elapsed = max(now - started, RETRY_MIN)
    delay = timedelta(seconds=retry_after) if retry_after else min(elapsed, RETRY_MAX)
    return {"bootstrap_error": reason, "next_attempt_at": now + delay}


async def _save(context: AppContext, tenant_pk: str, changes: dict[str, object]) -> None:
    if not changes:
        return
    async with unit_of_work(context.sessionmaker) as session:
        tenant = await session.get(Tenant, tenant_pk)
        if tenant is None or tenant.status != TenantStatus.CONNECTED:
            return  # disconnected meanwhile
        status_before = tenant.exchange_bootstrap_status
        for name, value in changes.items():
            setattr(tenant, name, value)
        settled = (BootstrapStatus.READY, BootstrapStatus.FAILED)
        if tenant.exchange_bootstrap_status != status_before and (
            tenant.exchange_bootstrap_status in settled
        ):
            outbox = Outbox(session, tenant.account_id)
            await webhook_events.bootstrap_settled(outbox, tenant, context.now())
