"""Database fixtures: SQLite by default, PostgreSQL when `TENANTCORE_TEST_DATABASE_URL` names one.

For PostgreSQL the URL names a server and a database to connect to for administration (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`); tests never touch that database itself.
Each run creates uniquely named databases next to it and drops them afterwards, so parallel
runs and reruns never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore import migrations
from tenantcore.core.db import (
    create_engine,
    create_sessionmaker,
    normalise_database_url,
    sync_database_url,
)

TEST_DATABASE_URL_ENV = "TENANTCORE_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL server the run uses, or None for SQLite."""
    value = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    if not value:
        return None
    url = normalise_database_url(value)
    if make_url(url).get_backend_name() == "sqlite":
        return None  # a SQLite URL here means "the default": a file per test run
    return url


@contextmanager
def scratch_database(directory: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in `directory`, or a uniquely named PostgreSQL
    database created on the server and dropped (connections and all) on exit."""
    admin_url = server_url()
    if admin_url is None:
        yield normalise_database_url(f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}")
        return
    name = f"tenantcore_test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        sync_database_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


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
