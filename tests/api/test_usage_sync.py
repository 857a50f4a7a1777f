"""The usage sync end to end: Exchange's cap holds, the sync reports the block, midnight
releases it (issue 5, acceptance 1, on the in-process service)."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tenantcore.core.db import unit_of_work
from tenantcore.enforcement.schemas import EventPage
from tenantcore.mailboxes.models import MailboxUsageDay
from tenantcore.sandbox.server import SandboxServer
from tenantcore.tenants.models import Tenant
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    PASSWORD,
    calls,
    exchange_fails,
    faults,
    one,
    smtp_send,
    tenant_with_ready_mailboxes,
)

SALES = f"sales@{DOMAIN}"


async def test_cap_block_event_and_midnight_release(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(
        api, "sales"
    )  # the day's sends and sync well before midnight
    mailbox = await one(api, tenant_id, SALES)
    assert mailbox["status"] == "ready"
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 2, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    assert limits.json()["provisioning"]["outbound_spam_policies"][0]["senders"] == [SALES]

    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        ca = server.tls.ca_pem
        codes = [
            (await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD))[0]
            for _ in range(2)
        ]
        assert codes == [250, 250]
        # Exchange's own cap: the 3rd is refused, whatever the sync does.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert refused.value.smtp_code == 550
        sent_at = await api.sandbox_now()

        await api.advance_sandbox_clock(301)
        await api.worker.drain()
        usage = (
            await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox['id']}/usage")
        ).json()
        assert usage["sends_today"] == 2
        assert usage["is_blocked"] is True
        assert usage["blocked_at"] is not None
        page = (await api.http.get("/v1/enforcement/events")).json()
        # Serialized straight from rows: exactly what the documented model says, formats too.
        assert EventPage.model_validate(page).model_dump(mode="json") == page
        events = page["events"]
        assert [(e["action_taken"], e["sent_count"], e["limit_value"]) for e in events] == [
            ("blocked", 2, 2)
        ]
        assert events[0]["tenant_id"] == tenant_id
        assert events[0]["mailbox_address"] == SALES
        assert events[0]["created_at"].endswith("Z")
        # On the system's clock (the sandbox's, here, which the test moved ahead of the wall
        # clock), like blocked_at, and happened when recorded.
        assert events[0]["created_at"] == usage["blocked_at"]
        assert events[0]["occurred_at"] == events[0]["created_at"]

        now = await api.sandbox_now()
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        await api.advance_sandbox_clock((midnight - now).total_seconds() + 60)
        await api.worker.drain()
        usage = (
            await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox['id']}/usage")
        ).json()
        assert usage["sends_today"] == 0
        assert usage["is_blocked"] is False
        events = (await api.http.get("/v1/enforcement/events")).json()["events"]
        assert [e["action_taken"] for e in events] == ["unblocked", "blocked"]
        # Recorded by the first sync after midnight; it happened at midnight, when Exchange
        # lifted the block.
        assert datetime.fromisoformat(events[0]["occurred_at"]) == midnight
        assert datetime.fromisoformat(events[0]["created_at"]) > midnight
        # The finished day is kept before the counter resets.
        async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
            history = (
                await session.scalars(
                    select(MailboxUsageDay).where(MailboxUsageDay.mailbox_pk == mailbox["id"])
                )
            ).all()
        assert [(h.day, h.sends, h.limit_value) for h in history] == [
            (now.date().isoformat(), 2, 2)
        ]
        assert history[0].blocked_at is not None
        # Exchange also holds the hourly limits at the cap (no looser than the day's, as the wire
        # reference advises), over a rolling hour: a cap reached in the last hour before
        # midnight lasts until an hour after those sends.
        still_hourly = sent_at + timedelta(hours=1) - await api.sandbox_now()
        if still_hourly > timedelta():
            await api.advance_sandbox_clock(still_hourly.total_seconds() + 1)
        code, _ = await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert code == 250
    finally:
        await server.stop()


async def test_a_block_exchange_made_before_the_trace_shows_the_sends(api: Api) -> None:
    """Exchange blocks as the sends happen; trace shows them minutes later (wire reference
    4.8). The sync reports the block at once and says why the count is short."""
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 2, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    await api.sandbox_config(trace_delay_min_seconds=420, trace_delay_max_seconds=420)
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        for _ in range(2):
            await asyncio.to_thread(
                smtp_send, addresses.smtp_port, server.tls.ca_pem, SALES, PASSWORD
            )
        with pytest.raises(smtplib.SMTPSenderRefused):
            await asyncio.to_thread(
                smtp_send, addresses.smtp_port, server.tls.ca_pem, SALES, PASSWORD
            )
    finally:
        await server.stop()

    await api.advance_sandbox_clock(301)  # the next sync, before the trace shows the sends
    await api.worker.drain()
    usage_path = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage"
    usage = (await api.http.get(usage_path)).json()
    assert (usage["is_blocked"], usage["sends_today"]) == (True, 0)
    events = (await api.http.get("/v1/enforcement/events")).json()["events"]
    assert [(e["action_taken"], e["sent_count"], e["limit_value"]) for e in events] == [
        ("blocked", 0, 2)
    ]
    assert "Exchange restricted the mailbox" in events[0]["message"]
    assert "shows 0 so far" in events[0]["message"]

    await api.advance_sandbox_clock(301)  # the trace has caught up
    await api.worker.drain()
    usage = (await api.http.get(usage_path)).json()
    assert (usage["is_blocked"], usage["sends_today"]) == (True, 2)
    assert len((await api.http.get("/v1/enforcement/events")).json()["events"]) == 1


async def test_the_next_sync_is_never_later_than_utc_midnight(api: Api) -> None:
    """Blocks are released at the day boundary, not up to a sync interval after it."""
    tenant_id = await tenant_with_ready_mailboxes(
        api, "sales"
    )  # far from midnight, whenever the test runs
    assert (await one(api, tenant_id, SALES))["status"] == "ready"

    now = await api.sandbox_now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    # Two minutes before midnight, with syncs every five minutes.
    assert api.context.settings.usage_sync_seconds == 300
    await api.advance_sandbox_clock((midnight - timedelta(minutes=2) - now).total_seconds())
    await api.worker.drain()
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.tenant_id == tenant_id))
    assert tenant is not None
    assert tenant.last_sync_at is not None
    assert tenant.last_sync_at >= midnight - timedelta(minutes=2)
    assert tenant.next_sync_at == midnight


async def test_a_failed_exchange_read_retries_soon_and_keeps_the_trace_spend(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")  # one trace window, one UTC day
    before = await _tenant_row(api, tenant_id)
    assert before.last_sync_at is not None

    # The trace answers; the restricted-senders read fails for good.
    await exchange_fails(api, "Get-BlockedSenderAddress")
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    failed = await _tenant_row(api, tenant_id)
    now = await api.sandbox_now()
    assert failed.last_sync_at == before.last_sync_at, "nothing recorded from a half-read"
    assert failed.next_sync_at is not None
    assert now < failed.next_sync_at <= now + timedelta(seconds=60)
    # The trace query it made is counted against Microsoft's limit all the same.
    assert failed.trace_window_started_at is not None
    assert failed.trace_window_started_at > before.last_sync_at
    assert failed.trace_queries_in_window == 1

    await faults(api)
    await api.advance_sandbox_clock(61)
    await api.worker.drain()
    recovered = await _tenant_row(api, tenant_id)
    assert recovered.last_sync_at is not None
    assert recovered.last_sync_at > before.last_sync_at
    assert recovered.trace_queries_in_window == 2


async def _tenant_row(api: Api, tenant_id: str) -> Tenant:
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.tenant_id == tenant_id))
    assert tenant is not None
    return tenant


async def test_a_failed_trace_charges_every_request_it_sent(api: Api) -> None:
    """Microsoft counts each request, retries included, against its 100 trace queries per 5
    minutes (wire reference 4.8); so does the budget, even when the trace fails."""
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    trace = "exchange:Get-MessageTraceV2"
    sent_before = (await calls(api)).get(trace, 0)
    await exchange_fails(api, "Get-MessageTraceV2")
    await api.advance_sandbox_clock(301)  # a sync falls due, in a fresh 5-minute window
    await api.worker.drain()
    sent = (await calls(api))[trace] - sent_before
    assert sent > 1, "the connector retried"
    failed = await _tenant_row(api, tenant_id)
    assert failed.trace_queries_in_window == sent
