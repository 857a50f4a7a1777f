"""Audit log queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.audit.models import AuditEntry

if TYPE_CHECKING:
    from tenantcore.audit.trail import WriteNote


async def add(
    session: AsyncSession,
    note: WriteNote,
    *,
    status_code: int,
    request_id: str | None,
    now: datetime,
    retention_days: int,
) -> None:
    """Record one entry and drop the account's entries past retention (an index range)."""
    await session.execute(
        delete(AuditEntry).where(
            AuditEntry.account_id == note.account_id,
            AuditEntry.created_at < now - timedelta(days=retention_days),
        )
    )
    session.add(
        AuditEntry(
            account_id=note.account_id,
            api_key_id=note.api_key_id,
            request_id=request_id,
            method=note.method,
            route=note.route,
            path=note.path,
            tenant_id=note.tenant_id,
            fields=note.fields,
            status_code=status_code,
            created_at=now,
        )
    )


async def page(
    session: AsyncSession,
    account_id: str,
    *,
    tenant_id: str | None,
    api_key_id: str | None,
    method: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    after: tuple[datetime, str] | None = None,
) -> tuple[Sequence[AuditEntry], int]:
    """The account's entries matching the filters, newest first, and how many match; with
    `after` (an entry's created_at and id), only the entries that follow it."""
    conditions: list[ColumnElement[bool]] = [AuditEntry.account_id == account_id]
    if tenant_id is not None:
        conditions.append(AuditEntry.tenant_id == tenant_id)
    if api_key_id is not None:
        conditions.append(AuditEntry.api_key_id == api_key_id)
    if method is not None:
        conditions.append(AuditEntry.method == method)
    if since is not None:
        conditions.append(AuditEntry.created_at >= since)
    if until is not None:
        conditions.append(AuditEntry.created_at < until)
    total = await session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
    if after is not None:
        created_at, entry_id = after
        conditions.append(
            or_(
                AuditEntry.created_at < created_at,
                and_(AuditEntry.created_at == created_at, AuditEntry.id < entry_id),
            )
        )
    entries = await session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return entries.all(), int(total or 0)
