"""Get-MessageTraceV2 (wire reference 4.8): one row per recipient, no paging of its own.

Limits as documented: a window of at most 10 days within the last 90, the last 48 hours when
no dates are given, at most 5,000 rows (default 1,000), and 100 queries per 5 minutes per
tenant shared with Graph's messageTraces. A result cut at ResultSize carries a warning with
the parameters that continue it (EndDate = last Received, StartingRecipientAddress = last
recipient), which is how Microsoft documents continuing a trace.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from typing import Any

from tenantcore.sandbox import tracequery
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.exchange.serialize import Zulu
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import exchange_datetime_utc, parse

STATUSES = (
    "Delivered",
    "Expanded",
    "Failed",
    "FilteredAsSpam",
    "GettingStatus",
    "Pending",
    "Quarantined",
)
DEFAULT_WINDOW = timedelta(hours=48)
DEFAULT_RESULT_SIZE = 1000


def trace_row(row: Row) -> dict[str, Any]:
    return {
        "Received": Zulu(parse(row["received"])),
        "SenderAddress": row["sender_address"],
        "RecipientAddress": row["recipient_address"],
        "Subject": row["subject"],
        "Status": row["status"],
        "FromIP": row["from_ip"] or None,
        "ToIP": row["to_ip"] or None,
        "Size": int(row["size"]),
        "MessageId": row["message_id"],
        "MessageTraceId": uuid.UUID(row["message_trace_id"]),
    }


def _window(ctx: CmdletContext, params: dict[str, Any]) -> tuple[Any, Any]:
    end = params.get("EndDate")
    start = params.get("StartDate")
    if end is None:
        end = ctx.now if start is None else max(ctx.now, start)
    if start is None:
        start = end - DEFAULT_WINDOW
    if start > end:
        raise errors.CmdletError(
            400, errors.ARGUMENT, "The StartDate must be earlier than the EndDate."
        )
    if end - start > tracequery.MAX_WINDOW:
        raise errors.CmdletError(
            400,
            errors.ARGUMENT,
            "The time range between StartDate and EndDate can't be more than 10 days.",
        )
    if start < ctx.now - tracequery.MAX_HISTORY:
        raise errors.CmdletError(
            400,
            errors.ARGUMENT,
            "The StartDate can't be more than 90 days in the past. Message trace data is kept"
            " for 90 days.",
        )
    return start, end


def get_message_trace(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    start, end = _window(ctx, params)
    wait = tracequery.take_query_slot(ctx.sb, ctx.tenant_id)
    if wait is not None:
        seconds = math.ceil(wait)
        raise errors.CmdletError(
            429,
            errors.THROTTLED,
            "The request was throttled: message trace allows"
            f" {ctx.sb.config.trace_queries_per_window} queries per"
            f" {ctx.sb.config.trace_window_seconds:g} seconds per tenant. Try again in"
            f" {seconds} seconds.",
            retry_after=seconds,
        )
    size = params.get("ResultSize", DEFAULT_RESULT_SIZE)
    rows = tracequery.query(
        ctx.sb,
        ctx.tenant_id,
        start=start,
        end=end,
        senders=params.get("SenderAddress") or (),
        recipients=params.get("RecipientAddress") or (),
        message_ids=params.get("MessageId") or (),
        statuses=params.get("Status") or (),
        limit=size + 1,
        starting_recipient=params.get("StartingRecipientAddress"),
    )
    result = CmdletResult(rows=[trace_row(row) for row in rows[:size]])
    if len(rows) > size:
        last = rows[size - 1]
        result.warnings.append(
            "There are more results, use the following command to get more. Get-MessageTraceV2"
            f' -StartDate "{exchange_datetime_utc(start)}"'
            f' -EndDate "{exchange_datetime_utc(parse(last["received"]))}"'
            f' -StartingRecipientAddress "{last["recipient_address"]}" -ResultSize {size}'
        )
    return result


CMDLETS = (
    Cmdlet(
        "Get-MessageTraceV2",
        get_message_trace,
        (
            Param("StartDate", cv.date_time()),
            Param("EndDate", cv.date_time()),
            Param("SenderAddress", cv.text_list()),
            Param("RecipientAddress", cv.text_list()),
            Param("MessageId", cv.text_list()),
            Param("Status", cv.choice_list(STATUSES, "Microsoft.Exchange.Data.MessageTraceStatus")),
            Param("ResultSize", cv.result_size(high=tracequery.MAX_ROWS)),
            Param("StartingRecipientAddress", cv.identity()),
        ),
        paged=True,
    ),
)
