"""`GET /admin/exchange/tracing/messageTraces` (wire reference 2.10).

Rows are the per-recipient trace rows the SMTP host writes, read through `tracequery` with the
limits Get-MessageTraceV2 shares: window of at most 10 days starting at most 90 days ago, and
100 queries per 5 minutes per tenant. A next link carries the last row's received time and
recipient and continues exactly as Get-MessageTraceV2's StartingRecipientAddress does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox import tracequery
from tenantcore.sandbox.graph.common import METADATA, GraphError, GraphResponse, Throttled
from tenantcore.sandbox.graph.dispatch import Endpoint
from tenantcore.sandbox.graph.odata import (
    Call,
    Comparison,
    Junction,
    Node,
    decode_skiptoken,
    encode_skiptoken,
    next_link,
    parse_filter,
    parse_top,
)
from tenantcore.sandbox.timeutil import graph_datetime, parse

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext
    from tenantcore.sandbox.store import Row

ROLES = frozenset({"ExchangeMessageTrace.Read.All"})
DEFAULT_WINDOW = timedelta(hours=48)
STATUSES = (
    "gettingStatus",
    "pending",
    "failed",
    "delivered",
    "expanded",
    "quarantined",
    "filteredAsSpam",
    "unknownFutureValue",
    "recalled",
)
# Filterable with `eq`: properties tracequery narrows in SQL, and ones checked per row.
_QUERY_COLUMNS = {
    "senderaddress": "senders",
    "recipientaddress": "recipients",
    "messageid": "message_ids",
}
_ROW_COLUMNS = {
    "status": "status",
    "id": "message_trace_id",
    "fromip": "from_ip",
    "toip": "to_ip",
}
_SUBJECT_FUNCTIONS = frozenset({"contains", "startswith", "endswith"})
_ALLOWED_OPTIONS = frozenset({"$filter", "$top", "$skiptoken"})


@dataclass
class TraceFilter:
    start: datetime | None = None
    end: datetime | None = None
    narrowing: dict[str, list[str]] = field(default_factory=dict)
    row_checks: list[Callable[[Row], bool]] = field(default_factory=list)


def _bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _unsupported(prop: str) -> GraphError:
    return _bad_request(
        f"Unsupported or invalid query filter clause specified for property '{prop}' of"
        " resource 'exchangeMessageTrace'."
    )


def _clauses(node: Node) -> list[Node]:
    if isinstance(node, Junction) and node.op == "and":
        return [clause for operand in node.operands for clause in _clauses(operand)]
    return [node]


def _time_bound(clause: Comparison, trace_filter: TraceFilter) -> None:
    if clause.op not in ("ge", "le") or clause.value.kind not in ("datetime", "string"):
        raise _unsupported(clause.prop)
    try:
        moment = parse(str(clause.value.value))
    except ValueError as exc:
        raise _bad_request(f"Invalid receivedDateTime value '{clause.value.value}'.") from exc
    if clause.op == "ge":
        trace_filter.start = moment
    else:
        trace_filter.end = moment


def _row_check(column: str, wanted: str) -> Callable[[Row], bool]:
    return lambda row: str(row[column]).casefold() == wanted.casefold()


def _subject_check(function: str, wanted: str) -> Callable[[Row], bool]:
    def check(row: Row) -> bool:
        subject, term = str(row["subject"]).casefold(), wanted.casefold()
        if function == "contains":
            return term in subject
        return subject.startswith(term) if function == "startswith" else subject.endswith(term)

    return check


def parse_trace_filter(text: str | None) -> TraceFilter:
    trace_filter = TraceFilter()
    if text is None:
        return trace_filter
    for clause in _clauses(parse_filter(text)):
        if isinstance(clause, Call) and clause.prop.lower() == "subject":
            if clause.name not in _SUBJECT_FUNCTIONS or clause.value.kind != "string":
                raise _unsupported(clause.prop)
            trace_filter.row_checks.append(_subject_check(clause.name, clause.value.value))
            continue
        if not isinstance(clause, Comparison):
            raise _bad_request("Only 'and' combinations of supported clauses are allowed.")
        prop = clause.prop.lower()
        if prop == "receiveddatetime":
            _time_bound(clause, trace_filter)
            continue
        if clause.op != "eq" or clause.value.kind != "string":
            raise _unsupported(clause.prop)
        value = str(clause.value.value)
        if prop in _QUERY_COLUMNS:
            trace_filter.narrowing.setdefault(_QUERY_COLUMNS[prop], []).append(value)
        elif prop in _ROW_COLUMNS:
            if prop == "status" and value.casefold() not in {s.casefold() for s in STATUSES}:
                raise _bad_request(f"The value '{value}' is not a valid status.")
            trace_filter.row_checks.append(_row_check(_ROW_COLUMNS[prop], value))
        else:
            raise _unsupported(clause.prop)
    return trace_filter


def _window(trace_filter: TraceFilter, now: datetime) -> tuple[datetime, datetime]:
    if trace_filter.start is None and trace_filter.end is None:
        return now - DEFAULT_WINDOW, now
    if trace_filter.start is None or trace_filter.end is None:
        raise _bad_request(
            "Both bounds of the time range are required: receivedDateTime ge {start} and"
            " receivedDateTime le {end}."
        )
    start, end = trace_filter.start, trace_filter.end
    if start > end:
        raise _bad_request("The start of the time range must be earlier than its end.")
    if end - start > tracequery.MAX_WINDOW:
        raise _bad_request("The time range must not exceed 10 days.")
    if start < now - tracequery.MAX_HISTORY:
        raise _bad_request("The start of the time range must not be more than 90 days ago.")
    if end > now:
        raise _bad_request("The end of the time range must not be later than the current time.")
    return start, end


def trace_view(row: Row) -> dict[str, Any]:
    status = str(row["status"])
    return {
        "id": row["message_trace_id"],
        "senderAddress": row["sender_address"],
        "recipientAddress": row["recipient_address"],
        "messageId": row["message_id"],
        "receivedDateTime": graph_datetime(parse(row["received"])),
        "subject": row["subject"],
        "size": row["size"],
        "fromIP": row["from_ip"],
        "toIP": row["to_ip"],
        "status": status[:1].lower() + status[1:],
    }


def _collect(
    ctx: GraphContext,
    trace_filter: TraceFilter,
    start: datetime,
    end: datetime,
    after: str | None,
    wanted: int,
) -> list[Row]:
    """Up to `wanted` matching rows, newest first, scanning on past rows the SQL cannot skip."""
    narrowing = trace_filter.narrowing
    if any(len({v.casefold() for v in values}) > 1 for values in narrowing.values()):
        return []  # `a eq x and a eq y` matches nothing
    chunk = wanted if not trace_filter.row_checks else max(wanted, 500)
    found: list[Row] = []
    while len(found) < wanted:
        rows = tracequery.query(
            ctx.sb,
            ctx.tenant_id,
            start=start,
            end=end,
            limit=chunk,
            starting_recipient=after,
            senders=narrowing.get("senders", ()),
            recipients=narrowing.get("recipients", ()),
            message_ids=narrowing.get("message_ids", ()),
        )
        found += [row for row in rows if all(check(row) for check in trace_filter.row_checks)]
        if len(rows) < chunk:
            break
        end, after = parse(rows[-1]["received"]), rows[-1]["recipient_address"]
    return found[:wanted]


async def list_message_traces(ctx: GraphContext) -> GraphResponse:
    request = ctx.request
    wait = tracequery.take_query_slot(ctx.sb, ctx.tenant_id)
    if wait is not None:
        raise Throttled(f"{wait:.3f}")
    for key, _ in request.query:
        if key.startswith("$") and key.lower() not in _ALLOWED_OPTIONS:
            raise _bad_request(f"The query option '{key}' is not supported by this request.")
    top = parse_top(request, default=1000, maximum=tracequery.MAX_ROWS)
    trace_filter = parse_trace_filter(request.option("$filter"))
    start, end = _window(trace_filter, ctx.sb.now())
    after: str | None = None
    token = request.option("$skiptoken")
    if token is not None:
        received, after = decode_skiptoken(token, 2)
        try:
            end = parse(str(received))
        except ValueError as exc:
            raise GraphError(
                400, "BadRequest", "The specified page token value is invalid."
            ) from exc
        after = str(after)
    rows = _collect(ctx, trace_filter, start, end, after, top + 1)
    page = rows[:top]
    body: dict[str, Any] = {"@odata.context": f"{METADATA}admin/exchange/tracing/messageTraces"}
    if len(rows) > top:
        last = page[-1]
        token = encode_skiptoken([last["received"], last["recipient_address"]])
        body["@odata.nextLink"] = next_link(request, token)
    body["value"] = [trace_view(row) for row in page]
    return GraphResponse(200, body)


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET", "/admin/exchange/tracing/messageTraces", list_message_traces, ROLES),
    ]
