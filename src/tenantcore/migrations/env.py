"""Alembic environment: one migration tree for SQLite and PostgreSQL.

Run through `tenantcore.migrations` (URL in `config.attributes`) or the plain `alembic`
command from a checkout (URL from `TENANTCORE_DATABASE_URL` / `TENANTCORE_DATA_DIR`).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from tenantcore.core.db import create_sync_engine, is_sqlite, sync_database_url
from tenantcore.migrations import render_item, target_metadata

# Held for the migration transaction on PostgreSQL, so API processes starting together
# migrate one after the other; the second then finds the schema already at head. (SQLite
# gets the same from BEGIN IMMEDIATE.) Any constant unique to TenantCore will do.
_PG_MIGRATION_LOCK_KEY = 7_291_350_842_611


def _database_url() -> str:
    url: str | None = context.config.attributes.get("database_url")
    if url is not None:
        return url
    from tenantcore.settings import Settings

    return Settings().resolved_database_url


database_url = _database_url()
sqlite = is_sqlite(database_url)


def _include_name(name: str | None, type_: str, _: Any) -> bool:
    # procrastinate's tables are created from its own schema file, not from our models.
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata(),
        include_name=_include_name,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        compare_type=True,
        render_item=render_item,
        **options,
    )


def _check_foreign_keys(connection: Connection) -> None:
    # Migrations run with foreign_keys=OFF on SQLite (see create_sync_engine), so verify
    # before committing that no rebuild or data step left a dangling reference.
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign key violations after migration: {problems[:10]}")


def run_migrations_offline() -> None:
    _configure(
        url=sync_database_url(database_url),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_sync_engine(database_url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            # transactional_ddl: SQLite supports it too once we own BEGIN, so the whole
            # upgrade commits or nothing does.
            _configure(connection=connection, transactional_ddl=True)
            with context.begin_transaction():
                if not sqlite:
                    connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK_KEY})"
                    )
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
