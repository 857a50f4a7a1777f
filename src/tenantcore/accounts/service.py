"""Accounts and their API keys: issue, authenticate, rotate, list, revoke.

An account may hold several keys, each `full` or `read` (GET requests only, and rotating
itself), so a dashboard or a reporting job can read without being able to change a tenant.
The account always keeps one full key: the last one cannot be revoked, only rotated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts import keys, repository
from tenantcore.accounts.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidAuthHeader,
    LastFullKey,
    MissingApiKey,
)
from tenantcore.accounts.models import Account, ApiKey, KeyScope
from tenantcore.accounts.repository import KeyRow


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account every query is scoped to, and the key used."""

    account_id: str
    key_id: str
    read_only: bool = False
    # When the key was last used before this request, as stored (accounts/last_used.py).
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class IssuedKey:
    row: ApiKey
    key: str


async def issue_key(
    session: AsyncSession,
    account_name: str,
    *,
    scope: KeyScope = KeyScope.FULL,
    name: str | None = None,
) -> IssuedKey:
    """A new key for the account (created if new). The key is returned once and never stored."""
    account = await repository.account_by_name(session, account_name)
    if account is None:
        account = Account(name=account_name)
        session.add(account)
        await session.flush()
    return await _new_key(session, account.id, scope, name)


async def _new_key(
    session: AsyncSession, account_id: str, scope: str, name: str | None
) -> IssuedKey:
    key = keys.generate_key()
    row = ApiKey(
        account_id=account_id,
        prefix=keys.lookup_prefix(key),
        secret_hash=keys.hash_key(key),
        name=name,
        scope=scope,
    )
    session.add(row)
    await session.flush()
    return IssuedKey(row=row, key=key)


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


def _principal(key: str, row: KeyRow | None) -> Principal:
    if row is None or not keys.matches(key, row.secret_hash):
        raise InvalidApiKey
    return Principal(
        account_id=row.account_id,
        key_id=row.id,
        read_only=row.scope == KeyScope.READ,
        last_used_at=row.last_used_at,
    )


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    key = _presented_key(authorization)
    return _principal(key, await repository.active_key_by_prefix(session, keys.lookup_prefix(key)))


def authenticate_on(connection: Connection, authorization: str | None) -> Principal:
    """`authenticate` on a read connection (core/reads.py)."""
    key = _presented_key(authorization)
    return _principal(key, repository.active_key_on(connection, keys.lookup_prefix(key)))


async def rotate_key(session: AsyncSession, principal: Principal) -> IssuedKey:
    """Replace the calling key with a new one of the same name and scope: the old one stops
    working in this same transaction."""
    current = await session.get(ApiKey, principal.key_id)
    if current is None or current.revoked_at is not None:
        raise InvalidApiKey
    await repository.revoke_key(session, current.id, datetime.now(UTC))
    return await _new_key(session, current.account_id, current.scope, current.name)


async def create_key(
    session: AsyncSession, principal: Principal, *, scope: KeyScope, name: str | None
) -> IssuedKey:
    """Another key for the caller's account."""
    return await _new_key(session, principal.account_id, scope, name)


async def list_keys(session: AsyncSession, principal: Principal) -> list[ApiKey]:
    return await repository.active_keys(session, principal.account_id)


async def revoke(session: AsyncSession, principal: Principal, key_id: str) -> None:
    """Revoke one of the account's keys at once (the caller's own too), unless it is the
    account's last full key."""
    # Two revocations at once must not each leave the other's key as the last full one.
    await repository.lock_account(session, principal.account_id)
    active = await repository.active_keys(session, principal.account_id)
    target = next((key for key in active if key.id == key_id), None)
    if target is None:
        raise ApiKeyNotFound
    full = [key for key in active if key.scope == KeyScope.FULL]
    if target.scope == KeyScope.FULL and len(full) == 1:
        raise LastFullKey
    await repository.revoke_key(session, target.id, datetime.now(UTC))
