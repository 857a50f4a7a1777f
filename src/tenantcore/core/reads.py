"""The read pool: hot read endpoints run their queries synchronously on a small pool of threads,
each with its own database connection, one hand-off from the event loop per request.

Why not the async session the write endpoints use: measured on the mailbox list, an
`AsyncSession` over aiosqlite costs about 0.5 ms of CPU per statement (aiosqlite hands each
cursor call to the connection's own thread and back, four or five hand-offs per statement,
and SQLAlchemy's async layer adds greenlet switches), and psycopg's async driver about 0.3 ms.
Measured on the mailbox list's three statements, the same work run synchronously on one thread
took 0.39 ms of CPU instead of 1.43 ms on SQLite, and 0.64 ms instead of 1.01 ms on PostgreSQL
(the whole endpoint: `benchmarks/results/read_path_*.md`). The event loop never waits on the
database.

Reads run in autocommit mode: each statement sees the latest committed data, with no BEGIN
and ROLLBACK round trips. The connections are read-only at the database (`PRAGMA query_only`
on SQLite, `default_transaction_read_only` on PostgreSQL), so a read cannot write by
mistake; in WAL mode SQLite readers never wait for writers. There is no ping on checkout: a
connection the server closed meanwhile fails its first statement, SQLAlchemy discards the
pool's connections, and the read runs once more on a fresh one (reads are safe to repeat).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import ColumnElement, DateTime, Row, event, type_coerce
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute

from tenantcore.core.base import UTCDateTime
from tenantcore.core.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    ensure_sqlite_directory,
    is_sqlite,
    sync_database_url,
)

T = TypeVar("T")
# A result row of any shape, as the read queries return them.
AnyRow = Row[*tuple[Any, ...]]

# Timestamps selected through `as_stored` are naive UTC on SQLite and UTC-aware on
# PostgreSQL; either way orjson writes them as `…Z` with these options.
JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def as_stored(column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """`column` for a read that goes straight to JSON: a timestamp skips the UTC decorator's
    per-value Python step (a third of the mailbox list's row handling) and comes back as the
    driver gives it, which on read connections is UTC (see JSON_OPTIONS)."""
    if isinstance(column.type, UTCDateTime):
        return type_coerce(column, DateTime(timezone=True)).label(column.key)
    return column.expression


def _read_only_engine(database_url: str, threads: int) -> Engine:
    url = sync_database_url(database_url)
    pool = {"pool_size": threads, "max_overflow": 0, "isolation_level": "AUTOCOMMIT"}
    if not is_sqlite(url):
        # Every implicit transaction read-only; timestamps come back in UTC. Added to any
        # `options` the URL carries (a search_path, say), which connect_args would replace.
        given = make_url(url).query.get("options")
        options = " ".join(
            part
            for part in (
                given if isinstance(given, str) else None,
                "-c default_transaction_read_only=on -c timezone=UTC",
            )
            if part
        )
        return sa.create_engine(url, connect_args={"options": options}, **pool)
    ensure_sqlite_directory(url)
    engine = sa.create_engine(url, **pool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        for pragma in (
            f"busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}",
            "journal_mode = WAL",  # a property of the file; writers' connections set it too
            "query_only = ON",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine


class ReadPool:
    """`await pool.run(work)` calls `work(connection)` on a read thread and returns its
    result; exceptions propagate."""

    def __init__(self, database_url: str, threads: int) -> None:
        self._engine = _read_only_engine(database_url, threads)
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="tenantcore-read")

    async def run(self, work: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        # The caller's context (structlog's bound variables) goes with the call.
        call = functools.partial(contextvars.copy_context().run, self._on_connection, work)
        return await loop.run_in_executor(self._executor, call)

    def _on_connection(self, work: Callable[[Connection], T]) -> T:
        try:
            with self._engine.connect() as connection:
                return work(connection)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        # The connection was dead (a database restart, an idle timeout); the pool has
        # discarded it. One more go on a fresh one.
        with self._engine.connect() as connection:
            return work(connection)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._engine.dispose()
