"""Registering and checking custom domains (DESIGN.md section 4, "Domains"); verification is
in domains/verification.py, removal in domains/removal.py, background re-checks in
domains/jobs.py.

Graph `POST /domains` → the records to publish (verification TXT, Email service records) →
(verification) → DNS health. Microsoft calls never run inside a database transaction: each
operation reads in the request's read-only session, gives that session back (`release`), talks
to Microsoft and DNS, then writes in one short unit of work of its own (`save`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.errors import AppError, microsoft_unavailable
from tenantcore.core.pagination import cut, decode_cursor, fetch_size
from tenantcore.domains import dkim, dns_health, records, repository
from tenantcore.domains.errors import (
    DomainAlreadyRegistered,
    DomainNotFound,
    InvalidDomain,
    MicrosoftAccessDenied,
    TenantNotConnected,
)
from tenantcore.domains.models import Domain
from tenantcore.domains.names import lookup_name, normalise_domain
from tenantcore.domains.schemas import DomainList, DomainOut
from tenantcore.microsoft.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidRequest,
    MicrosoftError,
)
from tenantcore.microsoft.graph import GraphClient
from tenantcore.microsoft.models import Domain as GraphDomain
from tenantcore.tenants.errors import TenantNotFound
from tenantcore.tenants.models import Tenant, TenantStatus
from tenantcore.tenants.service import require_tenant
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

EMAIL = "Email"

log = structlog.get_logger(__name__)


def describe(tenant_guid: str, row: Domain) -> DomainOut:
    return DomainOut(
        id=row.id,
        tenant_id=tenant_guid,
        domain_name=row.domain_name,
        is_default=row.is_default,
        is_verified=row.is_verified,
        email_enabled=row.email_enabled,
        spf_status=row.spf_status,
        dkim_status=row.dkim_status,
        dkim_signing_enabled=row.dkim_signing_enabled,
        dmarc_status=row.dmarc_status,
        mx_status=row.mx_status,
        last_checked=row.last_checked,
        created_at=row.created_at,
        dns_records=records.publishable(row),
    )


def microsoft_failure(exc: MicrosoftError) -> AppError:
    """What the caller sees when Microsoft (or the sandbox standing in for it) fails us after
    the connector's retries: refused access, or a clean 503 worth retrying."""
    if isinstance(exc, AuthenticationFailed | Forbidden):
        return MicrosoftAccessDenied(
            f"{MicrosoftAccessDenied.default_message} Microsoft said: {exc.detail}"
        )
    return microsoft_unavailable(exc)


async def release(session: AsyncSession) -> None:
    """Give the request's read-only session back before a Microsoft call, which may take many
    seconds under throttling: a PostgreSQL connection idling in a transaction that long would
    starve the pool. Loaded objects stay readable (closing detaches, it doesn't expire)."""
    await session.close()


async def _connected_tenant(session: AsyncSession, principal: Principal, tenant_id: str) -> Tenant:
    tenant = await require_tenant(session, principal, tenant_id)
    if tenant.status != TenantStatus.CONNECTED:
        raise TenantNotConnected
    return tenant


async def connected_domain(
    session: AsyncSession, principal: Principal, tenant_id: str, raw_name: str
) -> tuple[Tenant, Domain]:
    """The caller's connected tenant and its domain, or the matching not-found error."""
    tenant = await _connected_tenant(session, principal, tenant_id)
    return tenant, await _require_domain(session, tenant, raw_name)


async def _require_domain(session: AsyncSession, tenant: Tenant, raw_name: str) -> Domain:
    name = lookup_name(raw_name)
    row = None if name is None else await repository.by_name(session, tenant.id, name)
    if row is None:
        raise DomainNotFound
    return row


def mx_hosts(row: Domain) -> set[str]:
    return {str(r["mailExchange"]) for r in row.service_records if r.get("mailExchange")}


def health_changes(health: dns_health.Health) -> dict[str, Any]:
    return {
        "spf_status": health.spf_status.value,
        "dkim_status": health.dkim_status.value,
        "dmarc_status": health.dmarc_status.value,
        "mx_status": health.mx_status.value,
        "last_checked": health.last_checked,
    }


