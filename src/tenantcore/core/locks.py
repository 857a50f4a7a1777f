"""Per-tenant locks: one holder of a tenant's Exchange work at a time, in every process.

Exchange admits a few concurrent requests per tenant and TenantCore's steps read-then-write
(adopt an existing mailbox, converge policies), so one tenant's work runs one piece at a time
however many workers run. On PostgreSQL the lock is a session advisory lock on a connection of
its own: it spans processes and machines, and it dies with the connection, so a worker killed
mid-job never leaves a tenant locked (procrastinate's job locks would stay held until the dead
worker's job is found stalled). On SQLite, the embedded default, everything runs in one
process and an asyncio lock per tenant is enough.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Advisory lock keys live in one 64-bit space shared with anything else on the database; the
# first key half is TenantCore's namespace, the second the tenant.
_NAMESPACE = 0x7E4C
_POLL_SECONDS = 0.1


def _key(tenant_pk: str) -> int:
    digest = hashlib.blake2b(tenant_pk.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


class TenantLocks:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._local: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def hold(self, tenant_pk: str, *, wait_seconds: float = 0.0) -> AsyncIterator[bool]:
        """Hold the tenant's lock for the block; yields False (and holds nothing) if it stayed
        taken for `wait_seconds`."""
        local = self._local.setdefault(tenant_pk, asyncio.Lock())
        if wait_seconds <= 0:
            if local.locked():
                yield False
                return
            await local.acquire()  # free, so it is taken without yielding to the loop
        else:
            try:
                await asyncio.wait_for(local.acquire(), timeout=wait_seconds)
            except TimeoutError:
                yield False
                return
        try:
            if not self._postgres:
                yield True
                return
            async with self._engine.connect() as connection:
                # Autocommit: no transaction stays open while Exchange is being called.
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                held = await _acquire(connection, tenant_pk, wait_seconds)
                try:
                    yield held
                finally:
                    if held:
                        await connection.execute(
                            text("SELECT pg_advisory_unlock(:namespace, :key)"),
                            {"namespace": _NAMESPACE, "key": _key(tenant_pk)},
                        )
        finally:
            local.release()


async def _acquire(connection: AsyncConnection, tenant_pk: str, wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    while True:
        held = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:namespace, :key)"),
            {"namespace": _NAMESPACE, "key": _key(tenant_pk)},
        )
        if held:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
