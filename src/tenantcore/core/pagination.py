"""Cursor pagination of the list endpoints (beyond the seed).

A list called without `limit` answers everything, as the seed's lists do. With `limit` it
answers at most that many items and, when more follow, a `next_cursor` to pass back as
`cursor` for the next page. A cursor names the last item's position in the list's order (its
sort key), not an offset, so items added or removed meanwhile neither repeat nor go missing
across pages. Cursors are opaque to clients; one made by another list is refused.

The two logs (enforcement events, the audit log) keep their `limit` (default 50) and `offset`
paging and add `next_cursor` beside it, as an alternative to `offset`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import orjson
from fastapi import Query

from tenantcore.core.errors import AppError

MAX_PAGE_SIZE = 1000
_CURSOR_MAX_CHARS = 2048

PageLimit = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_PAGE_SIZE,
        description=f"Beyond the seed: at most this many items (1-{MAX_PAGE_SIZE}), with "
        "`next_cursor` when more follow. Omitted: all of them.",
    ),
]
PageCursor = Annotated[
    str | None,
    Query(
        max_length=_CURSOR_MAX_CHARS,
        description="Beyond the seed: the `next_cursor` of the previous page.",
    ),
]

LogCursor = Annotated[
    str | None,
    Query(
        max_length=_CURSOR_MAX_CHARS,
        description="Beyond the seed: the `next_cursor` of the previous page, instead of "
        "`offset`; pages by position, so rows recorded meanwhile never shift a page.",
    ),
]

Item = TypeVar("Item")


class InvalidCursor(AppError):
    code = "invalid_cursor"
    default_message = (
        "cursor is not a next_cursor this list returned; start again from the first page."
    )


def encode_cursor(kind: str, key: Sequence[str]) -> str:
    raw = orjson.dumps([kind, *key])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, size: int) -> tuple[str, ...] | None:
    """The sort key a cursor of list `kind` holds (`size` strings); None without a cursor."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor from exc
    if (
        not isinstance(decoded, list)
        or len(decoded) != size + 1
        or decoded[0] != kind
        or not all(isinstance(part, str) for part in decoded[1:])
    ):
        raise InvalidCursor
    return tuple(decoded[1:])


def fetch_size(limit: int | None) -> int | None:
    """How many rows to ask the database for: one more than the page, to know if more follow."""
    return None if limit is None else limit + 1


def cut(
    rows: Sequence[Item], limit: int | None, kind: str, key: Callable[[Item], Sequence[str]]
) -> tuple[Sequence[Item], str | None]:
    """The page of `rows` (fetched with `fetch_size`) and the cursor of the next one."""
    if limit is None or len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(kind, key(page[-1]))


def time_key(moment: datetime) -> str:
    """A timestamp as a cursor keeps it (read connections hand back naive UTC on SQLite)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def key_time(text: str) -> datetime:
    """A cursor's timestamp back; InvalidCursor for one no list wrote."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidCursor from exc
    if moment.tzinfo is None:
        raise InvalidCursor
    return moment.astimezone(UTC)
