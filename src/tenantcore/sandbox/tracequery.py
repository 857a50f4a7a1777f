"""Message-trace reads shared by Get-MessageTraceV2 (Exchange) and Graph's messageTraces.

Both front ends share Microsoft's limits: a window of at most 10 days, starting at most 90 days
ago, rows visible only after the trace delay, and 100 queries per 5 minutes per tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso

MAX_WINDOW = timedelta(days=10)
MAX_HISTORY = timedelta(days=90)
MAX_ROWS = 5000


def take_query_slot(sb: Sandbox, tenant_id: str) -> float | None:
    """Consume one of the tenant's message-trace queries; None, or seconds until one frees."""
    return sb.runtime.take_from_window(
        f"message_trace|{tenant_id}",
        sb.config.trace_queries_per_window,
        sb.config.trace_window_seconds,
        # Microsoft's window runs on Microsoft's clock: moving the sandbox clock renews it.
        now=sb.now().timestamp(),
    )


def query(
    sb: Sandbox,
    tenant_id: str,
    *,
    start: datetime,
    end: datetime,
    senders: Sequence[str] = (),
    recipients: Sequence[str] = (),
    message_ids: Sequence[str] = (),
    statuses: Sequence[str] = (),
    limit: int = 1000,
    starting_recipient: str | None = None,
) -> list[Row]:
    """Visible rows with start <= received <= end, newest first, then by recipient.

    `starting_recipient` continues a previous result as Get-MessageTraceV2 documents: pass the
    last row's recipient here and its received time as `end`; rows at exactly `end` are then
    returned only for recipients after `starting_recipient`.
    """
    clauses = ["tenant_id = ?", "received >= ?", "received <= ?", "visible_at <= ?"]
    params: list[object] = [tenant_id, iso(start), iso(end), iso(sb.now())]
    for column, values in (
        ("sender_address", senders),
        ("recipient_address", recipients),
        ("message_id", message_ids),
        ("status", statuses),
    ):
        if values:
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            # Addresses are stored lower-case; message ids and statuses keep their case.
            lowered = column in ("sender_address", "recipient_address")
            params.extend(v.lower() if lowered else v for v in values)
    if starting_recipient is not None:
        clauses.append("(received < ? OR recipient_address > ?)")
        params.extend([iso(end), starting_recipient.lower()])
    params.append(limit)
    sql = (
        "SELECT * FROM trace WHERE "  # noqa: S608 - clauses are fixed column names
        + " AND ".join(clauses)
        + " ORDER BY received DESC, recipient_address ASC, message_trace_id ASC LIMIT ?"
    )
    return sb.store.all(sql, tuple(params))
