"""Enforcement queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.reads import AnyRow, as_stored
from tenantcore.domains.models import Domain
from tenantcore.enforcement.caps import Ceiling, EnforcedMailbox
from tenantcore.enforcement.models import (
    TENANT_WIDE_SCOPE,
    EnforcementEvent,
    EnforcementPolicy,
    PolicyProvisioningStatus,
)
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import Tenant


async def policy_for_scope(
    session: AsyncSession, tenant_pk: str, scope_key: str
) -> EnforcementPolicy | None:
    result = await session.execute(
        select(EnforcementPolicy).where(
            EnforcementPolicy.tenant_pk == tenant_pk, EnforcementPolicy.scope_key == scope_key
        )
    )
    return result.scalar_one_or_none()


async def policies_of(session: AsyncSession, tenant_pk: str) -> list[EnforcementPolicy]:
    result = await session.execute(
        select(EnforcementPolicy).where(EnforcementPolicy.tenant_pk == tenant_pk)
    )
    return list(result.scalars())


# A policy's columns that make its `Ceiling`, and their names in read rows that carry the
# policies of a mailbox's domain and of its tenant side by side.
POLICY_COLUMNS = ("daily_send_limit", "ramp_start", "ramp_daily_increase")
POLICY_FIELDS = tuple(
    f"{scope}_{column}" for scope in ("domain", "tenant") for column in POLICY_COLUMNS
)


def row_ceilings(row: dict[str, Any], domain: str) -> dict[str, Ceiling]:
    """The ceilings of a read row's `POLICY_FIELDS`, by scope key (`domain` and "*")."""
    found: dict[str, Ceiling] = {}
    for scope_name, scope_key in (("domain", domain), ("tenant", TENANT_WIDE_SCOPE)):
        limit, start, increase = (row[f"{scope_name}_{column}"] for column in POLICY_COLUMNS)
        if limit is not None:
            found[scope_key] = Ceiling(limit, start, increase)
    return found


def ceilings(policies: Iterable[EnforcementPolicy]) -> dict[str, Ceiling]:
    """The policies' ceilings by scope key."""
    return {
        policy.scope_key: Ceiling(
            policy.daily_send_limit, policy.ramp_start, policy.ramp_daily_increase
        )
        for policy in policies
    }


_CEILINGS = select(
    EnforcementPolicy.scope_key, *(getattr(EnforcementPolicy, name) for name in POLICY_COLUMNS)
).where(EnforcementPolicy.tenant_pk == bindparam("tenant_pk"))


def ceilings_on(connection: Connection, tenant_pk: str) -> dict[str, Ceiling]:
    """The tenant's policies' ceilings by scope key, on a read connection."""
    return {
        str(scope): Ceiling(*columns)
        for scope, *columns in connection.execute(_CEILINGS, {"tenant_pk": tenant_pk})
    }


async def enforceable_mailboxes(session: AsyncSession, tenant_pk: str) -> list[EnforcedMailbox]:
    """The tenant's mailboxes that exist in Exchange."""
    result = await session.execute(
        select(
            Mailbox.primary_smtp,
            Domain.domain_name,
            Mailbox.daily_send_limit,
            Mailbox.ready_at,
            Mailbox.blocked_at,
            Mailbox.usage_day,
        )
        .join(Domain, Domain.id == Mailbox.domain_pk)
        .where(Mailbox.tenant_pk == tenant_pk, Mailbox.status == MailboxStatus.READY)
    )
    return [
        EnforcedMailbox(str(a), str(d), own, ready, None if blocked is None else day)
        for a, d, own, ready, blocked, day in result.all()
    ]


async def mark_pending(session: AsyncSession, tenant_pk: str) -> None:
    """Ask for the tenant's enforcement to be provisioned again (caps changed)."""
    await session.execute(
        update(EnforcementPolicy)
        .where(EnforcementPolicy.tenant_pk == tenant_pk)
        .values(provisioning_status=PolicyProvisioningStatus.PENDING, next_attempt_at=None)
    )


