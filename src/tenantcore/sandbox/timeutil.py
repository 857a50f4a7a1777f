"""UTC timestamps in the one text form the sandbox stores and the wire formats derived from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso(moment: datetime) -> str:
    """Storage form: sortable, UTC, microseconds, trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a value without offset is taken as UTC (Microsoft's habit)."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Exchange writes 7 fractional digits; Python takes at most 6.
    if "." in value:
        head, _, tail = value.partition(".")
        digits = ""
        rest = ""
        for index, char in enumerate(tail):
            if not char.isdigit():
                rest = tail[index:]
                break
            digits += char
        value = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def exchange_datetime(moment: datetime) -> str:
    """Exchange's DateTime rendering: 7 fractional digits and an explicit +00:00 offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


def exchange_datetime_utc(moment: datetime) -> str:
    """Exchange's rendering of `*UTC` properties: 7 fractional digits and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def graph_datetime(moment: datetime) -> str:
    """Graph's rendering: seconds precision with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def next_utc_midnight(moment: datetime) -> datetime:
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)