async def save(context: AppContext, domain_pk: str, changes: dict[str, Any]) -> Domain:
    """Save a check's changes; when a re-check judges the DNS records differently from the
    check before it, the `domain.dns_health.changed` webhook says so, and the first save of
    the domain as verified sends `domain.verified`."""
    async with unit_of_work(context.sessionmaker) as session:
        # Locked (PostgreSQL): two checks at once must not both report one change.
        row = await session.get(Domain, domain_pk, with_for_update=True)
        if row is None:  # the tenant was disconnected meanwhile
            raise DomainNotFound
        previous, checked_before = webhook_events.health_verdicts(row), row.last_checked
        was_verified = row.is_verified
        for name, value in changes.items():
            setattr(row, name, value)
        health_changed = (
            checked_before is not None and webhook_events.health_verdicts(row) != previous
        )
        verified = row.is_verified and not was_verified
        tenant = await session.get(Tenant, row.tenant_pk) if health_changed or verified else None
        if tenant is not None:
            outbox, now = Outbox(session, tenant.account_id), context.now()
            if verified:
                await webhook_events.domain_verified(outbox, row, tenant.tenant_id, now)
            if health_changed:
                await webhook_events.dns_health_changed(
                    outbox, row, tenant.tenant_id, previous, now
                )
    return row


async def auto_publish(context: AppContext, row: Domain) -> None:
    """Sandbox mode: publish the records in the sandbox's DNS zone, as the customer would at
    their registrar, keeping whatever else the zone holds."""
    sandbox = context.sandbox
    if sandbox is None or not context.settings.sandbox.auto_publish_dns:
        return
    existing = await sandbox.dns_zone(row.domain_name)
    wanted = records.publishable(row)
    await sandbox.publish_dns(row.domain_name, records.merged_zone(existing, wanted))


async def checked(
    context: AppContext, tenant_guid: str, row: Domain, mx_hosts: set[str]
) -> dict[str, Any]:
    """A DNS check with its DKIM steps (domains/dkim.py): the keys made when due (and, in
    sandbox mode, their records published), DNS health judged, signing turned on once the
    records are there. The changes to save; `row` is updated in memory as it goes."""
    changes = await dkim.prepare(context, tenant_guid, row)
    if changes:
        for name, value in changes.items():
            setattr(row, name, value)
        try:
            await auto_publish(context, row)
        except MicrosoftError as exc:
            log.info("sandbox dns not published", domain=row.domain_name, error=str(exc))
    health = await dns_health.check(context, row.domain_name, mx_hosts, dkim.targets(row))
    changes.update(health_changes(health))
    changes.update(await dkim.enable_if_published(context, tenant_guid, row, health.dkim_status))
    return changes


async def enable_email(graph: GraphClient, tenant_guid: str, remote: GraphDomain) -> GraphDomain:
    if EMAIL in remote.supported_services:
        return remote
    await graph.enable_email(tenant_guid, remote.id, list(remote.supported_services))
    return remote.model_copy(update={"supported_services": [*remote.supported_services, EMAIL]})


async def _add_in_microsoft(context: AppContext, tenant_guid: str, name: str) -> Domain:
    """Add (or find) the domain in Microsoft 365 and gather its records; an unsaved row."""
    graph = context.connector.graph
    try:
        remote = await graph.add_domain(tenant_guid, name)
    except InvalidRequest as exc:
        raise InvalidDomain(f"Microsoft 365 refused '{name}': {exc.detail}") from exc
    # Already verified (a subdomain of a verified domain, or verified earlier in the admin
    # center): finish the Email setup now, as verify would.
    if remote.is_verified:
        remote = await enable_email(graph, tenant_guid, remote)
    verification = await graph.verification_records(tenant_guid, name)
    service = await graph.service_configuration_records(tenant_guid, name)
    return Domain(
        created_at=context.now(),
        domain_name=name,
        is_default=remote.is_default,
        is_verified=remote.is_verified,
        email_enabled=EMAIL in remote.supported_services,
        verification_records=records.stored(verification),
        service_records=records.stored(service),
    )


