"""Background DNS re-checks: every domain's health is re-judged every
`settings.dns.recheck_seconds`, so `last_checked` and the statuses follow what the customer
changes at their DNS host without anyone asking; sooner during a domain's first days while
it waits for the customer's records: a domain not verified yet every
`verify_pending_recheck_seconds` (verified as soon as its ownership record resolves,
domains/verification.py), a verified one whose DKIM signing is not on yet every
`dkim_pending_recheck_seconds` (signing starts once its records are published, domains/dkim.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains import dns_health, repository
from tenantcore.domains.errors import DomainNotFound
from tenantcore.domains.models import Domain
from tenantcore.domains.service import checked, health_changes, mx_hosts, save
from tenantcore.domains.verification import verify_if_published
from tenantcore.tenants.models import Tenant, TenantStatus


async def due_domains(context: AppContext, session: AsyncSession, limit: int) -> list[str]:
    """The domains whose re-check is due, stalest first."""
    now, dns = context.now(), context.settings.dns
    return await repository.due_for_recheck(
        session,
        now - timedelta(seconds=dns.recheck_seconds),
        limit,
        dkim_pending_checked_before=now - timedelta(seconds=dns.dkim_pending_recheck_seconds),
        dkim_pending_created_after=now - timedelta(days=dns.dkim_pending_days),
        unverified_checked_before=now - timedelta(seconds=dns.verify_pending_recheck_seconds),
        unverified_created_after=now - timedelta(days=dns.verify_pending_days),
    )


async def recheck_due_domains(context: AppContext, limit: int = 50) -> int:
    """One pass over the stalest domains; returns how many were checked. Safe to run in
    several workers at once: a check only overwrites verdicts with newer ones."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await due_domains(context, session, limit)
    worked = 0
    for domain_pk in due:
        worked += await recheck(context, domain_pk)
    return worked


async def recheck(context: AppContext, domain_pk: str) -> bool:
    """Re-check one domain (verifying it first when it is not verified yet and its ownership
    record resolves); False if it is gone."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        row = await session.get(Domain, domain_pk)
        tenant = None if row is None else await session.get(Tenant, row.tenant_pk)
    if row is None or tenant is None:
        return False
    if tenant.status != TenantStatus.CONNECTED:  # nothing to ask Microsoft for such a tenant
        changes = health_changes(await dns_health.check(context, row.domain_name, mx_hosts(row)))
    else:
        verified = None
        if not row.is_verified:
            verified = await verify_if_published(context, tenant.tenant_id, row)
        changes = verified or await checked(context, tenant.tenant_id, row, mx_hosts(row))
    try:
        await save(context, domain_pk, changes)
    except DomainNotFound:
        return False
    return True
