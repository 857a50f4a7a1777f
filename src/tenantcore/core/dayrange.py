"""The `from`/`to` range of UTC days the usage history endpoints take (mailbox and tenant)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated

from fastapi import Query

from tenantcore.core.errors import AppError

# The default span (30 days, today included) and the longest.
HISTORY_DEFAULT_DAYS = 30
HISTORY_MAX_DAYS = 366
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

FromDay = Annotated[
    str | None,
    Query(alias="from", description="First UTC day, YYYY-MM-DD (default: 29 days before `to`)."),
]
ToDay = Annotated[
    str | None, Query(alias="to", description="Last UTC day, YYYY-MM-DD (default: today).")
]


class InvalidDateRange(AppError):
    code = "invalid_date_range"
    default_message = (
        "from and to must be dates (YYYY-MM-DD), from not after to, at most 366 days apart."
    )


def _day(value: str) -> date:
    """A YYYY-MM-DD day (not the other forms `date.fromisoformat` reads)."""
    if not _DAY.fullmatch(value):
        raise InvalidDateRange
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidDateRange from None


def history_range(first: str | None, last: str | None, today: str) -> tuple[str, str]:
    """The [from, to] days asked for; by default the 30 days up to today."""
    to_day = _day(today if last is None else last)
    default_from = to_day - timedelta(days=HISTORY_DEFAULT_DAYS - 1)
    from_day = default_from if first is None else _day(first)
    if from_day > to_day or (to_day - from_day).days >= HISTORY_MAX_DAYS:
        raise InvalidDateRange
    return from_day.isoformat(), to_day.isoformat()
