"""Queries of the usage sync, and of the tenant usage summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.reads import AnyRow, as_stored
from tenantcore.domains.models import Domain
from tenantcore.enforcement.caps import Ceiling
from tenantcore.enforcement.repository import ceilings_on
from tenantcore.mailboxes.models import Mailbox, MailboxStatus, MailboxUsageDay
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


class SyncedMailbox(NamedTuple):
    """What the usage sync reads of a mailbox: plain columns, not an ORM object (the sync
    reads every mailbox of every tenant twice per cycle)."""

    id: str
    primary_smtp: str
    domain_name: str
    daily_send_limit: int | None
    sends_today: int
    usage_day: str | None
    blocked_at: datetime | None
    ready_at: datetime | None


_SYNCED = (
    select(
        Mailbox.id,
        Mailbox.primary_smtp,
        Domain.domain_name,
        Mailbox.daily_send_limit,
        Mailbox.sends_today,
        Mailbox.usage_day,
        Mailbox.blocked_at,
        Mailbox.ready_at,
    )
    .join(Domain, Domain.id == Mailbox.domain_pk)
    .where(Mailbox.tenant_pk == bindparam("tenant_pk"), Mailbox.status == MailboxStatus.READY)
    .order_by(Mailbox.primary_smtp)
)


async def synced_mailboxes(session: AsyncSession, tenant_pk: str) -> list[SyncedMailbox]:
    """The tenant's mailboxes that exist in Exchange."""
    result = await session.execute(_SYNCED, {"tenant_pk": tenant_pk})
    return [SyncedMailbox(*row) for row in result]


# The table, not the mapped class: a Core executemany, where the ORM would treat an update
# with a list of parameters as its own bulk operation.
_MAILBOX = Mailbox.metadata.tables[Mailbox.__tablename__]
_RECORD_USAGE = (
    update(_MAILBOX)
    .where(_MAILBOX.c.id == bindparam("mailbox_pk"))
    .values(
        sends_today=bindparam("sends_today"),
        usage_day=bindparam("usage_day"),
        usage_synced_at=bindparam("usage_synced_at"),
        blocked_at=bindparam("blocked_at"),
    )
)


