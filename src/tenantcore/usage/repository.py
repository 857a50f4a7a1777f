"""Queries of the usage sync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus


async def tenants_due(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    query = select(Tenant.id).where(
        Tenant.status == TenantStatus.CONNECTED,
        Tenant.exchange_bootstrap_status == BootstrapStatus.READY,
        or_(Tenant.next_sync_at.is_(None), Tenant.next_sync_at <= now),
    )
    if tenant_pk is not None:
        query = query.where(Tenant.id == tenant_pk)
    result = await session.execute(query.order_by(Tenant.next_sync_at.nulls_first()).limit(limit))
    return list(result.scalars())


async def synced_mailboxes(session: AsyncSession, tenant_pk: str) -> list[tuple[Mailbox, str]]:
    """The tenant's mailboxes that exist in Exchange, with their domain names."""
    result = await session.execute(
        select(Mailbox, Domain.domain_name)
        .join(Domain, Domain.id == Mailbox.domain_pk)
        .where(Mailbox.tenant_pk == tenant_pk, Mailbox.status == MailboxStatus.READY)
        .order_by(Mailbox.primary_smtp)
    )
    return [(mailbox, str(domain)) for mailbox, domain in result.all()]
