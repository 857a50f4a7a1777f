"""Scratch databases for tests: SQLite files by default, PostgreSQL when
`TENANTCORE_TEST_DATABASE_URL` names a server (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`). Each scratch database is created for the
test and dropped after it, so runs never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tenantcore.core.db import normalise_database_url, sync_database_url

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
    with postgres_scratch_database(admin_url, f"tenantcore_test_{os.getpid()}") as url:
        yield url


@contextmanager
def postgres_scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new PostgreSQL database named `prefix` plus a random suffix, on the server of
    `admin_url`, dropped (connections and all) on exit. The benchmarks use it too."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
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
