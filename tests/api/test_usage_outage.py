"""An outage of the background workers over several midnights leaves no hole in usage history:
the days no sync saw are kept when the workers come back and counted from message trace in
turn, with the caps Exchange held on them reported as blocks that happened then."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime, timedelta
from typing import Any

import pytest

from tenantcore.sandbox.server import SandboxServer
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    PASSWORD,
    SALES,
    calls,
    one,
    smtp_send,
    tenant_with_ready_mailboxes,
)

TRACE = "exchange:Get-MessageTraceV2"


async def _send(api: Api, server: SandboxServer, port: int, address: str, count: int) -> None:
    for _ in range(count):
        code, _ = await asyncio.to_thread(smtp_send, port, server.tls.ca_pem, address, PASSWORD)
        assert code == 250


async def _to_next_day(api: Api, hour: int) -> None:
    """Move the sandbox clock to `hour`:00 UTC of the next day, running no background work."""
    now = await api.sandbox_now()
    target = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    await api.advance_sandbox_clock((target + timedelta(hours=hour) - now).total_seconds())


async def _days(api: Api, tenant_id: str, mailbox_id: str) -> list[tuple[str, int, str]]:
    response = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage/history")
    assert response.status_code == 200, response.text
    return [(d["day"], d["sends"], d["state"]) for d in response.json()["days"]]


async def _history(api: Api, tenant_id: str, ids: dict[str, str]) -> dict[str, Any]:
    return {address: await _days(api, tenant_id, pk) for address, pk in ids.items()}


async def test_days_no_sync_saw_are_filled_in_from_message_trace(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    ids = {address: (await one(api, tenant_id, address))["id"] for address in (SALES, OPS)}
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 3, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    port = (await server.start()).smtp_port
    try:
        day0 = (await api.sandbox_now()).date()
        await _send(api, server, port, SALES, 1)
        await api.advance_sandbox_clock(301)
        await api.worker.drain()  # the last sync before the outage

        # The workers are down for two whole days; Exchange goes on counting and capping.
        await _to_next_day(api, 9)
        await _send(api, server, port, SALES, 3)
        cap_reached_by = await api.sandbox_now()
        with pytest.raises(smtplib.SMTPSenderRefused):
            await _send(api, server, port, SALES, 1)
        await _send(api, server, port, OPS, 2)
        await _to_next_day(api, 9)
        await _send(api, server, port, OPS, 1)
        await _to_next_day(api, 1)
    finally:
        await server.stop()
    day1, day2 = (day0 + timedelta(days=n) for n in (1, 2))

    # Back: the first sync closes the last day it saw and keeps the two it missed, not yet
    # counted ("closed", no sends), instead of leaving them out.
    await api.worker.drain()
    history = await _history(api, tenant_id, ids)
    assert history[SALES] == [
        (day0.isoformat(), 1, "closed"),
        (day1.isoformat(), 0, "closed"),
        (day2.isoformat(), 0, "closed"),
        ((await api.sandbox_now()).date().isoformat(), 0, "open"),
    ]
    assert [(d, s) for d, s, _ in history[OPS][:3]] == [
        (day0.isoformat(), 0),
        (day1.isoformat(), 0),
        (day2.isoformat(), 0),
    ]

    # Each later sync settles one day from the trace, oldest first: one query each.
    traces = (await calls(api)).get(TRACE, 0)
    for _ in range(3):
        await api.advance_sandbox_clock(api.context.settings.usage_sync_seconds + 1)
        await api.worker.drain()
    assert (await calls(api)).get(TRACE, 0) - traces == 3 + 3  # three syncs, three settlements
    history = await _history(api, tenant_id, ids)
    assert history[SALES][:3] == [
        (day0.isoformat(), 1, "settled"),
        (day1.isoformat(), 3, "settled"),
        (day2.isoformat(), 0, "settled"),
    ]
    assert history[OPS][:3] == [
        (day0.isoformat(), 0, "settled"),
        (day1.isoformat(), 2, "settled"),
        (day2.isoformat(), 1, "settled"),
    ]

    # SALES's cap on day 1 is reported as the block Exchange held then, and its release.
    events = (await api.http.get("/v1/enforcement/events")).json()["events"]
    assert [(e["action_taken"], e["mailbox_address"], e["sent_count"]) for e in events] == [
        ("unblocked", SALES, 3),
        ("blocked", SALES, 3),
    ]
    unblocked, blocked = events
    assert blocked["limit_value"] == 3
    assert day1.isoformat() in blocked["message"]
    occurred = datetime.fromisoformat(blocked["occurred_at"])
    assert cap_reached_by - timedelta(minutes=5) < occurred <= cap_reached_by
    assert datetime.fromisoformat(unblocked["occurred_at"]).date() == day2

    # Nothing is left to settle: later syncs make only their own query.
    traces = (await calls(api)).get(TRACE, 0)
    await api.advance_sandbox_clock(api.context.settings.usage_sync_seconds + 1)
    await api.worker.drain()
    assert (await calls(api)).get(TRACE, 0) - traces == 1
