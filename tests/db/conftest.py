"""Database fixtures: SQLite by default, PostgreSQL when `TENANTCORE_TEST_DATABASE_URL` names one.

For PostgreSQL the URL names a server and a database to connect to for administration (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`); tests never touch that database itself.
Each run creates uniquely named databases next to it and drops them afterwards, so parallel
runs and reruns never see each other's tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore import migrations
from tenantcore.core.db import (
    create_engine,
    create_sessionmaker,
)
from tests.databases import scratch_database


@pytest.fixture(scope="session")
def migrated_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per test session, migrated to head once. Tests sharing it insert rows
    under fresh ids and never assume an empty table."""
    with scratch_database(tmp_path_factory.mktemp("db")) as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty, never-migrated database for tests that migrate themselves."""
    with scratch_database(tmp_path) as url:
        yield url


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
