"""The declarative base every ORM model inherits, and the column helpers they share.

Constraint names come from one naming convention so Alembic can drop and alter them by name on
both SQLite and PostgreSQL (SQLite's batch rebuilds need named constraints to find them).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, DateTime, Dialect, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite; one migration tree for both.
JSONList = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind of datetime the schema accepts)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new primary key: a random UUID as its canonical 36-character string."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC on the way in and on the way out.

    SQLite has no timezone type and SQLAlchemy's SQLite DATETIME silently drops tzinfo, so
    values are converted to UTC before storing (keeping the text sortable) and UTC is attached
    on load. PostgreSQL's timestamptz keeps the instant but answers in the session time zone,
    so loaded values are converted back to UTC there too. A naive datetime is a bug (whose
    local time is it?) and is rejected rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (TypeDecorator's signature)
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def check_in(column: str, values: type[StrEnum], name: str | None = None) -> CheckConstraint:
    """A CHECK that `column` holds one of the enum's values; named `ck_<table>_<column>`."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every `Mapped[datetime]` is a UTCDateTime, so no model can declare a naive timestamp.
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}