async def _store_new(
    session: AsyncSession, tenant_pk: str, row: Domain, now: datetime
) -> tuple[Domain, bool]:
    tenant = await session.get(Tenant, tenant_pk)
    if tenant is None or tenant.status != TenantStatus.CONNECTED:
        raise TenantNotFound
    existing = await repository.by_name(session, tenant_pk, row.domain_name)
    if existing is not None:
        return existing, False
    if await repository.registered_elsewhere(session, row.domain_name, tenant_pk):
        raise DomainAlreadyRegistered
    row.tenant_pk = tenant_pk
    session.add(row)
    await session.flush()
    if row.is_verified:  # already verified in Microsoft 365 (a verified domain's subdomain)
        outbox = Outbox(session, tenant.account_id)
        await webhook_events.domain_verified(outbox, row, tenant.tenant_id, now)
    return row, True


async def add(
    context: AppContext, session: AsyncSession, principal: Principal, tenant_id: str, raw: str
) -> tuple[DomainOut, bool]:
    """Register a domain on the caller's tenant; (domain, created). Safe to repeat: a domain
    already on this tenant is returned as it is, without calling Microsoft."""
    tenant = await require_tenant(session, principal, tenant_id)
    name = normalise_domain(raw)
    if tenant.status != TenantStatus.CONNECTED:
        raise TenantNotConnected
    existing = await repository.by_name(session, tenant.id, name)
    if existing is not None:
        return describe(tenant.tenant_id, existing), False
    if await repository.registered_elsewhere(session, name, tenant.id):
        raise DomainAlreadyRegistered
    await release(session)
    return await register(context, tenant, name)


async def register(context: AppContext, tenant: Tenant, name: str) -> tuple[DomainOut, bool]:
    """Add the (normalised) name, which the caller found neither on this tenant nor on
    another, in Microsoft 365 and store it; (domain, created). A concurrent add may still
    win: its domain, or `domain_already_registered`."""
    try:
        row = await _add_in_microsoft(context, tenant.tenant_id, name)
        await auto_publish(context, row)
    except MicrosoftError as exc:
        raise microsoft_failure(exc) from exc
    try:
        health = await checked(context, tenant.tenant_id, row, mx_hosts(row))
    except MicrosoftError as exc:
        raise microsoft_failure(exc) from exc
    for field, value in health.items():
        setattr(row, field, value)
    try:
        async with unit_of_work(context.sessionmaker) as write:
            stored, created = await _store_new(write, tenant.id, row, context.now())
    except IntegrityError:
        # A concurrent add won the race (this tenant, or another one: the name is unique).
        async with unit_of_work(context.sessionmaker, read_only=True) as read:
            winner = await repository.by_name(read, tenant.id, name)
            elsewhere = await repository.registered_elsewhere(read, name, tenant.id)
        if winner is not None:
            return describe(tenant.tenant_id, winner), False
        if elsewhere:
            raise DomainAlreadyRegistered from None
        raise TenantNotFound from None  # the only other constraint: the tenant went away
    return describe(tenant.tenant_id, stored), created


async def list_domains(
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> DomainList:
    after = decode_cursor("domains", cursor, 1)
    tenant = await require_tenant(session, principal, tenant_id)
    fetched = await repository.list_for_tenant(
        session, tenant.id, after=None if after is None else after[0], limit=fetch_size(limit)
    )
    rows, next_cursor = cut(fetched, limit, "domains", lambda row: (row.domain_name,))
    domains = [describe(tenant.tenant_id, row) for row in rows]
    return DomainList(
        tenant_id=tenant.tenant_id, domains=domains, count=len(domains), next_cursor=next_cursor
    )


async def get(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    raw: str,
    *,
    refresh: bool,
) -> DomainOut:
    """One domain; `refresh` re-checks its DNS health first (and saves the verdicts)."""
    tenant = await require_tenant(session, principal, tenant_id)
    row = await _require_domain(session, tenant, raw)
    if refresh:
        await release(session)
        # Judging DNS only: a GET changes nothing in the tenant's Exchange (verify and the
        # background re-check take the DKIM steps).
        health = await dns_health.check(context, row.domain_name, mx_hosts(row), dkim.targets(row))
        row = await save(context, row.id, health_changes(health))
    return describe(tenant.tenant_id, row)
