"""UTCDateTime: aware UTC in, aware UTC out, naive refused, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore.accounts.models import Account
from tenantcore.core.base import new_id, utcnow
from tenantcore.core.db import unit_of_work


class TestUTCDateTime:
    async def test_round_trip_returns_aware_utc(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        # 12:30:15.123456 at UTC+02:00 is 10:30:15.123456 UTC.
        plus_two = timezone(timedelta(hours=2))
        stamp = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=plus_two)
        async with unit_of_work(sessionmaker) as session:
            account = Account(name=f"tz-{uuid.uuid4().hex}", created_at=stamp)
            session.add(account)

        async with unit_of_work(sessionmaker, read_only=True) as session:
            loaded = await session.scalar(
                sa.select(Account.created_at).where(Account.id == account.id)
            )
        assert loaded == stamp
        assert loaded is not None
        assert loaded.tzinfo is UTC
        assert loaded.hour == 10
        assert loaded.microsecond == 123456

    async def test_comparisons_in_queries_use_utc(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        name = f"tz-{uuid.uuid4().hex}"
        stamp = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        async with unit_of_work(sessionmaker) as session:
            session.add(Account(name=name, created_at=stamp))
        # The same instant written in another zone must compare equal in SQL, including on
        # SQLite where the value is stored as text.
        same_instant = stamp.astimezone(timezone(timedelta(hours=-5)))
        async with unit_of_work(sessionmaker, read_only=True) as session:
            found = await session.scalar(
                sa.select(sa.func.count())
                .select_from(Account)
                .where(Account.name == name, Account.created_at == same_instant)
            )
        assert found == 1

    async def test_naive_datetime_is_rejected(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        naive = datetime(2026, 3, 1, 12, 0)  # noqa: DTZ001 - the point of the test
        with pytest.raises(StatementError, match="naive datetime") as caught:
            async with unit_of_work(sessionmaker) as session:
                session.add(Account(name=f"tz-{uuid.uuid4().hex}", created_at=naive))
        assert isinstance(caught.value.orig, ValueError)

    async def test_defaults_are_aware(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        before = utcnow()
        async with unit_of_work(sessionmaker) as session:
            account = Account(name=f"tz-{uuid.uuid4().hex}")
            session.add(account)
        async with unit_of_work(sessionmaker, read_only=True) as session:
            loaded = await session.get_one(Account, account.id)
        assert loaded.created_at.tzinfo is UTC
        assert before <= loaded.created_at <= utcnow()

    async def test_postgres_session_time_zone_does_not_leak(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL-specific: SQLite has no session time zone")
        # timestamptz answers in the session's zone; the type must hand back UTC regardless.
        stamp = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        async with unit_of_work(sessionmaker) as session:
            account = Account(name=f"tz-{uuid.uuid4().hex}", created_at=stamp)
            session.add(account)
        async with unit_of_work(sessionmaker, read_only=True) as session:
            await session.execute(sa.text("SET TIME ZONE 'Asia/Tokyo'"))
            loaded = await session.scalar(
                sa.select(Account.created_at).where(Account.id == account.id)
            )
        assert loaded == stamp
        assert loaded is not None
        assert loaded.tzinfo is UTC
        assert (loaded.day, loaded.hour) == (1, 23)

    def test_new_id_is_a_uuid4_string(self) -> None:
        value = new_id()
        assert uuid.UUID(value).version == 4
        assert len(value) == 36
