"""Mailbox queries. Callers have already scoped the tenant to the calling account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tenantcore.core.reads import AnyRow, as_stored
from tenantcore.domains.models import Domain
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE, EnforcementPolicy
from tenantcore.enforcement.repository import POLICY_COLUMNS, POLICY_FIELDS
from tenantcore.mailboxes.models import Mailbox, MailboxStatus, MailboxUsageDay
from tenantcore.tenants.models import Tenant

# PostgreSQL's deadlock_detected: two requests each holding a slot the other one wants.
_DEADLOCK = "40P01"


async def by_id(session: AsyncSession, tenant_pk: str, mailbox_id: str) -> Mailbox | None:
    result = await session.execute(
        select(Mailbox).where(Mailbox.tenant_pk == tenant_pk, Mailbox.id == mailbox_id)
    )
    return result.scalar_one_or_none()


async def by_address(session: AsyncSession, tenant_pk: str, address: str) -> Mailbox | None:
    result = await session.execute(
        select(Mailbox).where(Mailbox.tenant_pk == tenant_pk, Mailbox.primary_smtp == address)
    )
    return result.scalar_one_or_none()


async def of_domain(session: AsyncSession, domain_pk: str) -> list[Mailbox]:
    result = await session.execute(
        select(Mailbox).where(Mailbox.domain_pk == domain_pk).order_by(Mailbox.slot)
    )
    return list(result.scalars())


async def aliases_in_tenant(session: AsyncSession, tenant_pk: str) -> set[str]:
    result = await session.execute(select(Mailbox.alias).where(Mailbox.tenant_pk == tenant_pk))
    return {str(alias) for alias in result.scalars()}


# The columns of the list response, in `LIST_FIELDS` order (the read path skips ORM objects:
# at thousands of rows, building and then validating them costs more than the query).
LIST_FIELDS = (
    "id",
    "display_name",
    "primary_smtp",
    "user_principal_name",
    "mail_nickname",
    "account_enabled",
    "daily_send_limit",
    "sends_today",
    "blocked_at",
    "created_at",
    "domain_name",
    "status",
    "ready_at",
    "usage_synced_at",
    "error",
    "smtp_auth_enabled",
    "usage_day",
)
_LIST_COLUMNS = [
    Domain.domain_name if name == "domain_name" else as_stored(getattr(Mailbox, name))
    for name in LIST_FIELDS
]


# The read queries find the tenant by the caller's account and the tenant's GUID themselves,
# saving the separate tenant lookup (a round trip on PostgreSQL) whenever they find rows.
_CALLERS_TENANT = (
    Tenant.tenant_id == bindparam("tenant_guid"),
    Tenant.account_id == bindparam("account_id"),
)
# A list row: `LIST_FIELDS`, then the tenant's primary key (the read looks up its policies
# with it: one more small statement costs less than joining them to thousands of rows) and
# its name.
LIST_TENANT_PK_AT = len(LIST_FIELDS)
_LIST = (
    select(*_LIST_COLUMNS, Tenant.id, Tenant.tenant_name)
    .join(Domain, Domain.id == Mailbox.domain_pk)
    .join(Tenant, Tenant.id == Mailbox.tenant_pk)
    .where(*_CALLERS_TENANT)
    .order_by(Domain.domain_name, Mailbox.primary_smtp)
)


def list_rows_on(
    connection: Connection,
    account_id: str,
    tenant_guid: str,
    *,
    domain_name: str | None = None,
    status: str | None = None,
    blocked: bool | None = None,
    mailbox_id: str | None = None,
    after: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> Sequence[AnyRow]:
    """The account's tenant's mailboxes as plain rows (`LIST_FIELDS`, the tenant's primary
    key and name), by domain then address, optionally only those of one domain and/or status
    and/or blocked or not, or only one mailbox; only those after the (domain, address)
    `after`, at most `limit`. No rows: none matching, or no such tenant."""
    query = _LIST
    if after is not None:
        query = query.where(tuple_(Domain.domain_name, Mailbox.primary_smtp) > tuple_(*after))
    if limit is not None:
        query = query.limit(limit)
    if mailbox_id is not None:
        query = query.where(Mailbox.id == mailbox_id)
    if domain_name is not None:
        query = query.where(Domain.domain_name == domain_name)
    if status is not None:
        query = query.where(Mailbox.status == status)
    if blocked is not None:
        query = query.where(
            Mailbox.blocked_at.is_not(None) if blocked else Mailbox.blocked_at.is_(None)
        )
    return connection.execute(query, {"tenant_guid": tenant_guid, "account_id": account_id}).all()


def domain_exists_on(connection: Connection, tenant_pk: str, domain_name: str) -> bool:
    found = connection.scalar(
        select(Domain.id).where(Domain.tenant_pk == tenant_pk, Domain.domain_name == domain_name)
    )
    return found is not None


# The columns of the usage response's source, in `USAGE_FIELDS` order: the mailbox's, then
# the limit and ramp of the policies of its domain and of its tenant (None where none).
USAGE_FIELDS = (
    "id",
    "primary_smtp",
    "display_name",
    "account_enabled",
    "daily_send_limit",
    "sends_today",
    "usage_day",
    "blocked_at",
    "usage_synced_at",
    "status",
    "smtp_auth_enabled",
    "ready_at",
    "domain_name",
    *POLICY_FIELDS,
)
_DOMAIN_POLICY = aliased(EnforcementPolicy)
_TENANT_POLICY = aliased(EnforcementPolicy)
_USAGE = (
    select(
        *(getattr(Mailbox, name) for name in USAGE_FIELDS[: -1 - len(POLICY_FIELDS)]),
        Domain.domain_name,
        *(
            getattr(policy, column)
            for policy in (_DOMAIN_POLICY, _TENANT_POLICY)
            for column in POLICY_COLUMNS
        ),
    )
    .join(Domain, Domain.id == Mailbox.domain_pk)
    .join(Tenant, Tenant.id == Mailbox.tenant_pk)
    .outerjoin(
        _DOMAIN_POLICY,
        and_(
            _DOMAIN_POLICY.tenant_pk == Mailbox.tenant_pk,
            _DOMAIN_POLICY.scope_key == Domain.domain_name,
        ),
    )
    .outerjoin(
        _TENANT_POLICY,
        and_(
            _TENANT_POLICY.tenant_pk == Mailbox.tenant_pk,
            _TENANT_POLICY.scope_key == TENANT_WIDE_SCOPE,
        ),
    )
    .where(*_CALLERS_TENANT, Mailbox.id == bindparam("mailbox_id"))
)


def usage_row_on(
    connection: Connection, account_id: str, tenant_guid: str, mailbox_id: str
) -> AnyRow | None:
    """The mailbox's `USAGE_FIELDS` (with the policies of its domain and of its tenant), or
    None when the account's tenant has no such mailbox or there is no such
    tenant."""
    return connection.execute(
        _USAGE, {"tenant_guid": tenant_guid, "account_id": account_id, "mailbox_id": mailbox_id}
    ).one_or_none()


# The columns of a kept day in the usage history, in `HISTORY_FIELDS` order.
HISTORY_FIELDS = ("day", "sends", "limit_value", "blocked_at", "settled_at")
_HISTORY = (
    select(
        MailboxUsageDay.day,
        MailboxUsageDay.sends,
        MailboxUsageDay.limit_value,
        as_stored(MailboxUsageDay.blocked_at),
        as_stored(MailboxUsageDay.settled_at),
    )
    .where(
        MailboxUsageDay.mailbox_pk == bindparam("mailbox_id"),
        MailboxUsageDay.day >= bindparam("first"),
        MailboxUsageDay.day <= bindparam("last"),
    )
    .order_by(MailboxUsageDay.day)
)


def history_rows_on(
    connection: Connection, mailbox_id: str, first: str, last: str
) -> Sequence[AnyRow]:
    """The mailbox's kept days (`HISTORY_FIELDS`) from `first` to `last` (YYYY-MM-DD, both
    included), oldest first. The caller has checked the mailbox is the account's."""
    return connection.execute(
        _HISTORY, {"mailbox_id": mailbox_id, "first": first, "last": last}
    ).all()


