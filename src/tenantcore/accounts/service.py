"""Accounts and their API keys: issue, authenticate, rotate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts import keys, repository
from tenantcore.accounts.errors import InvalidApiKey, InvalidAuthHeader, MissingApiKey
from tenantcore.accounts.models import Account, ApiKey


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account every query is scoped to, and the key used."""

    account_id: str
    key_id: str


@dataclass(frozen=True)
class IssuedKey:
    account: Account
    key: str
    created_at: datetime


async def issue_key(session: AsyncSession, account_name: str) -> IssuedKey:
    """A new key for the account (created if new). The key is returned once and never stored."""
    account = await repository.account_by_name(session, account_name)
    if account is None:
        account = Account(name=account_name)
        session.add(account)
        await session.flush()
    return await _new_key(session, account)


async def _new_key(session: AsyncSession, account: Account) -> IssuedKey:
    key = keys.generate_key()
    row = ApiKey(
        account_id=account.id, prefix=keys.lookup_prefix(key), secret_hash=keys.hash_key(key)
    )
    session.add(row)
    await session.flush()
    return IssuedKey(account=account, key=key, created_at=row.created_at)


def bearer_key(authorization: str | None) -> str:
    """The key from an Authorization header, or the auth error the API answers with."""
    if authorization is None or not authorization.strip():
        raise MissingApiKey
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip() or " " in credentials.strip():
        raise InvalidAuthHeader
    return credentials.strip()


def _presented_key(authorization: str | None) -> str:
    key = bearer_key(authorization)
    if not keys.is_well_formed(key):
        raise InvalidApiKey
    return key


def _principal(key: str, row: Row[str, str, str] | None) -> Principal:
    if row is None or not keys.matches(key, row.secret_hash):
        raise InvalidApiKey
    return Principal(account_id=row.account_id, key_id=row.id)


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    key = _presented_key(authorization)
    return _principal(key, await repository.active_key_by_prefix(session, keys.lookup_prefix(key)))


def authenticate_on(connection: Connection, authorization: str | None) -> Principal:
    """`authenticate` on a read connection (core/reads.py)."""
    key = _presented_key(authorization)
    return _principal(key, repository.active_key_on(connection, keys.lookup_prefix(key)))


async def rotate_key(session: AsyncSession, principal: Principal) -> IssuedKey:
    """Replace the calling key: the old one stops working in this same transaction."""
    account = await session.get(Account, principal.account_id)
    if account is None:
        raise InvalidApiKey
    await repository.revoke_key(session, principal.key_id, datetime.now(UTC))
    return await _new_key(session, account)
