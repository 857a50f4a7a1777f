"""The readings cache behind GET …/mailbox-limits: sharing, freshness, failures, capacity."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tenantcore.enforcement.exchange_state import ExchangeStateCache, State

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
KEY = ("tenant", "mail.example.com")


class Exchange:
    """Counts readings; each can be held open until released."""

    def __init__(self) -> None:
        self.readings = 0
        self.release = asyncio.Event()
        self.release.set()
        self.failure: Exception | None = None

    async def load(self) -> State:
        self.readings += 1
        number = self.readings
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return {"reading": number}


async def test_concurrent_requests_share_one_reading() -> None:
    cache = ExchangeStateCache(timedelta(seconds=60))
    exchange = Exchange()
    exchange.release.clear()
    waiting = [
        asyncio.ensure_future(cache.read(KEY, exchange.load, now=T0, changed_at=None))
        for _ in range(5)
    ]
    await asyncio.sleep(0)
    exchange.release.set()
    readings = await asyncio.gather(*waiting)
    assert exchange.readings == 1
    assert {reading.state["reading"] for reading in readings} == {1}
    assert {reading.read_at for reading in readings} == {T0}


async def test_a_caller_that_goes_away_does_not_cancel_the_shared_reading() -> None:
    cache = ExchangeStateCache(timedelta(seconds=60))
    exchange = Exchange()
    exchange.release.clear()
    leaving = asyncio.ensure_future(cache.read(KEY, exchange.load, now=T0, changed_at=None))
    staying = asyncio.ensure_future(cache.read(KEY, exchange.load, now=T0, changed_at=None))
    await asyncio.sleep(0)
    leaving.cancel()
    exchange.release.set()
    assert (await staying).state == {"reading": 1}
    with pytest.raises(asyncio.CancelledError):
        await leaving
    # And the reading was kept for the next caller.
    kept = await cache.read(KEY, exchange.load, now=T0 + timedelta(seconds=1), changed_at=None)
    assert (kept.state, exchange.readings) == ({"reading": 1}, 1)


async def test_a_reading_expires_with_age_and_with_a_later_change() -> None:
    cache = ExchangeStateCache(timedelta(seconds=60))
    exchange = Exchange()
    await cache.read(KEY, exchange.load, now=T0, changed_at=None)
    young = T0 + timedelta(seconds=59)
    assert (await cache.read(KEY, exchange.load, now=young, changed_at=T0)).read_at == T0
    assert exchange.readings == 1
    changed = T0 + timedelta(seconds=10)
    assert (await cache.read(KEY, exchange.load, now=young, changed_at=changed)).read_at == young
    assert exchange.readings == 2
    old = young + timedelta(seconds=60)
    assert (await cache.read(KEY, exchange.load, now=old, changed_at=None)).read_at == old
    assert exchange.readings == 3
    assert (await cache.read(KEY, exchange.load, now=old, changed_at=None, fresh=True)).state == {
        "reading": 4
    }


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    cache = ExchangeStateCache(timedelta(seconds=60))
    exchange = Exchange()
    exchange.release.clear()
    exchange.failure = RuntimeError("Exchange said no")
    waiting = [
        asyncio.ensure_future(cache.read(KEY, exchange.load, now=T0, changed_at=None))
        for _ in range(3)
    ]
    await asyncio.sleep(0)
    exchange.release.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)
    exchange.failure = None
    assert (await cache.read(KEY, exchange.load, now=T0, changed_at=None)).state == {"reading": 2}


async def test_least_recently_used_scopes_are_dropped_past_capacity() -> None:
    cache = ExchangeStateCache(timedelta(seconds=60), capacity=2)
    exchange = Exchange()
    for scope in ("a", "b"):
        await cache.read(("t", scope), exchange.load, now=T0, changed_at=None)
    await cache.read(("t", "a"), exchange.load, now=T0, changed_at=None)  # a is used again
    await cache.read(("t", "c"), exchange.load, now=T0, changed_at=None)  # b goes
    assert exchange.readings == 3
    await cache.read(("t", "a"), exchange.load, now=T0, changed_at=None)
    assert exchange.readings == 3
    await cache.read(("t", "b"), exchange.load, now=T0, changed_at=None)
    assert exchange.readings == 4
