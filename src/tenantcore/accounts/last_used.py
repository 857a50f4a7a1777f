"""When each API key was last used, to the minute, without a write on every request.

Authentication already reads the key's `last_used_at`; only when it is a minute or more old does
the request schedule one small UPDATE, off the request's path (the hot reads run on read-only
connections, and a dashboard polling every second must not turn into a writer). Each process
schedules at most one write per key per minute; the UPDATE only moves the time forward, so
several API processes agree without coordination.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantcore.accounts import repository
from tenantcore.core.db import unit_of_work

RESOLUTION = timedelta(minutes=1)

log = structlog.get_logger(__name__)


def after_use(last_used_at: datetime | None, now: datetime) -> datetime:
    """The key's `last_used_at` once a request at `now` is recorded."""
    if last_used_at is not None and now - last_used_at < RESOLUTION:
        return last_used_at
    return now


class KeyUseRecorder:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        # Key id -> the time this process last scheduled a write for it.
        self._scheduled: dict[str, datetime] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def seen(self, key_id: str, last_used_at: datetime | None, now: datetime) -> None:
        """A request authenticated with the key at `now`; `last_used_at` is what it read."""
        if after_use(last_used_at, now) == last_used_at:
            return
        scheduled = self._scheduled.get(key_id)
        if scheduled is not None and now - scheduled < RESOLUTION:
            return
        self._scheduled[key_id] = now
        task = asyncio.get_running_loop().create_task(self._write(key_id, now))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, key_id: str, now: datetime) -> None:
        try:
            async with unit_of_work(self._sessionmaker) as session:
                await repository.mark_key_used(session, key_id, now)
        except Exception:
            # Forget the schedule so the next request tries again.
            self._scheduled.pop(key_id, None)
            log.warning("api key last use not saved", key_id=key_id, exc_info=True)

    async def flush(self) -> None:
        """Wait for the writes already scheduled (at shutdown, and in tests)."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
