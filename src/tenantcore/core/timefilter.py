"""`since`/`until` query parameters of the list endpoints: [since, until)."""

from __future__ import annotations

from datetime import UTC, datetime

from tenantcore.core.errors import AppError


def parse_bound(value: str | None, name: str, error: type[AppError]) -> datetime | None:
    """An ISO 8601 date-time, read as UTC when it carries no offset; `error` when it is not
    one."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise error(f"{name} must be an ISO 8601 date-time.") from None


def time_window(
    since: str | None, until: str | None, error: type[AppError]
) -> tuple[datetime | None, datetime | None]:
    """Both bounds parsed; `error` when either is not a date-time or since is not before
    until."""
    since_at, until_at = parse_bound(since, "since", error), parse_bound(until, "until", error)
    if since_at is not None and until_at is not None and since_at >= until_at:
        raise error("since must be before until.")
    return since_at, until_at
