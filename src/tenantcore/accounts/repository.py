"""Queries for accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.models import Account, ApiKey


async def account_by_name(session: AsyncSession, name: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.name == name))
    return result.scalar_one_or_none()


# (id, account_id, secret_hash, scope, last_used_at) of the live key with a prefix. A plain row,
# not an ORM object: every request comes through here.
_ACTIVE_KEY = select(
    ApiKey.id, ApiKey.account_id, ApiKey.secret_hash, ApiKey.scope, ApiKey.last_used_at
).where(ApiKey.prefix == bindparam("prefix"), ApiKey.revoked_at.is_(None))
KeyRow = Row[str, str, str, str, datetime | None]


async def active_key_by_prefix(session: AsyncSession, prefix: str) -> KeyRow | None:
    result = await session.execute(_ACTIVE_KEY, {"prefix": prefix})
    return result.one_or_none()


def active_key_on(connection: Connection, prefix: str) -> KeyRow | None:
    """`active_key_by_prefix` on a read connection (core/reads.py)."""
    return connection.execute(_ACTIVE_KEY, {"prefix": prefix}).one_or_none()


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=now))


async def mark_key_used(session: AsyncSession, key_id: str, used_at: datetime) -> None:
    """Move the key's `last_used_at` forward to `used_at` (never back: another process may
    have written a later use)."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < used_at),
        )
        .values(last_used_at=used_at)
    )


async def active_keys(session: AsyncSession, account_id: str) -> list[ApiKey]:
    """The account's keys still in force, oldest first."""
    result = await session.execute(
        select(ApiKey)
        .where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return list(result.scalars())


async def lock_account(session: AsyncSession, account_id: str) -> None:
    """Serialize changes to the account's keys until the transaction ends (PostgreSQL: a row
    lock; SQLite runs one writer at a time anyway)."""
    await session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
