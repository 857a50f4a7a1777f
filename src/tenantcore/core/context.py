"""Everything a request or a background step needs, built once per process and passed down."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore.accounts.last_used import KeyUseRecorder
from tenantcore.core.errors import ServiceUnavailable
from tenantcore.core.jobs import JobQueue
from tenantcore.core.locks import TenantLocks
from tenantcore.core.ratelimit import RateLimiter
from tenantcore.core.reads import ReadPool
from tenantcore.enforcement.exchange_state import ExchangeStateCache
from tenantcore.microsoft.connector import MicrosoftConnector
from tenantcore.microsoft.sandbox_control import SandboxControl
from tenantcore.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Read endpoints' queries: synchronous, on threads of their own.
    reads: ReadPool
    connector: MicrosoftConnector
    # The sandbox's control API in sandbox mode; None when talking to Microsoft.
    sandbox: SandboxControl | None
    jobs: JobQueue
    tenant_locks: TenantLocks
    rate_limiter: RateLimiter
    # Readings of Exchange's enforcement state shown by GET …/mailbox-limits.
    exchange_states: ExchangeStateCache
    # API keys' `last_used_at`, written at most once a minute per key.
    key_use: KeyUseRecorder
    # Sandbox mode runs on the sandbox's clock (like a payment API's test clock), so moving it
    # with POST /_sandbox/clock moves TenantCore too: usage days, retries, readiness.
    clock_offset: timedelta = field(default_factory=timedelta)
    _clock_checked_at: float = field(default=float("-inf"), repr=False)

    @property
    def sandbox_mode(self) -> bool:
        return self.sandbox is not None

    @asynccontextmanager
    async def tenant_exclusive(self, tenant_pk: str) -> AsyncIterator[None]:
        """Hold the tenant's lock for an API call that changes its Exchange, waiting up to
        `tenant_lock_wait_seconds` for background work on it; a 503 (with Retry-After) when
        that work keeps it longer."""
        async with self.tenant_locks.hold(
            tenant_pk, wait_seconds=self.settings.tenant_lock_wait_seconds
        ) as held:
            if not held:
                raise ServiceUnavailable(
                    "The tenant's Exchange is busy with background work; retry shortly.",
                    headers={"Retry-After": "5"},
                )
            yield

    def now(self) -> datetime:
        """UTC now: real time live, the sandbox's time in sandbox mode."""
        return datetime.now(UTC) + self.clock_offset

    async def refresh_clock(self, max_age: float = 0.0) -> None:
        """Follow the sandbox clock (it only moves forward), unless it was read less than
        `max_age` seconds ago. No-op when live."""
        if self.sandbox is None:
            return
        checked = time.monotonic()
        if checked - self._clock_checked_at < max_age:
            return
        self.clock_offset = max(await self.sandbox.now() - datetime.now(UTC), timedelta())
        self._clock_checked_at = checked