async def tenants_due(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    query = select(EnforcementPolicy.tenant_pk).where(
        EnforcementPolicy.provisioning_status == PolicyProvisioningStatus.PENDING,
        (EnforcementPolicy.next_attempt_at.is_(None)) | (EnforcementPolicy.next_attempt_at <= now),
    )
    if tenant_pk is not None:
        query = query.where(EnforcementPolicy.tenant_pk == tenant_pk)
    result = await session.execute(query.distinct().limit(limit))
    return list(result.scalars())


# The columns of an event in the events response, in `EVENT_FIELDS` order.
EVENT_FIELDS = (
    "id",
    "tenant_id",
    "mailbox_id",
    "mailbox_address",
    "action_taken",
    "sent_count",
    "limit_value",
    "message",
    "created_at",
    "occurred_at",
)
_EVENT_COLUMNS = (
    EnforcementEvent.id,
    Tenant.tenant_id,
    EnforcementEvent.mailbox_pk,
    EnforcementEvent.mailbox_address,
    EnforcementEvent.action,
    EnforcementEvent.sent_count,
    EnforcementEvent.limit_value,
    EnforcementEvent.message,
    as_stored(EnforcementEvent.created_at),
    as_stored(EnforcementEvent.occurred_at),
)


def events_page_on(
    connection: Connection,
    account_id: str,
    *,
    tenant_pk: str | None,
    mailbox_pk: str | None,
    mailbox_address: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
    after: tuple[datetime, datetime, str] | None = None,
) -> tuple[Sequence[AnyRow], int]:
    """A page of the account's events (`EVENT_FIELDS`), newest first, and the total matching:
    recorded at or after `since` and before `until`; with `after` (a row's created_at,
    occurred_at and id), only the rows that follow it in that order."""
    conditions = [Tenant.account_id == account_id]
    if tenant_pk is not None:
        conditions.append(EnforcementEvent.tenant_pk == tenant_pk)
    if mailbox_pk is not None:
        conditions.append(EnforcementEvent.mailbox_pk == mailbox_pk)
    if mailbox_address is not None:
        conditions.append(func.lower(EnforcementEvent.mailbox_address) == mailbox_address)
    if action is not None:
        conditions.append(EnforcementEvent.action == action)
    if since is not None:
        conditions.append(EnforcementEvent.created_at >= since)
    if until is not None:
        conditions.append(EnforcementEvent.created_at < until)
    matching = (
        select(*_EVENT_COLUMNS)
        .join(Tenant, Tenant.id == EnforcementEvent.tenant_pk)
        .where(*conditions)
    )
    total = connection.scalar(select(func.count()).select_from(matching.subquery()))
    if after is not None:
        created_at, occurred_at, event_id = after
        matching = matching.where(
            or_(
                EnforcementEvent.created_at < created_at,
                and_(
                    EnforcementEvent.created_at == created_at,
                    or_(
                        EnforcementEvent.occurred_at < occurred_at,
                        and_(
                            EnforcementEvent.occurred_at == occurred_at,
                            EnforcementEvent.id > event_id,
                        ),
                    ),
                ),
            )
        )
    rows = connection.execute(
        matching.order_by(
            EnforcementEvent.created_at.desc(),
            EnforcementEvent.occurred_at.desc(),
            EnforcementEvent.id,
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, int(total or 0)


def owned_mailbox_tenant_on(connection: Connection, account_id: str, mailbox_pk: str) -> str | None:
    """The tenant (primary key) of the account's mailbox `mailbox_pk`; None when the account
    has no such mailbox."""
    return connection.scalar(
        select(Mailbox.tenant_pk)
        .join(Tenant, Tenant.id == Mailbox.tenant_pk)
        .where(Mailbox.id == mailbox_pk, Tenant.account_id == account_id)
    )