async def domain_name_of(session: AsyncSession, domain_pk: str) -> str:
    return str(await session.scalar(select(Domain.domain_name).where(Domain.id == domain_pk)))


async def insert_in_slot(session: AsyncSession, mailbox: Mailbox) -> bool:
    """Insert `mailbox` in its `slot` inside a SAVEPOINT; False if the database refused it
    (UNIQUE(domain_pk, slot) or UNIQUE(tenant_pk, primary_smtp): a concurrent request got
    there first). The savepoint keeps the rest of the caller's transaction usable. On
    PostgreSQL a deadlock between two requests claiming slots is reported the same way; the
    caller re-reads and tries again."""
    try:
        async with session.begin_nested():
            session.add(mailbox)
            await session.flush()
    except IntegrityError:
        return False
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _DEADLOCK:
            raise
        return False
    return True


async def used_slots(session: AsyncSession, domain_pk: str) -> set[int]:
    result = await session.execute(select(Mailbox.slot).where(Mailbox.domain_pk == domain_pk))
    return {int(slot) for slot in result.scalars()}


def _due_for_provisioning(now: datetime) -> ColumnElement[bool]:
    return and_(
        Mailbox.status == MailboxStatus.PROVISIONING,
        or_(Mailbox.next_check_at.is_(None), Mailbox.next_check_at <= now),
    )


async def due_for_provisioning(
    session: AsyncSession, now: datetime, limit: int, tenant_pk: str | None = None
) -> list[str]:
    """Ids of mailboxes whose next provisioning step is due, longest waiting first."""
    query = select(Mailbox.id).where(_due_for_provisioning(now))
    if tenant_pk is not None:
        query = query.where(Mailbox.tenant_pk == tenant_pk)
    result = await session.execute(
        query.order_by(Mailbox.next_check_at.nulls_first(), Mailbox.id).limit(limit)
    )
    return list(result.scalars())


async def tenants_with_due_provisioning(
    session: AsyncSession, now: datetime, limit: int
) -> list[str]:
    result = await session.execute(
        select(Mailbox.tenant_pk).where(_due_for_provisioning(now)).distinct().limit(limit)
    )
    return list(result.scalars())
