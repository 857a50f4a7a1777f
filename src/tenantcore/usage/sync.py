"""Usage sync (DESIGN.md section 4, "Usage and blocking").

Per tenant, every `usage_sync_seconds` and at every UTC midnight: ONE message-trace query for
the current UTC day (named senders: the tenant's mailboxes; continued as Microsoft pages it) and
one read of restricted senders, at once — so Microsoft calls grow with tenants and trace pages,
never with mailboxes. Then:
- `sends_today` = today's traced recipients per mailbox (the unit Exchange's cap counts);
- an enforced mailbox that Exchange restricted, or whose count reached its effective cap, is put
  in its scope's blocking group (the switch), gets `blocked_at`, and one `blocked` event;
- at the UTC day boundary the day's numbers go to `mailbox_usage_day`, the counter resets, and a
  blocked mailbox is released (out of the group, any permanent restriction removed) with one
  `unblocked` event; the finished day is counted again once the trace has caught up
  (`usage/settle.py`), which records what its last sync missed; and when a ramp moves some
  mailbox's cap with the new day, the tenant's enforcement is marked for provisioning again,
  so Exchange holds the day's caps within a worker sweep of midnight.
Message-trace queries are budgeted per tenant (`usage/budget.py`) to stay inside Microsoft's 100
per 5 minutes; a sync that would overspend waits for the next window. Exchange calls run outside
database transactions; the results are written in one unit of work.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.enforcement import exchange_sync
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.enforcement.caps import mailbox_cap
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE, EnforcementAction
from tenantcore.mailboxes.models import MailboxUsageDay
from tenantcore.microsoft.errors import MicrosoftError, NotFound
from tenantcore.microsoft.exchange.trace import TraceBudgetExhausted
from tenantcore.microsoft.models import MessageTraceRow
from tenantcore.tenants.models import Tenant
from tenantcore.usage import repository
from tenantcore.usage.budget import TraceBudget
from tenantcore.usage.repository import SyncedMailbox
from tenantcore.usage.settle import (
    RELEASED_MESSAGE,
    SENT_STATUSES,
    TRACE_HISTORY,
    Settlement,
    day_bounds,
    enforcement_event,
    read_settlement,
    record_events,
    record_settlement,
)
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

RETRY_AFTER_FAILURE = timedelta(seconds=60)


@dataclass
class _Plan:
    """What one sync decided for a tenant, applied to Exchange and then to the rows."""

    sends: dict[str, int] = field(default_factory=dict)
    block: dict[str, tuple[int, int]] = field(default_factory=dict)  # address → (sent, cap)
    # address → (sends that day, the midnight Exchange lifted the block)
    release: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    rollover: set[str] = field(default_factory=set)
    closed_day: str | None = None  # the oldest finished day the rollover closes
    caps: dict[str, int | None] = field(default_factory=dict)
    # address → the caps that applied on the days the rollover closes (its last synced day and
    # any later one no sync saw), by day: a ramp gives each day its own
    closed_caps: dict[str, dict[str, int | None]] = field(default_factory=dict)
    # A ramp moved some mailbox's cap with the new day: Exchange must follow.
    caps_moved: bool = False
    # A blocking group change failed: enforcement provisioning puts the groups right.
    switch_failed: bool = False


def utc_midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def sync_due_tenants(context: AppContext, limit: int = 20) -> int:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await repository.tenants_due(session, context.now(), limit)
    for tenant_pk in due:
        await sync_tenant(context, tenant_pk)
    return len(due)


async def sync_tenant(context: AppContext, tenant_pk: str) -> None:
    now = context.now()
    today = now.date().isoformat()
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await session.get(Tenant, tenant_pk)
        if tenant is None:
            return
        mailboxes = await repository.synced_mailboxes(session, tenant_pk)
        policies = await enforcement_repository.policies_of(session, tenant_pk)
    limits = enforcement_repository.ceilings(policies)
    exchange = context.connector.exchange
    # A sync runs at every UTC midnight too: Exchange lifts the day's blocks then, and the
    # API should say so then, not up to an interval later.
    next_sync = min(
        now + timedelta(seconds=context.settings.usage_sync_seconds),
        utc_midnight(now) + timedelta(days=1),
    )
    budget = TraceBudget.of(tenant, now)
    if mailboxes and budget.left <= 0:
        log.info("message-trace budget spent; usage sync waits", tenant_id=tenant.tenant_id)
        await _reschedule(context, tenant_pk, budget.renews_at)
        return
    senders = [mailbox.primary_smtp for mailbox in mailboxes]
    read = await _read_exchange(context, tenant, senders, now, budget)
    if read is None:
        return
    rows, restricted = read
    traced = Counter(
        row.sender_address.lower() for row in rows if row.status.lower() in SENT_STATUSES
    )
    plan = _Plan()
    for mailbox in mailboxes:
        domain = mailbox.domain_name
        address = mailbox.primary_smtp.lower()
        plan.sends[address] = traced.get(address, 0)
        blocked_at = mailbox.blocked_at
        cap = mailbox_cap(mailbox.daily_send_limit, domain, mailbox.ready_at, limits, now.date())
        plan.caps[address] = cap
        if mailbox.usage_day is not None and mailbox.usage_day != today:
            plan.rollover.add(address)
            plan.closed_day = min(plan.closed_day or mailbox.usage_day, mailbox.usage_day)
            closed_caps = {
                day: mailbox_cap(
                    mailbox.daily_send_limit,
                    domain,
                    mailbox.ready_at,
                    limits,
                    date.fromisoformat(day),
                )
                for day in (mailbox.usage_day, *missed_days(mailbox.usage_day, now))
            }
            plan.closed_caps[address] = closed_caps
            plan.caps_moved = plan.caps_moved or closed_caps[mailbox.usage_day] != cap
            if blocked_at is not None:
                plan.release[address] = (mailbox.sends_today, day_bounds(mailbox.usage_day)[1])
                blocked_at = None
        elif mailbox.usage_day is None and mailbox.ready_at is not None:
            # Never synced yet: it turned ready on an earlier day (just before midnight, or
            # while the workers were down), and Exchange got that day's cap.
            ready_day = mailbox.ready_at.date()
            if ready_day < now.date():
                ready_cap = mailbox_cap(
                    mailbox.daily_send_limit, domain, mailbox.ready_at, limits, ready_day
                )
                plan.caps_moved = plan.caps_moved or ready_cap != cap
        if (
            cap is not None
            and blocked_at is None
            and (address in restricted or plan.sends[address] >= cap)
        ):
            plan.block[address] = (plan.sends[address], cap)
    domains = {mailbox.primary_smtp.lower(): mailbox.domain_name for mailbox in mailboxes}
    initial = tenant.tenant_domain or ""
    for address in plan.release:
        # Its block may be in the group of the scope it had when blocked: a domain policy
        # saved or removed since moved it between its domain's scope and the tenant-wide one.
        for scope_key in (domains[address], TENANT_WIDE_SCOPE):
            if scope_key in limits:
                switch = exchange_sync.switch_for(scope_key, initial)
                removed = exchange.remove_group_member(tenant.tenant_id, switch.group_name, address)
                plan.switch_failed |= not await _quietly(removed)
        if address in restricted:
            await _quietly(exchange.remove_blocked_sender(tenant.tenant_id, address))
    for address in plan.block:
        scope_key = domains[address] if domains[address] in limits else TENANT_WIDE_SCOPE
        switch = exchange_sync.switch_for(scope_key, initial)
        added = exchange.add_group_member(tenant.tenant_id, switch.group_name, address)
        plan.switch_failed |= not await _quietly(added)
    settlement = await read_settlement(context, tenant, now, budget)
    await _record(context, tenant_pk, plan, settlement, now, today, next_sync, budget)


async def _read_exchange(
    context: AppContext,
    tenant: Tenant,
    senders: list[str],
    now: datetime,
    budget: TraceBudget,
) -> tuple[list[MessageTraceRow], set[str]] | None:
    """Today's trace rows of `senders` and the restricted senders, both read at once (a
    tenant's Exchange takes 3 concurrent calls, so a sync waits for one round trip, not two).
    Every trace request sent, retries and a failed trace's included, is charged to the budget
    as it goes. None: the
    sync cannot go on and is rescheduled."""
    exchange = context.connector.exchange
    trace = (
        exchange.message_trace(
            tenant.tenant_id,
            start=utc_midnight(now),
            end=now,
            senders=senders,
            max_queries=budget.left,
            on_request=budget.charge,
        )
        if senders
        else _no_trace()
    )
    traced, blocked = await asyncio.gather(
        trace, exchange.list_blocked_senders(tenant.tenant_id), return_exceptions=True
    )
    if isinstance(traced, TraceBudgetExhausted):
        log.warning("message trace too long for the budget", tenant_id=tenant.tenant_id)
        await _reschedule(context, tenant.id, budget.renews_at, budget)
        return None
    failure = traced if isinstance(traced, BaseException) else blocked
    if isinstance(failure, MicrosoftError):
        log.warning("usage sync failed", tenant_id=tenant.tenant_id, error=str(failure))
        await _reschedule(context, tenant.id, now + RETRY_AFTER_FAILURE, budget)
        return None
    if isinstance(traced, BaseException):
        raise traced
    if isinstance(blocked, BaseException):
        raise blocked
    return traced[0], {b.sender_address.lower() for b in blocked}


async def _no_trace() -> tuple[list[MessageTraceRow], int]:
    return [], 0


async def _quietly(call: Awaitable[object]) -> bool:
    """A switch change, best effort: Exchange's own cap already holds. False when it failed
    (logged); the sync then has enforcement provisioned again, which puts the blocking groups
    right (enforcement/exchange_sync.py), so a missed release does not outlast the failure."""
    try:
        await call
    except NotFound:
        log.warning("blocking group missing; enforcement needs re-provisioning")
        return False
    except MicrosoftError as exc:
        log.warning("blocking switch change failed", error=str(exc))
        return False
    return True


async def _reschedule(
    context: AppContext, tenant_pk: str, when: datetime, budget: TraceBudget | None = None
) -> None:
    async with unit_of_work(context.sessionmaker) as session:
        tenant = await session.get(Tenant, tenant_pk)
        if tenant is not None:
            tenant.next_sync_at = when
            if budget is not None:
                budget.keep_on(tenant)


async def _record(
    context: AppContext,
    tenant_pk: str,
    plan: _Plan,
    settlement: Settlement | None,
    now: datetime,
    today: str,
    next_sync: datetime,
    budget: TraceBudget,
) -> None:
    async with unit_of_work(context.sessionmaker) as session:
        tenant = await session.get(Tenant, tenant_pk)
        if tenant is None:
            return
        tenant.last_sync_at = now
        tenant.next_sync_at = next_sync
        budget.keep_on(tenant)
        outbox = Outbox(session, tenant.account_id)
        if settlement is not None:
            await record_settlement(session, outbox, tenant, settlement, now)
        if plan.closed_day is not None:
            # The oldest unsettled day; the later ones follow it (usage/settle.py).
            pending = tenant.usage_unsettled_day
            if pending is None or plan.closed_day < pending:
                tenant.usage_unsettled_day = plan.closed_day
        if plan.caps_moved or plan.switch_failed:
            await enforcement_repository.mark_pending(session, tenant_pk)
        # Read again inside this transaction: what another sync or a restart left is what
        # the events and the blocks are decided against.
        updates: list[dict[str, object]] = []
        for mailbox in await repository.synced_mailboxes(session, tenant_pk):
            address = mailbox.primary_smtp.lower()
            if address not in plan.sends:
                continue  # became ready after the trace query: next cycle
            blocked_at = mailbox.blocked_at
            if address in plan.rollover:
                _close_day(session, mailbox, plan.closed_caps.get(address, {}), now)
            if address in plan.release:
                sent_that_day, lifted_at = plan.release[address]
                await record_events(
                    session,
                    outbox,
                    tenant,
                    enforcement_event(
                        tenant_pk,
                        mailbox.id,
                        mailbox.primary_smtp,
                        EnforcementAction.UNBLOCKED,
                        sent_that_day,
                        None,
                        RELEASED_MESSAGE,
                        recorded_at=now,
                        occurred_at=lifted_at,
                    ),
                )
                blocked_at = None
            if address in plan.block and blocked_at is None:
                sent, cap = plan.block[address]
                blocked_at = now
                await record_events(
                    session,
                    outbox,
                    tenant,
                    enforcement_event(
                        tenant_pk,
                        mailbox.id,
                        mailbox.primary_smtp,
                        EnforcementAction.BLOCKED,
                        sent,
                        cap,
                        _blocked_message(sent, cap),
                        recorded_at=now,
                    ),
                )
            updates.append(
                {
                    "mailbox_pk": mailbox.id,
                    "sends_today": plan.sends[address],
                    "usage_day": today,
                    "usage_synced_at": now,
                    "blocked_at": blocked_at,
                }
            )
        await repository.record_usage(session, updates)


def _close_day(
    session: AsyncSession, mailbox: SyncedMailbox, caps: dict[str, int | None], now: datetime
) -> None:
    """Keep the finished day's numbers before the counter resets, and a row for each later
    day that no sync saw (the workers were down), to be counted when it is settled; each with
    the cap of its day (`caps`)."""
    assert mailbox.usage_day is not None
    session.add(
        MailboxUsageDay(
            mailbox_pk=mailbox.id,
            day=mailbox.usage_day,
            sends=mailbox.sends_today,
            blocked_at=mailbox.blocked_at,
            limit_value=caps.get(mailbox.usage_day),
        )
    )
    for day in missed_days(mailbox.usage_day, now):
        session.add(
            MailboxUsageDay(mailbox_pk=mailbox.id, day=day, sends=0, limit_value=caps.get(day))
        )


def missed_days(last_synced_day: str, now: datetime) -> list[str]:
    """The days after `last_synced_day` and before today that message trace still covers."""
    first = datetime.fromisoformat(last_synced_day).date() + timedelta(days=1)
    first = max(first, (now - TRACE_HISTORY).date() + timedelta(days=1))
    return [
        (first + timedelta(days=offset)).isoformat() for offset in range((now.date() - first).days)
    ]


def _blocked_message(sent: int, cap: int) -> str:
    if sent >= cap:
        return f"Daily send limit of {cap} reached; blocked until 00:00 UTC."
    # Exchange blocks at the cap as the sends happen; message trace shows them 5-10 minutes
    # later (wire reference 4.8), so a block is often seen before the sends that caused it.
    return (
        f"Exchange restricted the mailbox from sending (daily send limit {cap}); message "
        f"trace, which runs minutes behind, shows {sent} so far. Blocked until 00:00 UTC."
    )
