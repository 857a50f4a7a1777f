"""What Exchange holds for an enforcement scope, as `GET …/mailbox-limits` shows it, read from
Exchange at most once per `exchange_state_max_age_seconds` per scope and API process.

A reading takes four or five Exchange calls, and a tenant's Exchange budget is shared by
TenantCore's own provisioning and usage sync and by the tenant's admins (wire reference §3.6:
a few concurrent requests per tenant, throttling past that). A customer polling the endpoint
must not spend it. So a reading is reused while it is younger than the max age and newer than
anything TenantCore has since changed in that Exchange (a policy saved or provisioned, a usage
sync, which moves mailboxes in and out of the blocking group): what TenantCore did shows at once,
and only a change made outside TenantCore can take up to the max age to show. Requests for one
scope that arrive while it is being read share that reading. The response says when it was read.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

ScopeKey = tuple[str, str]  # (tenant GUID, scope key)
State = dict[str, Any]


@dataclass(frozen=True)
class Reading:
    state: State
    # When the reading began: anything Exchange held from then on is in it.
    read_at: datetime


@dataclass
class _InFlight:
    started_at: datetime
    task: asyncio.Task[State]


class ExchangeStateCache:
    """Readings per scope, least recently used dropped past `capacity`."""

    def __init__(self, max_age: timedelta, capacity: int = 4096) -> None:
        self.max_age = max_age
        self.capacity = capacity
        self._readings: OrderedDict[ScopeKey, Reading] = OrderedDict()
        self._in_flight: dict[ScopeKey, _InFlight] = {}

    async def read(
        self,
        key: ScopeKey,
        load: Callable[[], Awaitable[State]],
        *,
        now: datetime,
        changed_at: datetime | None,
        fresh: bool = False,
    ) -> Reading:
        """A reading of `key` begun after `changed_at` and less than the max age old (`fresh`:
        begun now). `load` reads Exchange; its errors reach every caller sharing it."""

        def current(started_at: datetime) -> bool:
            if fresh:
                return False
            return now - started_at < self.max_age and (
                changed_at is None or started_at >= changed_at
            )

        cached = self._readings.get(key)
        if cached is not None and current(cached.read_at):
            self._readings.move_to_end(key)
            return cached
        flight = self._in_flight.get(key)
        if flight is None or not current(flight.started_at):
            flight = _InFlight(now, asyncio.ensure_future(load()))
            flight.task.add_done_callback(self._finished(key, flight))
            self._in_flight[key] = flight
        # Shielded: a caller that goes away does not cancel the reading the others wait for.
        state = await asyncio.shield(flight.task)
        return Reading(state, flight.started_at)

    def _finished(self, key: ScopeKey, flight: _InFlight) -> Callable[[asyncio.Task[State]], None]:
        def done(task: asyncio.Task[State]) -> None:
            if self._in_flight.get(key) is flight:
                del self._in_flight[key]
            if task.cancelled() or task.exception() is not None:
                return  # nothing kept; the exception is retrieved, so never logged as lost
            kept = self._readings.get(key)
            if kept is None or kept.read_at <= flight.started_at:
                self._readings[key] = Reading(task.result(), flight.started_at)
                self._readings.move_to_end(key)
                while len(self._readings) > self.capacity:
                    self._readings.popitem(last=False)

        return done
