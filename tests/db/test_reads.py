"""The read pool (core/reads.py): read-only connections, results and errors carried back to the
event loop, UTC timestamps straight to JSON, recovery from a dropped connection."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantcore.accounts.models import Account
from tenantcore.core.db import create_sync_engine, is_sqlite, unit_of_work
from tenantcore.core.reads import JSON_OPTIONS, ReadPool, as_stored
from tenantcore.mailboxes.models import Mailbox
from tenantcore.settings import Settings
from tests.db.seed import add_domain, new_mailbox

SessionMaker = async_sessionmaker[AsyncSession]


@pytest.fixture
def pool(migrated_database_url: str) -> Iterator[ReadPool]:
    reads = ReadPool(migrated_database_url, threads=2)
    try:
        yield reads
    finally:
        reads.close()


def _account_named(name: str) -> sa.Select[str]:
    return sa.select(Account.id).where(Account.name == name)


async def test_reads_what_was_committed(pool: ReadPool, sessionmaker: SessionMaker) -> None:
    name = f"reads-{uuid.uuid4().hex}"
    async with unit_of_work(sessionmaker) as session:
        session.add(Account(name=name))
    found = await pool.run(lambda connection: connection.scalar(_account_named(name)))
    assert found is not None


async def test_the_database_refuses_a_write(pool: ReadPool, sessionmaker: SessionMaker) -> None:
    name = f"reads-{uuid.uuid4().hex}"

    def write(connection: Connection) -> None:
        connection.execute(sa.insert(Account).values(id=str(uuid.uuid4()), name=name))
        connection.commit()

    with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
        await pool.run(write)
    async with unit_of_work(sessionmaker, read_only=True) as session:
        assert await session.scalar(_account_named(name)) is None


async def test_an_error_in_the_work_reaches_the_caller(pool: ReadPool) -> None:
    class Refused(Exception):
        pass

    def refuse(_connection: Connection) -> None:
        raise Refused

    with pytest.raises(Refused):
        await pool.run(refuse)
    # The pool is still usable afterwards.
    assert await pool.run(lambda connection: connection.scalar(sa.text("SELECT 1"))) == 1


async def test_the_event_loop_runs_while_a_read_runs(pool: ReadPool) -> None:
    ticks = 0
    done = threading.Event()

    async def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    def slow(_connection: Connection) -> str:
        time.sleep(0.3)  # a long query: the GIL is released, as while SQLite or the server works
        done.set()
        return threading.current_thread().name

    ticker = asyncio.create_task(tick())
    thread_name = await pool.run(slow)
    await ticker
    assert thread_name.startswith("tenantcore-read")
    assert ticks >= 10


def _select_literal(value: int, connection: sa.Connection) -> int | None:
    return connection.scalar(sa.select(sa.literal(value)))


async def test_many_reads_at_once_all_complete(pool: ReadPool) -> None:
    results = await asyncio.gather(
        *(pool.run(functools.partial(_select_literal, n)) for n in range(50))
    )
    assert results == list(range(50))


async def test_a_reader_does_not_wait_for_a_writer(
    pool: ReadPool, sessionmaker: SessionMaker
) -> None:
    name = f"reads-{uuid.uuid4().hex}"
    async with unit_of_work(sessionmaker) as session:
        session.add(Account(name=name))
        await session.flush()  # the writer holds its locks (SQLite: the write lock) ...
        # ... while a read of the same table answers with what was committed before it.
        assert (
            await asyncio.wait_for(
                pool.run(lambda connection: connection.scalar(_account_named(name))), timeout=5
            )
            is None
        )
    assert await pool.run(lambda connection: connection.scalar(_account_named(name))) is not None


async def test_timestamps_as_stored_serialize_as_utc(
    pool: ReadPool, sessionmaker: SessionMaker
) -> None:
    # An instant given in another zone is stored and written out as the same instant in UTC.
    blocked = datetime(2026, 3, 29, 0, 30, 15, 250000, tzinfo=UTC)
    ready = datetime(2026, 3, 29, 1, 0, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    async with unit_of_work(sessionmaker) as session:
        domain = await add_domain(session)
        mailbox = new_mailbox(domain, 1, blocked_at=blocked, ready_at=ready)
        session.add(mailbox)
        await session.flush()
        mailbox_id = mailbox.id

    def read(connection: Connection) -> bytes:
        row = connection.execute(
            sa.select(as_stored(Mailbox.blocked_at), as_stored(Mailbox.ready_at)).where(
                Mailbox.id == mailbox_id
            )
        ).one()
        return orjson.dumps(row._asdict(), option=JSON_OPTIONS)

    assert orjson.loads(await pool.run(read)) == {
        "blocked_at": "2026-03-29T00:30:15.250000Z",
        "ready_at": "2026-03-29T01:00:00Z",
    }


async def test_a_dropped_connection_is_replaced(pool: ReadPool, migrated_database_url: str) -> None:
    if is_sqlite(migrated_database_url):
        pytest.skip("a server dropping connections is a PostgreSQL matter")
    await asyncio.gather(
        *(pool.run(lambda connection: connection.scalar(sa.text("SELECT 1"))) for _ in range(4))
    )
    # What a database restart or an idle timeout does to the pool's open connections.
    admin = create_sync_engine(migrated_database_url)
    with admin.connect() as connection:
        killed = connection.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            )
        )
        connection.commit()
    admin.dispose()
    assert killed
    answers = await asyncio.gather(
        *(pool.run(lambda connection: connection.scalar(sa.text("SELECT 1"))) for _ in range(4))
    )
    assert answers == [1, 1, 1, 1]


def test_read_threads_default_by_database(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).resolved_read_threads == 1
    assert Settings(database_url="postgresql://u@db/tc").resolved_read_threads == 4
    assert Settings(read_threads=3).resolved_read_threads == 3


def test_settings_refuse_a_pool_without_threads() -> None:
    with pytest.raises(ValueError, match="read_threads"):
        Settings(read_threads=0)


async def test_options_in_the_url_are_kept(migrated_database_url: str) -> None:
    if is_sqlite(migrated_database_url):
        pytest.skip("libpq connection options are a PostgreSQL matter")
    url = make_url(migrated_database_url).update_query_dict(
        {"options": "-c application_name=tenantcore-reads-test"}
    )
    reads = ReadPool(url.render_as_string(hide_password=False), threads=1)
    try:
        shown = await reads.run(
            lambda connection: [
                connection.scalar(sa.text(f"SHOW {name}"))
                for name in ("application_name", "default_transaction_read_only", "timezone")
            ]
        )
    finally:
        reads.close()
    assert shown == ["tenantcore-reads-test", "on", "UTC"]
