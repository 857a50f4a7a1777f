"""Procrastinate's job queue tables and functions, on PostgreSQL only.

With SQLite (the embedded default) the queue lives in memory in the one process, so nothing is
created there. The SQL is procrastinate's own schema file of the installed version; a later
procrastinate release that changes it ships migration files, which a new revision applies.

Revision ID: 5b1f0c9e7a42
Revises: 017c28b0e4f9
Create Date: 2026-11-24 19:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "5b1f0c9e7a42"
down_revision: str | Sequence[str] | None = "017c28b0e4f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if _postgres():
        op.execute(SchemaManager.get_schema())


def downgrade() -> None:
    if not _postgres():
        return
    op.execute(
        """
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN
                SELECT p.oid::regprocedure AS signature
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || item.signature || ' CASCADE';
            END LOOP;
        END $$;
        """
    )
    for table in (
        "procrastinate_events",
        "procrastinate_periodic_defers",
        "procrastinate_jobs",
        "procrastinate_workers",
    ):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    for type_name in (
        "procrastinate_job_to_defer_v1",
        "procrastinate_job_event_type",
        "procrastinate_job_status",
    ):
        op.execute(f"DROP TYPE IF EXISTS {type_name}")
