"""Queries for accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.models import Account, ApiKey


async def account_by_name(session: AsyncSession, name: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.name == name))
    return result.scalar_one_or_none()


async def active_key_by_prefix(session: AsyncSession, prefix: str) -> Row[str, str, str] | None:
    """(id, account_id, secret_hash) of the live key with this prefix. A plain row, not an
    ORM object: every request comes through here."""
    result = await session.execute(
        select(ApiKey.id, ApiKey.account_id, ApiKey.secret_hash).where(
            ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)
        )
    )
    return result.one_or_none()


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=now))
