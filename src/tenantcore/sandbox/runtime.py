"""Runtime behaviour of the sandbox: timings, injected faults, throttles and counters.

These live in memory: a restart resets them to the configured defaults, while tenants and
everything in them persist in the store.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Host = Literal["login", "graph", "exchange", "smtp"]


class SandboxConfig(BaseModel):
    """Timings and limits, changeable at run time through `PUT /_sandbox/config`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # New-Mailbox propagation, drawn uniformly from [min, max] seconds per mailbox.
    propagation_min_seconds: float = Field(default=120.0, ge=0)
    propagation_max_seconds: float = Field(default=300.0, ge=0)
    # Enable-OrganizationCustomization takes effect after this long.
    bootstrap_seconds: float = Field(default=0.0, ge=0)
    # Message-trace visibility delay, drawn uniformly from [min, max] seconds per message.
    trace_delay_min_seconds: float = Field(default=300.0, ge=0)
    trace_delay_max_seconds: float = Field(default=600.0, ge=0)
    # Right after a create, reads of the new object 404 with this probability for this long.
    replication_lag_probability: float = Field(default=0.0, ge=0, le=1)
    replication_lag_seconds: float = Field(default=30.0, ge=0)
    # Exchange admin REST: concurrent InvokeCommand requests allowed per tenant.
    exchange_max_concurrency: int = Field(default=3, ge=1)
    # Message trace (cmdlet and Graph share it): queries per window per tenant.
    trace_queries_per_window: int = Field(default=100, ge=1)
    trace_window_seconds: float = Field(default=300.0, gt=0)
    # Graph identity write quota per app and tenant (3,000 writes / 2 min 30 s).
    graph_writes_per_window: int = Field(default=3000, ge=1)
    graph_write_window_seconds: float = Field(default=150.0, gt=0)
    # Access-token lifetime (expires_in).
    token_lifetime_seconds: int = Field(default=3599, ge=60)
    # SMTP AUTH: concurrent connections per mailbox (Microsoft: 3).
    smtp_max_connections_per_mailbox: int = Field(default=3, ge=1)
    # Whether senders blocked by BlockUserForToday are listed by Get-BlockedSenderAddress
    # (UNCONFIRMED at Microsoft, see the wire reference section 4.5).
    list_temporary_blocks: bool = True
    # UPN that New-Mailbox -Shared gives the new account: the primary SMTP address, or
    # alias@<initial domain> (UNCONFIRMED at Microsoft, see wire reference 4.3.1).
    shared_mailbox_upn: Literal["primary_smtp_address", "initial_domain"] = "primary_smtp_address"
    # How InvokeCommand renders a cmdlet error's detail (wire reference 3.6): "pipe" is
    # `ErrorId|ExceptionType|Message` (shape A), "json" a JSON string with Message and
    # TypeName (shape C). Which one Exchange serves today is UNCONFIRMED.
    exchange_error_detail_style: Literal["pipe", "json"] = "pipe"


