"""Scratch databases for tests: SQLite files by default, PostgreSQL when
`TENANTCORE_TEST_DATABASE_URL` names a server (e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/test`). Each scratch database is created for the
test and dropped after it, so runs never see each other's tables.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tenantcore import migrations
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
def migrated_database(directory: Path) -> Iterator[str]:
    """Like `scratch_database`, but already at the head revision: a copy of a database
    migrated once per test process (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
    PostgreSQL), so each test does not pay for every migration again. The migrations' own
    tests use `scratch_database`."""
    admin_url = server_url()
    if admin_url is None:
        target = directory / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(_sqlite_template(), target)
        yield normalise_database_url(f"sqlite:///{target}")
        return
    template = _postgres_template(admin_url)
    prefix = f"tenantcore_test_{os.getpid()}"
    with postgres_scratch_database(admin_url, prefix, template=template) as url:
        yield url


@functools.cache
def _sqlite_template() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="tenantcore-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / "template.db"
    migrations.upgrade(normalise_database_url(f"sqlite:///{path}"))
    return path


@functools.cache
def _postgres_template(admin_url: str) -> str:
    """A migrated database nobody connects to (PostgreSQL copies only such templates)."""
    name = f"tenantcore_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin_sql(admin_url, f'CREATE DATABASE "{name}"')
    atexit.register(_admin_sql, admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    migrations.upgrade(_database_url(admin_url, name))
    return name


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _admin_sql(admin_url: str, statement: str) -> None:
    admin = sa.create_engine(
        sync_database_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        admin.dispose()


@contextmanager
def postgres_scratch_database(
    admin_url: str, prefix: str, *, template: str | None = None
) -> Iterator[str]:
    """A new PostgreSQL database named `prefix` plus a random suffix (a copy of `template`,
    if given), on the server of `admin_url`, dropped (connections and all) on exit. The
    benchmarks use it too."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    _admin_sql(admin_url, f'CREATE DATABASE "{name}"{copy}')
    try:
        yield _database_url(admin_url, name)
    finally:
        _admin_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
