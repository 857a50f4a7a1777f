"""`GET /v1/tenants/{tenant_id}/usage`: a tenant's sending today against its caps, in all and
per domain, from real sends through the sandbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tenantcore.sandbox.server import SandboxServer
from tenantcore.usage.schemas import TenantUsage, TenantUsageHistory
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    PASSWORD,
    SALES,
    blocked_then_released,
    listed,
    one,
    provision,
    smtp_send,
    tenant_with_domain,
)

GLOBEX = "mail.globexcorp.com"
EMPTY = "mail.initech.com"
ZERO = {
    "sends_today": 0,
    "capacity_today": 0,
    "uncapped_mailboxes": 0,
    "mailbox_count": 0,
    "ready_count": 0,
    "enforced_count": 0,
    "blocked_count": 0,
    "smtp_auth_disabled_count": 0,
}


async def _usage(api: Api, tenant_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/tenants/{tenant_id}/usage")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert TenantUsage.model_validate(document).model_dump(mode="json") == document
    return document


def _numbers(section: dict[str, Any]) -> dict[str, int]:
    return {key: section[key] for key in ZERO}


async def test_tenant_usage_today_in_all_and_per_domain(api: Api) -> None:
    await api.move_sandbox_clock_to_hour(10)
    tenant_id = await tenant_with_domain(api, DOMAIN, GLOBEX, EMPTY)
    fresh = await _usage(api, tenant_id)
    assert _numbers(fresh) == ZERO
    assert [d["domain_name"] for d in fresh["domains"]] == [DOMAIN, GLOBEX, EMPTY]

    assert (await provision(api, tenant_id, "sales", "ops", "info")).status_code == 200
    assert (await provision(api, tenant_id, "a", "b", domain=GLOBEX)).status_code == 200
    provisioning = await _usage(api, tenant_id)
    assert (provisioning["mailbox_count"], provisioning["ready_count"]) == (5, 0)
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    ids = {m["primary_smtp"]: m["id"] for m in await listed(api, tenant_id)}
    limits = {"daily_send_limit": 10, "domain_scope": DOMAIN}
    assert (await api.http.post(f"/v1/tenants/{tenant_id}/mailbox-limits", json=limits)).is_success
    for address, change in (
        (SALES, {"daily_send_limit": 2}),  # enforced at 2
        (OPS, {"smtp_auth_enabled": False}),  # enforced at the policy's 10; cannot log in
        (f"a@{GLOBEX}", {"daily_send_limit": 6}),  # its own cap, not enforced
    ):
        url = f"/v1/tenants/{tenant_id}/mailboxes/{ids[address]}"
        assert (await api.http.patch(url, json=change)).status_code == 200
    await api.worker.drain()

    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        for _ in range(2):
            code, _ = await asyncio.to_thread(
                smtp_send, addresses.smtp_port, server.tls.ca_pem, SALES, PASSWORD
            )
            assert code == 250
    finally:
        await server.stop()
    await api.advance_sandbox_clock(301)
    await api.worker.drain()

    usage = await _usage(api, tenant_id)
    assert usage["tenant_id"] == tenant_id
    assert usage["day"] == (await api.sandbox_now()).date().isoformat()
    assert usage["usage_synced_at"] is not None
    assert _numbers(usage) == {
        "sends_today": 2,
        "capacity_today": 2 + 10 + 10 + 6,
        "uncapped_mailboxes": 1,  # b@globex
        "mailbox_count": 5,
        "ready_count": 5,
        "enforced_count": 3,
        "blocked_count": 1,  # sales reached its cap
        "smtp_auth_disabled_count": 1,
    }
    domains = {d["domain_name"]: d for d in usage["domains"]}
    assert domains[DOMAIN]["policy_limit"] == 10
    assert _numbers(domains[DOMAIN]) == {
        "sends_today": 2,
        "capacity_today": 22,
        "uncapped_mailboxes": 0,
        "mailbox_count": 3,
        "ready_count": 3,
        "enforced_count": 3,
        "blocked_count": 1,
        "smtp_auth_disabled_count": 1,
    }
    assert domains[GLOBEX]["policy_limit"] is None
    assert _numbers(domains[GLOBEX]) == {
        **ZERO,
        "capacity_today": 6,
        "uncapped_mailboxes": 1,
        "mailbox_count": 2,
        "ready_count": 2,
    }
    assert (domains[EMPTY]["policy_limit"], _numbers(domains[EMPTY])) == (None, ZERO)
    # The same numbers as the mailbox's own usage.
    sales = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{ids[SALES]}/usage")).json()
    assert (sales["sends_today"], sales["is_blocked"]) == (2, True)

    # A new UTC day: the counters and the block are the day's.
    now = await api.sandbox_now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    await api.advance_sandbox_clock((midnight - now).total_seconds() + 60)
    await api.worker.drain()
    next_day = await _usage(api, tenant_id)
    assert next_day["day"] == midnight.date().isoformat()
    assert (next_day["sends_today"], next_day["blocked_count"]) == (0, 0)
    assert next_day["capacity_today"] == 28


async def test_tenant_usage_of_another_account_or_no_tenant_is_not_found(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    assert (await one(api, tenant_id, SALES))["status"] == "provisioning"
    other = api.client(await api.new_key("globex"))
    for client, path in (
        (other, f"/v1/tenants/{tenant_id}/usage"),
        (api.http, "/v1/tenants/00000000-0000-0000-0000-000000000000/usage"),
        (api.http, "/v1/tenants/not-a-guid/usage"),
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]["code"] == "tenant_not_found", path


async def _history(api: Api, tenant_id: str, **params: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/tenants/{tenant_id}/usage/history", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert TenantUsageHistory.model_validate(document).model_dump(mode="json", by_alias=True) == (
        document
    )
    return document


def _days(document: dict[str, Any]) -> list[tuple[str, int, int, int, str]]:
    return [
        (d["day"], d["sends"], d["mailbox_count"], d["blocked_count"], d["state"])
        for d in document["days"]
    ]


async def test_tenant_usage_history_sums_its_mailboxes_days(api: Api) -> None:
    day = await blocked_then_released(api, settle=False)
    history = await _history(api, day.tenant_id)
    assert (history["tenant_id"], history["to"]) == (day.tenant_id, day.second)
    # SALES sent 2 and was blocked on day one; OPS sent nothing.
    assert _days(history) == [(day.first, 2, 2, 1, "closed"), (day.second, 0, 2, 0, "open")]
    await api.advance_sandbox_clock(api.context.settings.usage_settle_seconds)
    await api.worker.drain()
    settled = await _history(api, day.tenant_id, **{"from": day.first, "to": day.first})
    assert _days(settled) == [(day.first, 2, 2, 1, "settled")]
    # The same numbers as the mailboxes' own histories.
    sales = await api.http.get(
        f"/v1/tenants/{day.tenant_id}/mailboxes/{day.ids[SALES]}/usage/history",
        params={"from": day.first, "to": day.first},
    )
    assert sales.json()["days"][0]["sends"] == 2

    for params in ({"from": "2026-02-30"}, {"from": day.second, "to": day.first}):
        bad = await api.http.get(f"/v1/tenants/{day.tenant_id}/usage/history", params=params)
        assert bad.status_code == 400, params
        assert bad.json()["detail"]["code"] == "invalid_date_range"
    other = api.client(await api.new_key("globex"))
    foreign = await other.get(f"/v1/tenants/{day.tenant_id}/usage/history")
    assert foreign.status_code == 404
    assert foreign.json()["detail"]["code"] == "tenant_not_found"
