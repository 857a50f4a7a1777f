"""Engine setup and the unit of work: SQLite pragmas and write locking, concurrent writers."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore.accounts.models import Account
from tenantcore.core.db import unit_of_work
from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import MAX_MAILBOXES_PER_DOMAIN, Mailbox
from tests.db.seed import add_domain, new_mailbox

SessionMaker = async_sessionmaker[AsyncSession]


def require_sqlite(engine: AsyncEngine) -> str:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite-specific behaviour; this run uses PostgreSQL")
    database = make_url(str(engine.url)).database
    assert database
    return database


async def account_exists(sessionmaker: SessionMaker, name: str) -> bool:
    async with unit_of_work(sessionmaker, read_only=True) as session:
        return await session.scalar(sa.select(Account.id).where(Account.name == name)) is not None


class TestUnitOfWork:
    async def test_commits_when_the_block_succeeds(self, sessionmaker: SessionMaker) -> None:
        name = f"uow-{uuid.uuid4().hex}"
        async with unit_of_work(sessionmaker) as session:
            session.add(Account(name=name))
        assert await account_exists(sessionmaker, name)

    async def test_rolls_back_when_the_block_raises(self, sessionmaker: SessionMaker) -> None:
        name = f"uow-{uuid.uuid4().hex}"

        async def add_then_fail() -> None:
            async with unit_of_work(sessionmaker) as session:
                session.add(Account(name=name))
                await session.flush()  # the row reached the database...
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            await add_then_fail()
        assert not await account_exists(sessionmaker, name)  # ...and was rolled back

    async def test_read_only_discards_writes_and_keeps_objects_readable(
        self, sessionmaker: SessionMaker
    ) -> None:
        name = f"uow-{uuid.uuid4().hex}"
        async with unit_of_work(sessionmaker, read_only=True) as session:
            account = Account(name=name)
            session.add(account)
            await session.flush()
        assert account.name == name
        assert not await account_exists(sessionmaker, name)

    async def test_savepoint_recovers_from_a_taken_slot_inside_one_transaction(
        self, sessionmaker: SessionMaker
    ) -> None:
        # The pattern for "try this slot, else the next" inside a request's single transaction.
        async with unit_of_work(sessionmaker) as session:
            domain = await add_domain(session)
            session.add(new_mailbox(domain, 1))
            await session.flush()
            with pytest.raises(IntegrityError):
                async with session.begin_nested():
                    session.add(new_mailbox(domain, 1))
            async with session.begin_nested():
                session.add(new_mailbox(domain, 2))
        async with unit_of_work(sessionmaker, read_only=True) as session:
            slots = set(
                await session.scalars(sa.select(Mailbox.slot).where(Mailbox.domain_pk == domain.id))
            )
        assert slots == {1, 2}


class TestSqliteConnection:
    async def test_pragmas(self, engine: AsyncEngine) -> None:
        require_sqlite(engine)
        async with engine.connect() as connection:

            async def pragma(name: str) -> object:
                return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("foreign_keys") == 1
            assert await pragma("busy_timeout") == 30000
            assert await pragma("synchronous") == 1  # NORMAL

    async def test_write_unit_takes_the_write_lock_at_begin(
        self, engine: AsyncEngine, sessionmaker: SessionMaker
    ) -> None:
        path = require_sqlite(engine)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            async with unit_of_work(sessionmaker) as session:
                # Only a read so far, yet the write lock is already held.
                await session.execute(sa.select(1))
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()

    async def test_read_only_unit_leaves_the_write_lock_free(
        self, engine: AsyncEngine, sessionmaker: SessionMaker
    ) -> None:
        path = require_sqlite(engine)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            async with unit_of_work(sessionmaker, read_only=True) as session:
                await session.execute(sa.select(sa.func.count()).select_from(Account))
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
        finally:
            other.close()


async def claim_slot(sessionmaker: SessionMaker, domain: Domain) -> int | None:
    """What provisioning does: take the lowest free slot; when another request took it first,
    the unique (domain_pk, slot) constraint refuses the insert and we look again."""
    for _ in range(MAX_MAILBOXES_PER_DOMAIN + 1):
        try:
            async with unit_of_work(sessionmaker) as session:
                taken = set(
                    await session.scalars(
                        sa.select(Mailbox.slot).where(Mailbox.domain_pk == domain.id)
                    )
                )
                free = [s for s in range(1, MAX_MAILBOXES_PER_DOMAIN + 1) if s not in taken]
                if not free:
                    return None
                session.add(new_mailbox(domain, free[0]))
        except IntegrityError:
            continue
        return free[0]
    return None


class TestConcurrentWriters:
    async def test_twenty_concurrent_claims_create_exactly_three(
        self, sessionmaker: SessionMaker
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            domain = await add_domain(session)
        # Any "database is locked" (SQLite) or unexpected error fails the gather.
        results = await asyncio.gather(*(claim_slot(sessionmaker, domain) for _ in range(20)))
        assert sorted(slot for slot in results if slot is not None) == [1, 2, 3]
        async with unit_of_work(sessionmaker, read_only=True) as session:
            slots = set(
                await session.scalars(sa.select(Mailbox.slot).where(Mailbox.domain_pk == domain.id))
            )
        assert slots == {1, 2, 3}