class FaultRule(BaseModel):
    """Inject latency and/or errors into matching calls.

    `operation` is a glob over the operation name: the cmdlet for Exchange (`New-Mailbox`),
    `METHOD /path-template` for Graph (`PATCH /users/{id}`), `token` / `openid-configuration`
    for login, and `AUTH` / `MAIL` / `DATA` for SMTP. Matching is case-insensitive.
    """

    model_config = ConfigDict(extra="forbid")

    host: Literal["login", "graph", "exchange", "smtp", "*"] = "*"
    operation: str = "*"
    latency_ms: float = Field(default=0.0, ge=0)
    latency_jitter_ms: float = Field(default=0.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    # Statuses drawn from when an error is injected: 429, 500, 503, 504 or "timeout"-like 408.
    error_statuses: list[int] = Field(default_factory=lambda: [429, 503])
    # Retry-After sent with an injected 429/503 (fractional seconds allowed, as Graph does).
    retry_after_seconds: float = Field(default=1.5, ge=0)
    # "before": the call fails without effect. "after": the call takes effect, then the client
    # sees the error (a response lost on the way back), which is what makes retries dangerous.
    phase: Literal["before", "after"] = "before"


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[FaultRule] = Field(default_factory=list)
    seed: int | None = None


@dataclass(frozen=True)
class InjectedFault:
    status: int
    retry_after_seconds: float


@dataclass
class _Window:
    """A sliding-window counter (message-trace queries, Graph writes)."""

    stamps: deque[float] = field(default_factory=deque)


class Runtime:
    """Faults, throttles and counters shared by every host of one sandbox."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultPlan()
        self.rng = random.Random()
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.exchange_in_flight: Counter[str] = Counter()
        self.exchange_peak: Counter[str] = Counter()
        self.smtp_connections: Counter[str] = Counter()
        self._windows: defaultdict[str, _Window] = defaultdict(_Window)

    def set_faults(self, plan: FaultPlan) -> None:
        self.faults = plan
        self.rng = random.Random(plan.seed)

    def reset_counters(self) -> None:
        self.calls.clear()
        self.injected.clear()
        self.throttled.clear()
        self.exchange_peak.clear()
        for tenant, count in self.exchange_in_flight.items():
            self.exchange_peak[tenant] = count

    def _matching(self, host: Host, operation: str) -> list[FaultRule]:
        op = operation.lower()
        return [
            rule
            for rule in self.faults.rules
            if rule.host in ("*", host) and fnmatch.fnmatchcase(op, rule.operation.lower())
        ]

    async def before_call(self, host: Host, operation: str) -> InjectedFault | None:
        """Count the call, apply injected latency, and maybe return an injected error."""
        self.calls[f"{host}:{operation}"] += 1
        rules = self._matching(host, operation)
        delay_ms = sum(
            rule.latency_ms + self.rng.uniform(0, rule.latency_jitter_ms) for rule in rules
        )
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        return self._draw_error(host, operation, rules, "before")

    def after_call(self, host: Host, operation: str) -> InjectedFault | None:
        """After a call took effect: maybe replace its response with an injected error."""
        return self._draw_error(host, operation, self._matching(host, operation), "after")

    def _draw_error(
        self, host: Host, operation: str, rules: list[FaultRule], phase: str
    ) -> InjectedFault | None:
        for rule in rules:
            if rule.phase != phase:
                continue
            if rule.error_rate > 0 and self.rng.random() < rule.error_rate:
                self.injected[f"{host}:{operation}"] += 1
                return InjectedFault(
                    status=self.rng.choice(rule.error_statuses or [503]),
                    retry_after_seconds=rule.retry_after_seconds,
                )
        return None

    def take_from_window(
        self, key: str, limit: int, window_seconds: float, now: float | None = None
    ) -> float | None:
        """Consume one slot of a sliding window; return None, or seconds until a slot frees."""
        moment = time.monotonic() if now is None else now
        stamps = self._windows[key].stamps
        while stamps and stamps[0] <= moment - window_seconds:
            stamps.popleft()
        if len(stamps) >= limit:
            self.throttled[key.split("|", 1)[0]] += 1
            return max(stamps[0] + window_seconds - moment, 0.001)
        stamps.append(moment)
        return None

    @asynccontextmanager
    async def exchange_slot(self, tenant_id: str) -> AsyncIterator[bool]:
        """Track concurrent InvokeCommand calls of a tenant.

        Yields False when the call is over the cap (the caller answers with Exchange's
        concurrency error). The peak counts every request in flight, admitted or not, so it
        shows whether a client ever exceeded the cap.
        """
        self.exchange_in_flight[tenant_id] += 1
        current = self.exchange_in_flight[tenant_id]
        if current > self.exchange_peak[tenant_id]:
            self.exchange_peak[tenant_id] = current
        try:
            yield current <= self.config.exchange_max_concurrency
        finally:
            self.exchange_in_flight[tenant_id] -= 1

    def propagation_delay(self) -> float:
        return self.rng.uniform(
            self.config.propagation_min_seconds,
            max(self.config.propagation_max_seconds, self.config.propagation_min_seconds),
        )

    def trace_delay(self) -> float:
        return self.rng.uniform(
            self.config.trace_delay_min_seconds,
            max(self.config.trace_delay_max_seconds, self.config.trace_delay_min_seconds),
        )

    def replication_lagging(self, created_at_age_seconds: float) -> bool:
        """Whether a read of an object this many seconds old should 404 this time."""
        return (
            created_at_age_seconds < self.config.replication_lag_seconds
            and self.config.replication_lag_probability > 0
            and self.rng.random() < self.config.replication_lag_probability
        )

    def snapshot(self) -> dict[str, object]:
        return {
            "calls": dict(sorted(self.calls.items())),
            "injected_faults": dict(sorted(self.injected.items())),
            "throttled": dict(sorted(self.throttled.items())),
            "exchange_peak_concurrency": dict(sorted(self.exchange_peak.items())),
            "exchange_in_flight": {k: v for k, v in self.exchange_in_flight.items() if v},
        }
