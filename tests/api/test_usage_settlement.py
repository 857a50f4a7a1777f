"""Settling a finished day: sends after the day's last usage sync, and a cap reached then, are
found once message trace has caught up after midnight, and recorded with when they happened."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime, timedelta
from typing import Any

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
    provision,
    smtp_send,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

SALES = f"sales@{DOMAIN}"
OPS = f"ops@{DOMAIN}"
TRACE = "exchange:Get-MessageTraceV2"


async def test_sends_after_the_last_sync_are_settled_after_midnight(api: Api) -> None:
    settle_seconds = api.context.settings.usage_settle_seconds
    assert settle_seconds == 900
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    ids = {address: (await one(api, tenant_id, address))["id"] for address in (SALES, OPS)}
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 3, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    # Microsoft's trace is 5-10 minutes behind (wire reference 4.8): seven here.
    await api.sandbox_config(trace_delay_min_seconds=420, trace_delay_max_seconds=420)

    # The day's last sync runs at 23:56; every send below comes after it.
    await api.move_sandbox_clock_to_hour(23)
    await api.worker.drain()
    await api.advance_sandbox_clock(56 * 60)
    await api.worker.drain()
    day = (await api.sandbox_now()).date().isoformat()
    midnight = datetime.fromisoformat(day).replace(tzinfo=(await api.sandbox_now()).tzinfo)
    midnight += timedelta(days=1)
    assert (await _tenant(api, tenant_id)).next_sync_at == midnight

    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        ca = server.tls.ca_pem
        for address, count in ((SALES, 3), (OPS, 2)):
            for _ in range(count):
                code, _ = await asyncio.to_thread(
                    smtp_send, addresses.smtp_port, ca, address, PASSWORD
                )
                assert code == 250
        cap_reached_by = await api.sandbox_now()
        # Exchange holds the cap on its own.
        with pytest.raises(smtplib.SMTPSenderRefused):
            await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
    finally:
        await server.stop()

    # Midnight: the day closes with what its last sync saw, and is marked for settling.
    await api.advance_sandbox_clock((midnight - await api.sandbox_now()).total_seconds() + 30)
    await api.worker.drain()
    assert await _history(api, ids) == {SALES: (day, 0, False), OPS: (day, 0, False)}
    assert (await _tenant(api, tenant_id)).usage_unsettled_day == day
    assert await _events(api) == []

    # Ten minutes after midnight the trace may still be behind: not yet.
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert (await _tenant(api, tenant_id)).usage_unsettled_day == day
    traces_before = (await calls(api)).get(TRACE, 0)

    # Fifteen minutes after: one more trace query, for the whole finished day.
    await api.advance_sandbox_clock(settle_seconds - 600 + 1)
    settling_from = await api.sandbox_now()
    await api.worker.drain()
    settled_by = await api.sandbox_now()
    assert (await calls(api))[TRACE] - traces_before == 2, "today's query and the day's"
    assert (await _tenant(api, tenant_id)).usage_unsettled_day is None
    assert await _history(api, ids) == {SALES: (day, 3, True), OPS: (day, 2, False)}

    events = await _events(api)
    assert [(e["action_taken"], e["mailbox_address"], e["sent_count"]) for e in events] == [
        ("unblocked", SALES, 3),
        ("blocked", SALES, 3),
    ]
    unblocked, blocked = events
    assert blocked["limit_value"] == 3
    assert "after that day's last usage sync" in blocked["message"]
    # Recorded now, so pollers that read by created_at see them; dated when they happened.
    assert unblocked["created_at"] == blocked["created_at"]
    assert settling_from <= datetime.fromisoformat(blocked["created_at"]) <= settled_by
    cap_reached = datetime.fromisoformat(blocked["occurred_at"])
    assert midnight - timedelta(minutes=4) < cap_reached <= cap_reached_by
    assert datetime.fromisoformat(unblocked["occurred_at"]) == midnight
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        kept = await session.get(MailboxUsageDay, (ids[SALES], day))
    assert kept is not None
    assert kept.blocked_at == cap_reached

    # Today is untouched, and a settled day is settled once.
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{ids[SALES]}/usage")).json()
    assert (usage["sends_today"], usage["is_blocked"]) == (0, False)
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    assert (await calls(api))[TRACE] - traces_before == 3
    assert len(await _events(api)) == 2


async def test_an_unsettled_day_waits_for_the_trace_and_then_settles(api: Api) -> None:
    """A settlement Microsoft refuses is tried again at the next sync, not lost."""
    await api.move_sandbox_clock_to_hour(23)
    tenant_id = await tenant_with_domain(api)
    assert (await provision(api, tenant_id, "sales")).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    day = (await api.sandbox_now()).date().isoformat()
    await api.move_sandbox_clock_to_hour(0)
    await api.worker.drain()
    assert (await _tenant(api, tenant_id)).usage_unsettled_day == day

    # Every trace query fails: neither today's sync nor the settlement happens.
    await exchange_fails(api, "Get-MessageTraceV2")
    await api.advance_sandbox_clock(api.context.settings.usage_settle_seconds + 1)
    await api.worker.drain()
    assert (await _tenant(api, tenant_id)).usage_unsettled_day == day

    await faults(api)
    await api.advance_sandbox_clock(61)
    await api.worker.drain()
    assert (await _tenant(api, tenant_id)).usage_unsettled_day is None
    assert await _history(api, {SALES: mailbox_id}) == {SALES: (day, 0, False)}


async def _tenant(api: Api, tenant_id: str) -> Tenant:
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.tenant_id == tenant_id))
    assert tenant is not None
    return tenant


async def _history(api: Api, ids: dict[str, str]) -> dict[str, tuple[str, int, bool]]:
    """Each mailbox's kept days: (day, sends, blocked that day)."""
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        kept = (await session.scalars(select(MailboxUsageDay))).all()
    by_pk = {pk: address for address, pk in ids.items()}
    return {
        by_pk[row.mailbox_pk]: (row.day, row.sends, row.blocked_at is not None)
        for row in kept
        if row.mailbox_pk in by_pk
    }


async def _events(api: Api) -> list[dict[str, Any]]:
    page = (await api.http.get("/v1/enforcement/events")).json()
    assert EventPage.model_validate(page).model_dump(mode="json") == page
    events: list[dict[str, Any]] = page["events"]
    return events
