"""The resilient call loop shared by the Graph and Exchange clients.

One place decides what is retried and how long to wait: Microsoft's `Retry-After` when it sends
one (fractional seconds allowed), else exponential backoff with full jitter; bounded attempts and
an overall deadline per call; one token refresh on a 401; and a few extra tries for the 404 that
directory replication gives right after a create.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx2
import structlog

from tenantcore.microsoft.errors import (
    AuthenticationFailed,
    NotFound,
    Throttled,
    Transient,
)
from tenantcore.microsoft.reply import Reply, read_reply
from tenantcore.microsoft.tokens import Resource, TokenProvider

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    deadline_seconds: float = 180.0
    replication_retries: int = 6

    def backoff(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)


@dataclass
class CallStats:
    """What the connector did, for tests, benchmarks and logs."""

    attempts: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)

    @property
    def total_attempts(self) -> int:
        return sum(self.attempts.values())


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)


class ResilientCaller:
    def __init__(
        self,
        http: httpx2.AsyncClient,
        tokens: TokenProvider,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.policy = policy
        self.stats = CallStats()
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def call(
        self,
        *,
        operation: str,
        tenant_id: str,
        resource: Resource,
        build: Callable[[str], httpx2.Request],
        parse: Callable[[Reply], T],
        limiter: asyncio.Semaphore | None = None,
        retry_not_found: bool = False,
        on_request: Callable[[], None] | None = None,
    ) -> T:
        """Send `build(token)` until `parse` accepts the response or retrying is pointless.
        `on_request` is told of every request sent, retries included (Microsoft counts them
        all against budgets such as message trace's)."""
        started = time.monotonic()
        attempt = 0
        refreshed_token = False
        not_found_left = self.policy.replication_retries if retry_not_found else 0
        while True:
            attempt += 1
            self.stats.attempts[operation] += 1
            try:
                token = await self.tokens.token(tenant_id, resource)
                request = build(token)
                if on_request is not None:
                    on_request()
                try:
                    if limiter is None:
                        reply = await read_reply(self.http, request)
                    else:
                        async with limiter:
                            reply = await read_reply(self.http, request)
                except httpx2.TimeoutException as exc:
                    raise Transient(f"timed out: {exc!r}", operation=operation) from exc
                except httpx2.TransportError as exc:
                    raise Transient(f"connection failed: {exc!r}", operation=operation) from exc
                return parse(reply)
            except AuthenticationFailed as exc:
                # A 401 from Graph/Exchange may be a token that expired in flight: refresh once.
                if exc.operation == "token" or refreshed_token or exc.status != 401:
                    raise
                refreshed_token = True
                self.tokens.invalidate(tenant_id, resource)
                continue
            except NotFound:
                if not_found_left <= 0:
                    raise
                not_found_left -= 1
                delay = self.policy.backoff(
                    self.policy.replication_retries - not_found_left, self._rng
                )
                if time.monotonic() + delay - started > self.policy.deadline_seconds:
                    raise
                self.stats.retries[operation] += 1
                await self._sleep(delay)
            except (Throttled, Transient) as exc:
                if isinstance(exc, Throttled):
                    self.stats.throttled[operation] += 1
                if attempt >= self.policy.max_attempts:
                    raise
                delay = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else self.policy.backoff(attempt, self._rng)
                )
                if time.monotonic() + delay - started > self.policy.deadline_seconds:
                    raise
                self.stats.retries[operation] += 1
                log.debug(
                    "microsoft call retried",
                    operation=operation,
                    tenant_id=tenant_id,
                    attempt=attempt,
                    delay=round(delay, 3),
                    error=type(exc).__name__,
                )
                await self._sleep(delay)
