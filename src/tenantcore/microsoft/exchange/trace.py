"""Get-MessageTraceV2 with its continuation (wire reference 4.8).

The cmdlet has no paging: a result holding `page_size` rows is continued by asking again with
EndDate = the last row's Received and StartingRecipientAddress = its recipient.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import MessageTraceRow

MAX_PAGE_SIZE = 5000


class TraceBudgetExhausted(Exception):
    """The trace needs more queries than the caller allowed; `queries` were spent."""

    def __init__(self, queries: int) -> None:
        super().__init__(f"message trace needs more than {queries} queries")
        self.queries = queries


def _wire_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TraceOps(ExchangeTransport):
    async def message_trace(
        self,
        tenant_id: str,
        *,
        start: datetime,
        end: datetime,
        senders: list[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_queries: int | None = None,
        on_request: Callable[[], None] | None = None,
    ) -> tuple[list[MessageTraceRow], int]:
        """All trace rows in [start, end], and how many queries it took. With `max_queries`,
        a trace needing more raises `TraceBudgetExhausted` instead of asking again.
        `on_request` is told of every request sent, retries included, as they happen, so a
        caller keeping Microsoft's trace budget counts what a failed trace spent too."""
        rows: list[MessageTraceRow] = []
        queries = 0
        window_end = end
        starting_recipient: str | None = None
        while True:
            parameters: dict[str, object] = {
                "StartDate": _wire_time(start),
                "EndDate": _wire_time(window_end),
                "ResultSize": page_size,
            }
            if senders:
                parameters["SenderAddress"] = senders
            if starting_recipient is not None:
                parameters["StartingRecipientAddress"] = starting_recipient
            result = await self.invoke(
                tenant_id, "Get-MessageTraceV2", parameters, on_request=on_request
            )
            queries += 1
            page = [MessageTraceRow.model_validate(row) for row in result.rows]
            rows.extend(page)
            if len(page) < page_size:
                return rows, queries
            if max_queries is not None and queries >= max_queries:
                raise TraceBudgetExhausted(queries)
            last = page[-1]
            window_end = last.received
            starting_recipient = last.recipient_address