async def record_usage(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """Write each mailbox's synced numbers (`mailbox_pk`, `sends_today`, `usage_day`,
    `usage_synced_at`, `blocked_at`): one executemany, not an ORM flush per object."""
    if rows:
        connection = await session.connection()
        await connection.execute(_RECORD_USAGE, rows)


async def kept_day(
    session: AsyncSession, tenant_pk: str, day: str
) -> list[tuple[MailboxUsageDay, str]]:
    """The tenant's kept numbers of one finished day, with each mailbox's address."""
    result = await session.execute(
        select(MailboxUsageDay, Mailbox.primary_smtp)
        .join(Mailbox, Mailbox.id == MailboxUsageDay.mailbox_pk)
        .where(Mailbox.tenant_pk == tenant_pk, MailboxUsageDay.day == day)
        .order_by(Mailbox.primary_smtp)
    )
    return [(kept, address) for kept, address in result]


async def next_unsettled_day(session: AsyncSession, tenant_pk: str, after: str) -> str | None:
    """The tenant's first kept day after `after` not yet counted again from message trace."""
    result = await session.execute(
        select(func.min(MailboxUsageDay.day))
        .join(Mailbox, Mailbox.id == MailboxUsageDay.mailbox_pk)
        .where(
            Mailbox.tenant_pk == tenant_pk,
            MailboxUsageDay.day > after,
            MailboxUsageDay.settled_at.is_(None),
        )
    )
    day: str | None = result.scalar_one()
    return day


# A tenant's usage summary (usage/reads.py): its sync time, its domains with their mailboxes'
# numbers, and its policies' limits by scope.
_SUMMARY_TENANT = select(
    as_stored(Tenant.last_sync_at), Tenant.exchange_licenses, Tenant.trial_only
).where(Tenant.id == bindparam("tenant_pk"))
SUMMARY_MAILBOX_FIELDS = (
    "domain_name",
    "status",
    "daily_send_limit",
    "sends_today",
    "usage_day",
    "blocked",
    "smtp_auth_enabled",
    "ready_at",
)
_SUMMARY_MAILBOXES = (
    select(
        Domain.domain_name,
        Mailbox.status,
        Mailbox.daily_send_limit,
        Mailbox.sends_today,
        Mailbox.usage_day,
        Mailbox.blocked_at.is_not(None),
        Mailbox.smtp_auth_enabled,
        Mailbox.ready_at,
    )
    .join(Domain, Domain.id == Mailbox.domain_pk)
    .where(Mailbox.tenant_pk == bindparam("tenant_pk"))
)
_SUMMARY_DOMAINS = (
    select(Domain.domain_name)
    .where(Domain.tenant_pk == bindparam("tenant_pk"))
    .order_by(Domain.domain_name)
)


@dataclass(frozen=True)
class SummaryRows:
    """What the tenant usage summary is made of: the tenant's last sync time and licenses,
    its domain names (sorted), mailboxes (`SUMMARY_MAILBOX_FIELDS`) and policy ceilings by
    scope key."""

    synced_at: datetime | None
    exchange_licenses: int | None
    trial_only: bool | None
    domains: list[str]
    mailboxes: Sequence[AnyRow]
    policies: dict[str, Ceiling]


def summary_rows_on(connection: Connection, tenant_pk: str) -> SummaryRows:
    params = {"tenant_pk": tenant_pk}
    tenant = connection.execute(_SUMMARY_TENANT, params).one()
    return SummaryRows(
        synced_at=tenant[0],
        exchange_licenses=tenant[1],
        trial_only=None if tenant[2] is None else bool(tenant[2]),
        domains=list(connection.scalars(_SUMMARY_DOMAINS, params)),
        mailboxes=connection.execute(_SUMMARY_MAILBOXES, params).all(),
        policies=ceilings_on(connection, tenant_pk),
    )


# A tenant's usage per day (usage/reads.py): the kept days, summed over its mailboxes.
TENANT_DAY_FIELDS = ("day", "sends", "mailbox_count", "blocked_count", "settled")
_KEPT_DAYS = (
    select(
        MailboxUsageDay.day,
        func.sum(MailboxUsageDay.sends),
        func.count(),
        func.count(MailboxUsageDay.blocked_at),
        func.count(MailboxUsageDay.settled_at),
    )
    .join(Mailbox, Mailbox.id == MailboxUsageDay.mailbox_pk)
    .where(
        Mailbox.tenant_pk == bindparam("tenant_pk"),
        MailboxUsageDay.day >= bindparam("first"),
        MailboxUsageDay.day <= bindparam("last"),
    )
    .group_by(MailboxUsageDay.day)
)
# ... and the days the usage sync is still counting, from the mailboxes' own counters.
_OPEN_DAYS = (
    select(
        Mailbox.usage_day,
        func.sum(Mailbox.sends_today),
        func.count(),
        func.count(Mailbox.blocked_at),
    )
    .where(
        Mailbox.tenant_pk == bindparam("tenant_pk"),
        Mailbox.usage_day >= bindparam("first"),
        Mailbox.usage_day <= bindparam("last"),
    )
    .group_by(Mailbox.usage_day)
)


def tenant_days_on(
    connection: Connection, tenant_pk: str, first: str, last: str
) -> tuple[Sequence[AnyRow], Sequence[AnyRow]]:
    """The tenant's kept days (`TENANT_DAY_FIELDS`, `settled` counting settled mailboxes) and
    its open days (day, sends, mailboxes, blocked) from `first` to `last`, both included."""
    params = {"tenant_pk": tenant_pk, "first": first, "last": last}
    return (
        connection.execute(_KEPT_DAYS, params).all(),
        connection.execute(_OPEN_DAYS, params).all(),
    )
