"""The sandbox's SQLite store and the controllable clock.

The sandbox serves HTTP and SMTP from one asyncio event loop, and every store call is a short
synchronous SQLite statement with no await in between, so each handler's reads and writes are
atomic with respect to other requests without any locking of our own.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.schema import ADDED_COLUMNS, SCHEMA_VERSION, STATEMENTS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Row = sqlite3.Row


class SandboxStore:
    """One SQLite database (a file, or memory when `path` is None)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            isolation_level=None,
            check_same_thread=False,
        )
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        if path is not None:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        with self.transaction():
            for statement in STATEMENTS:
                self.conn.execute(statement)
            for table, column, definition in ADDED_COLUMNS:
                present = {row["name"] for row in self.conn.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            self.conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested use joins the outer one."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> int:
        """Run a write statement (inside a transaction if one is open); return rows changed."""
        return self.conn.execute(sql, params).rowcount

    def get_meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class SandboxClock:
    """Real UTC plus an offset that only moves forward (`POST /_sandbox/clock`).

    The offset is persisted, so a restarted sandbox does not travel back in time.
    """

    _META_KEY = "clock_offset_seconds"

    def __init__(self, store: SandboxStore) -> None:
        self._store = store
        stored = store.get_meta(self._META_KEY)
        self._offset = timedelta(seconds=float(stored)) if stored else timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += timedelta(seconds=seconds)
        with self._store.transaction():
            self._store.set_meta(self._META_KEY, repr(self._offset.total_seconds()))
        return self.now()
