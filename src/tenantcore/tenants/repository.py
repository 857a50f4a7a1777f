"""Tenant queries. Every lookup by a caller's id is scoped to the caller's account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, and_, bindparam, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus


async def by_guid(session: AsyncSession, tenant_guid: str) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.tenant_id == tenant_guid))
    return result.scalar_one_or_none()


async def owned(session: AsyncSession, account_id: str, tenant_guid: str) -> Tenant | None:
    result = await session.execute(
        select(Tenant).where(Tenant.tenant_id == tenant_guid, Tenant.account_id == account_id)
    )
    return result.scalar_one_or_none()


_OWNED_ROW = select(Tenant.id, Tenant.tenant_id, Tenant.tenant_name).where(
    Tenant.tenant_id == bindparam("guid"), Tenant.account_id == bindparam("account_id")
)


def owned_row_on(
    connection: Connection, account_id: str, tenant_guid: str
) -> Row[str, str, str | None] | None:
    """(id, tenant_id, tenant_name) of the account's tenant, on a read connection."""
    return connection.execute(
        _OWNED_ROW, {"guid": tenant_guid, "account_id": account_id}
    ).one_or_none()


async def by_consent_state(session: AsyncSession, state: str) -> Tenant | None:
    result = await session.execute(select(Tenant).where(Tenant.consent_state == state))
    return result.scalar_one_or_none()


async def list_owned(
    session: AsyncSession,
    account_id: str,
    *,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Tenant]:
    """The account's tenants, newest connection first; only those after the (created_at, id)
    `after` in that order, at most `limit`."""
    query = select(Tenant).where(Tenant.account_id == account_id)
    if after is not None:
        created_at, tenant_pk = after
        query = query.where(
            or_(
                Tenant.created_at < created_at,
                and_(Tenant.created_at == created_at, Tenant.id > tenant_pk),
            )
        )
    result = await session.execute(query.order_by(Tenant.created_at.desc(), Tenant.id).limit(limit))
    return list(result.scalars())


async def counts(session: AsyncSession, tenant_pks: list[str]) -> dict[str, tuple[int, int]]:
    """(domain_count, mailbox_count) per tenant, in two grouped queries."""
    if not tenant_pks:
        return {}
    domains = await session.execute(
        select(Domain.tenant_pk, func.count())
        .where(Domain.tenant_pk.in_(tenant_pks))
        .group_by(Domain.tenant_pk)
    )
    mailboxes = await session.execute(
        select(Mailbox.tenant_pk, func.count())
        .where(Mailbox.tenant_pk.in_(tenant_pks))
        .group_by(Mailbox.tenant_pk)
    )
    domain_counts: dict[str, int] = {str(row[0]): int(row[1]) for row in domains.all()}
    mailbox_counts: dict[str, int] = {str(row[0]): int(row[1]) for row in mailboxes.all()}
    return {pk: (domain_counts.get(pk, 0), mailbox_counts.get(pk, 0)) for pk in tenant_pks}


async def due_for_bootstrap(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    query = select(Tenant.id).where(
        Tenant.status == TenantStatus.CONNECTED,
        Tenant.next_attempt_at.is_not(None),
        Tenant.next_attempt_at <= now,
    )
    if tenant_pk is not None:
        query = query.where(Tenant.id == tenant_pk)
    result = await session.execute(query.order_by(Tenant.next_attempt_at).limit(limit))
    return list(result.scalars())


async def due_for_smtp_auth_check(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    """Connected tenants with Exchange ready whose SMTP AUTH switches are due to be read."""
    query = select(Tenant.id).where(
        Tenant.status == TenantStatus.CONNECTED,
        Tenant.exchange_bootstrap_status == BootstrapStatus.READY,
        or_(Tenant.smtp_auth_next_check_at.is_(None), Tenant.smtp_auth_next_check_at <= now),
    )
    if tenant_pk is not None:
        query = query.where(Tenant.id == tenant_pk)
    result = await session.execute(query.limit(limit))
    return list(result.scalars())
