"""Queries of the sending application."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import SendingAppStatus, Tenant, TenantStatus


def _ungranted(app_id: str | ColumnElement[str | None]) -> ColumnElement[bool]:
    """A ready mailbox not (yet) given to the app `app_id` (a value, or the tenant's column)."""
    return and_(
        Mailbox.status == MailboxStatus.READY,
        or_(Mailbox.sending_app_granted.is_(None), Mailbox.sending_app_granted != app_id),
    )


async def tenants_due(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    """Connected tenants whose sending app is to be registered or removed, or lacks a ready
    mailbox, or whose `error` names mailboxes Exchange lacked (to be looked at again), and
    whose next look is due."""
    ungranted = exists().where(
        Mailbox.tenant_pk == Tenant.id, _ungranted(Tenant.sending_app_id.expression)
    )
    query = select(Tenant.id).where(
        Tenant.status == TenantStatus.CONNECTED,
        Tenant.sending_app_status.in_(
            [SendingAppStatus.PENDING, SendingAppStatus.READY, SendingAppStatus.REMOVING]
        ),
        or_(Tenant.sending_app_next_at.is_(None), Tenant.sending_app_next_at <= now),
        or_(
            Tenant.sending_app_status != SendingAppStatus.READY,
            ungranted,
            Tenant.sending_app_error.is_not(None),
        ),
    )
    if tenant_pk is not None:
        query = query.where(Tenant.id == tenant_pk)
    return list((await session.scalars(query.limit(limit))).all())


async def ungranted_mailboxes(
    session: AsyncSession, tenant: Tenant, limit: int
) -> list[tuple[str, str]]:
    """(id, address) of ready mailboxes the app has not been given yet."""
    rows = await session.execute(
        select(Mailbox.id, Mailbox.primary_smtp)
        .where(Mailbox.tenant_pk == tenant.id, _ungranted(tenant.sending_app_id or ""))
        .order_by(Mailbox.primary_smtp)
        .limit(limit)
    )
    return [(str(row[0]), str(row[1])) for row in rows]


async def mark_granted(session: AsyncSession, mailbox_pk: str, app_id: str) -> None:
    await session.execute(
        update(Mailbox).where(Mailbox.id == mailbox_pk).values(sending_app_granted=app_id)
    )


async def forget_grants(session: AsyncSession, tenant_pk: str) -> None:
    await session.execute(
        update(Mailbox).where(Mailbox.tenant_pk == tenant_pk).values(sending_app_granted=None)
    )


async def counts(session: AsyncSession, tenant: Tenant) -> tuple[int, int]:
    """(ready mailboxes, ready mailboxes granted to the current app)."""
    ready = Mailbox.status == MailboxStatus.READY
    row = (
        await session.execute(
            select(
                func.count().filter(ready),
                func.count().filter(ready, Mailbox.sending_app_granted == tenant.sending_app_id),
            ).where(Mailbox.tenant_pk == tenant.id)
        )
    ).one()
    return int(row[0]), int(row[1])
