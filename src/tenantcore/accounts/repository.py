"""Queries for accounts and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.models import Account, ApiKey


async def account_by_name(session: AsyncSession, name: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.name == name))
    return result.scalar_one_or_none()


async def active_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    result = await session.execute(
        select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    )
    return result.scalar_one_or_none()


async def revoke_key(session: AsyncSession, key_id: str, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=now))
