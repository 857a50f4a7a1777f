"""Settling a finished UTC day: count it again from message trace once the trace has caught up.

The day boundary closes each mailbox's day with the count of the day's last sync, which can
miss the last minutes: sends after that sync, and message trace runs 5-10 minutes behind
(wire reference 4.8). So the boundary marks the day unsettled on the tenant, and the first sync
`usage_settle_seconds` after midnight makes one more trace query, for the whole finished day,
and corrects what was kept: each mailbox's `sends`, and a cap reached after the last sync,
which Exchange held but TenantCore never saw. That one gets its `blocked` and `unblocked`
events now, recorded now (`created_at`) with the times they happened (`occurred_at`: when the
cap was reached, and 00:00 UTC when the block lifted), so a poller reading events newest first
sees them as new instead of finding them back-dated behind events it has already read.

Days no sync saw at all (the workers were down over midnight and longer) are kept as unsettled
rows with no sends when the next sync closes the day before them (`usage/sync.py`), and settled
in turn, oldest first, one per sync: their sends, caps reached and blocks come from the trace
like any other finished day's, so an outage leaves no hole in the history.

It costs one trace query per tenant per day (more if Microsoft pages it), inside the same
budget as the sync's own queries; a settlement the budget or Microsoft refuses waits for the
next sync. A day older than Microsoft's 90 days of trace is settled as it was kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.base import new_id
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.enforcement.models import EnforcementAction, EnforcementEvent
from tenantcore.microsoft.errors import MicrosoftError
from tenantcore.microsoft.exchange.trace import TraceBudgetExhausted
from tenantcore.microsoft.models import MessageTraceRow
from tenantcore.tenants.models import Tenant
from tenantcore.usage import repository
from tenantcore.usage.budget import TraceBudget
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

# Trace statuses that mean the message left (or is leaving) the mailbox.
SENT_STATUSES = frozenset({"delivered", "pending", "expanded", "gettingstatus"})
# Get-MessageTraceV2 searches the last 90 days (wire reference 4.8).
TRACE_HISTORY = timedelta(days=90)
RELEASED_MESSAGE = "Daily limit window reset at 00:00 UTC; sending resumed."


def sent_times(rows: Iterable[MessageTraceRow]) -> dict[str, list[datetime]]:
    """Each sender's (lowercase) sent recipients' times, oldest first: one per recipient, the
    unit Exchange's cap counts."""
    times: dict[str, list[datetime]] = defaultdict(list)
    for row in rows:
        if row.status.lower() in SENT_STATUSES:
            times[row.sender_address.lower()].append(row.received)
    for sender_times in times.values():
        sender_times.sort()
    return times


def day_bounds(day: str) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def enforcement_event(
    tenant_pk: str,
    mailbox_pk: str,
    address: str,
    action: str,
    sent: int,
    cap: int | None,
    message: str,
    *,
    recorded_at: datetime,
    occurred_at: datetime | None = None,
) -> EnforcementEvent:
    return EnforcementEvent(
        # Set now, not at flush: the webhook sent for the event carries it.
        id=new_id(),
        tenant_pk=tenant_pk,
        mailbox_pk=mailbox_pk,
        mailbox_address=address,
        action=action,
        sent_count=sent,
        limit_value=cap,
        message=message,
        created_at=recorded_at,
        occurred_at=recorded_at if occurred_at is None else occurred_at,
    )


@dataclass
class Settlement:
    """A finished day counted again: each sender's sent times that day (empty when the day is
    settled as it was kept)."""

    day: str
    times: dict[str, list[datetime]]
    counted: bool


async def read_settlement(
    context: AppContext, tenant: Tenant, now: datetime, budget: TraceBudget
) -> Settlement | None:
    """The tenant's unsettled day counted again from message trace, if it is time to; None
    when it is not (yet) or the trace could not be read (the next sync tries again)."""
    day = tenant.usage_unsettled_day
    if day is None:
        return None
    start, end = day_bounds(day)
    if now < end + timedelta(seconds=context.settings.usage_settle_seconds):
        return None
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        senders = [address for _, address in await repository.kept_day(session, tenant.id, day)]
    if not senders or now - start > TRACE_HISTORY:
        return Settlement(day, {}, counted=False)
    if budget.left <= 0:
        return None
    try:
        rows, _ = await context.connector.exchange.message_trace(
            tenant.tenant_id,
            start=start,
            # The next day's first instant belongs to the next day's count.
            end=end - timedelta(microseconds=1),
            senders=senders,
            max_queries=budget.left,
            on_request=budget.charge,
        )
    except TraceBudgetExhausted:
        log.warning("finished day's trace too long for the budget", tenant_id=tenant.tenant_id)
        return None
    except MicrosoftError as exc:
        log.warning("settling the finished day failed", tenant_id=tenant.tenant_id, error=str(exc))
        return None
    return Settlement(day, sent_times(rows), counted=True)


async def record_events(
    session: AsyncSession, outbox: Outbox, tenant: Tenant, *events: EnforcementEvent
) -> None:
    """Add the events, and queue them for the account's webhooks in the same transaction."""
    session.add_all(events)
    for event in events:
        await webhook_events.enforcement_event(outbox, event, tenant.tenant_id)


async def record_settlement(
    session: AsyncSession, outbox: Outbox, tenant: Tenant, settlement: Settlement, now: datetime
) -> None:
    """Correct the kept day from the settlement and record the caps reached after its last
    sync; the day is then settled."""
    if tenant.usage_unsettled_day == settlement.day:
        # Days left unsettled after this one (no sync saw them) are settled next, one a sync.
        tenant.usage_unsettled_day = await repository.next_unsettled_day(
            session, tenant.id, settlement.day
        )
    if not settlement.counted:
        return
    _, midnight = day_bounds(settlement.day)
    for kept, address in await repository.kept_day(session, tenant.id, settlement.day):
        times = settlement.times.get(address.lower(), [])
        kept.sends = len(times)
        kept.settled_at = now
        cap = kept.limit_value
        if kept.blocked_at is not None or cap is None or len(times) < cap:
            continue
        kept.blocked_at = times[cap - 1]
        await record_events(
            session,
            outbox,
            tenant,
            enforcement_event(
                tenant.id,
                kept.mailbox_pk,
                address,
                EnforcementAction.BLOCKED,
                len(times),
                cap,
                f"Daily send limit of {cap} reached at {kept.blocked_at:%H:%M} UTC on "
                f"{settlement.day}, after that day's last usage sync; Exchange held the cap "
                "until 00:00 UTC.",
                recorded_at=now,
                occurred_at=kept.blocked_at,
            ),
            enforcement_event(
                tenant.id,
                kept.mailbox_pk,
                address,
                EnforcementAction.UNBLOCKED,
                len(times),
                None,
                RELEASED_MESSAGE,
                recorded_at=now,
                occurred_at=midnight,
            ),
        )
