"""Domain queries. Callers have already scoped the tenant to the calling account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.domains.models import Domain


async def by_name(session: AsyncSession, tenant_pk: str, domain_name: str) -> Domain | None:
    """The tenant's domain of that (normalised, lowercase) name."""
    result = await session.execute(
        select(Domain).where(Domain.tenant_pk == tenant_pk, Domain.domain_name == domain_name)
    )
    return result.scalar_one_or_none()


async def registered_elsewhere(session: AsyncSession, domain_name: str, tenant_pk: str) -> bool:
    """Whether another tenant (of any account) has registered the name."""
    result = await session.execute(
        select(Domain.id)
        .where(Domain.domain_name == domain_name, Domain.tenant_pk != tenant_pk)
        .limit(1)
    )
    return result.first() is not None


async def list_for_tenant(
    session: AsyncSession,
    tenant_pk: str,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> list[Domain]:
    """The tenant's domains by name; only those after `after`, at most `limit`."""
    query = select(Domain).where(Domain.tenant_pk == tenant_pk)
    if after is not None:
        query = query.where(Domain.domain_name > after)
    result = await session.execute(query.order_by(Domain.domain_name).limit(limit))
    return list(result.scalars())


async def due_for_recheck(
    session: AsyncSession,
    checked_before: datetime,
    limit: int,
    *,
    dkim_pending_checked_before: datetime | None = None,
    dkim_pending_created_after: datetime | None = None,
    unverified_checked_before: datetime | None = None,
    unverified_created_after: datetime | None = None,
) -> list[str]:
    """Ids of domains whose DNS health is older than `checked_before`; or, for a verified
    domain created after `dkim_pending_created_after` whose DKIM signing is not on yet, older
    than `dkim_pending_checked_before`; or, for a domain not verified yet created after
    `unverified_created_after`, older than `unverified_checked_before`; stalest first."""
    due = [Domain.last_checked.is_(None), Domain.last_checked < checked_before]
    if unverified_checked_before is not None and unverified_created_after is not None:
        due.append(
            and_(
                Domain.is_verified.is_(False),
                Domain.created_at > unverified_created_after,
                Domain.last_checked < unverified_checked_before,
            )
        )
    if dkim_pending_checked_before is not None and dkim_pending_created_after is not None:
        due.append(
            and_(
                Domain.is_verified.is_(True),
                Domain.dkim_signing_enabled.is_(False),
                Domain.created_at > dkim_pending_created_after,
                Domain.last_checked < dkim_pending_checked_before,
            )
        )
    result = await session.execute(
        select(Domain.id)
        .where(or_(*due))
        .order_by(Domain.last_checked.nulls_first(), Domain.id)
        .limit(limit)
    )
    return list(result.scalars())
