"""Engines, sessions and the unit of work, for SQLite (embedded default) and PostgreSQL.

SQLite needs care to behave under concurrent writers:

- WAL lets readers run while one connection writes; `busy_timeout` makes a writer wait for the
  lock instead of failing at once.
- Python's sqlite3 (and aiosqlite on top of it) begins transactions lazily, only at the first
  INSERT/UPDATE/DELETE. A transaction that reads, then writes, then finds another writer
  committed in between gets SQLITE_BUSY_SNAPSHOT straight away ("database is locked"), and
  `busy_timeout` cannot help because waiting would not make its snapshot current. So we take
  over BEGIN (SQLAlchemy's documented recipe: `isolation_level = None` on connect, our own
  BEGIN in the `begin` event) and start every transaction with `BEGIN IMMEDIATE`: it takes the
  write lock up front, so concurrent writers queue behind each other and every read a writer
  makes is current. Read-only units of work opt out with `BEGIN DEFERRED` so they never wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_FILE_NAME = "tenantcore.db"
# Connection execution option read by the SQLite `begin` hook; see the module docstring.
SQLITE_BEGIN_OPTION = "tenantcore_sqlite_begin"
_SQLITE_BEGIN_MODES: frozenset[str] = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_database_url(url: str) -> str:
    """Accept the URLs people write and return the one driver per database we ship.

    `sqlite://` and `sqlite+aiosqlite://` become aiosqlite; `postgresql://`, `postgres://` and
    `postgresql+psycopg://` become psycopg 3. Other drivers (asyncpg, psycopg2) are refused
    rather than half-supported.
    """
    try:
        parsed = make_url(url.strip())
    except sa.exc.ArgumentError as exc:  # surfaces as a settings validation error
        raise ValueError(f"not a database URL: {exc}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite", "pysqlite"):
        drivername = "sqlite+aiosqlite"
    elif backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        drivername = "postgresql+psycopg"
    else:
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///<path> or "
            "postgresql://user@host/db (psycopg 3)"
        )
    return parsed.set(drivername=drivername).render_as_string(hide_password=False)


def default_database_url(data_dir: Path) -> str:
    """The embedded default: `<data_dir>/tenantcore.db` through aiosqlite."""
    path = (data_dir / SQLITE_FILE_NAME).absolute()
    return URL.create("sqlite+aiosqlite", database=str(path)).render_as_string()


def sync_database_url(url: str) -> str:
    """The same database through a synchronous driver (for Alembic and scripts).

    psycopg 3 is one package for both modes (SQLAlchemy picks the async variant only under
    `create_async_engine`), so only SQLite changes driver: aiosqlite to the stdlib sqlite3.
    """
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def redact_url(url: str) -> str:
    """The URL with any password masked, for logs and CLI output."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for PostgreSQL, in-memory and URI-style names."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # URI filenames: the caller owns the location
        return None
    return Path(database)


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite file database: SQLite creates the file, not the dirs,
    and a fresh `TENANTCORE_DATA_DIR` should just work."""
    path = sqlite_file_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_hooks(sync_engine: Engine, *, foreign_keys: bool) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand BEGIN to the `begin` hook below (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL itself may have to wait for a lock.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable in WAL mode except for the last commits on power loss.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in _SQLITE_BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_SQLITE_BEGIN_MODES)}")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """The application's engine: aiosqlite with the hooks above, or psycopg 3 async."""
    url = normalise_database_url(url)
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        engine = create_async_engine(url, echo=echo)
        _install_sqlite_hooks(engine.sync_engine, foreign_keys=True)
        return engine
    # pre_ping: a PostgreSQL restart or an idle timeout in between must not fail a request.
    return create_async_engine(url, echo=echo, pool_pre_ping=True)


def create_sync_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """A synchronous engine on the same database (Alembic). SQLite gets the same pragmas and
    BEGIN IMMEDIATE; `foreign_keys=False` is for migrations, whose batch table rebuilds would
    otherwise cascade-delete child rows when they drop the old table."""
    url = sync_database_url(url)
    if is_sqlite(url):
        ensure_sqlite_directory(url)
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        _install_sqlite_hooks(engine, foreign_keys=foreign_keys)
        return engine
    return sa.create_engine(url, poolclass=sa.NullPool)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the commit that precedes the
    # response; re-loading them would need I/O the async session cannot do implicitly.
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], *, read_only: bool = False
) -> AsyncIterator[AsyncSession]:
    """One transaction: commits when the block exits normally, rolls back on any exception.

    `read_only=True` starts the transaction with `BEGIN DEFERRED` on SQLite (no write lock, so
    it never waits behind writers) and never commits: closing the session releases the
    connection with a rollback, so anything written is discarded, while the objects loaded
    stay readable (closing detaches them; an explicit rollback would expire them).
    """
    async with sessionmaker() as session:
        if read_only:
            # Fix the connection's options before the first statement triggers BEGIN.
            await session.connection(execution_options={SQLITE_BEGIN_OPTION: "DEFERRED"})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        if not read_only:
            await session.commit()
