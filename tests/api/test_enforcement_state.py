"""`GET …/mailbox-limits` shows what Exchange holds without spending the tenant's Exchange budget
on every poll: one reading per scope until it is too old or TenantCore changed Exchange since."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    calls,
    exchange_fails,
    faults,
    one,
    tenant_with_ready_mailboxes,
)

SALES = f"sales@{DOMAIN}"
READS = (
    "exchange:Get-HostedOutboundSpamFilterRule",
    "exchange:Get-HostedOutboundSpamFilterPolicy",
    "exchange:Get-TransportRule",
    "exchange:Get-DistributionGroup",
)


async def exchange_reads(api: Api) -> int:
    """How many times Exchange's enforcement state has been read (one call of each per
    reading)."""
    counted = await calls(api)
    return max(counted.get(operation, 0) for operation in READS)


async def limits(api: Api, tenant_id: str) -> dict[str, Any]:
    response = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def enforced_tenant(api: Api) -> str:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    saved = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 10, "domain_scope": DOMAIN},
    )
    assert saved.status_code == 200
    # Saving reads Exchange now, whatever was read before.
    assert saved.json()["provisioning"]["outbound_spam_policies"][0]["senders"] == [SALES]
    assert "read_at" in saved.json()["provisioning"]
    return tenant_id


async def test_polling_reuses_one_reading_until_it_is_too_old(api: Api) -> None:
    tenant_id = await enforced_tenant(api)
    first = await limits(api, tenant_id)
    reads = await exchange_reads(api)
    for _ in range(5):
        again = await limits(api, tenant_id)
        assert again["provisioning"] == first["provisioning"]
    polled = await asyncio.gather(*(limits(api, tenant_id) for _ in range(8)))
    assert {body["provisioning"]["read_at"] for body in polled} == {
        first["provisioning"]["read_at"]
    }
    assert await exchange_reads(api) == reads, "no Exchange call for a current reading"

    # A change made outside TenantCore (an admin deleting the rule in Exchange) shows once the
    # reading is older than the max age, and not before.
    switch = first["provisioning"]["transport_rule"]["name"]
    assert await api.context.connector.exchange.remove_transport_rule(tenant_id, switch)
    assert (await limits(api, tenant_id))["provisioning"]["transport_rule"] is not None
    max_age = api.context.settings.exchange_state_max_age_seconds
    await api.advance_sandbox_clock(max_age + 1)
    await api.context.refresh_clock()
    later = await limits(api, tenant_id)
    assert later["provisioning"]["transport_rule"] is None
    assert datetime.fromisoformat(later["provisioning"]["read_at"]) > datetime.fromisoformat(
        first["provisioning"]["read_at"]
    )
    assert await exchange_reads(api) == reads + 1


async def test_what_tenantcore_changes_in_exchange_shows_at_once(api: Api) -> None:
    tenant_id = await enforced_tenant(api)
    before = await limits(api, tenant_id)
    assert [p["recipient_limit_per_day"] for p in before["provisioning"]["outbound_spam_policies"]]
    assert before["provisioning"]["outbound_spam_policies"][0]["recipient_limit_per_day"] == 10

    # Lowering the mailbox's cap re-provisions Exchange in the background.
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 4}
    )
    assert patched.status_code == 200
    await api.worker.drain()
    after = await limits(api, tenant_id)
    assert [
        p["recipient_limit_per_day"] for p in after["provisioning"]["outbound_spam_policies"]
    ] == [4]
    assert after["policy"]["provisioning_status"] == "provisioned"
    assert after["provisioning"]["read_at"] >= after["policy"]["provisioned_at"]


async def test_a_failed_reading_is_reported_and_not_kept(api: Api) -> None:
    tenant_id = await enforced_tenant(api)
    await exchange_fails(api, "Get-TransportRule", 403)
    await api.advance_sandbox_clock(api.context.settings.exchange_state_max_age_seconds + 1)
    await api.context.refresh_clock()
    failed = await limits(api, tenant_id)
    assert "exchange_error" in failed["provisioning"]
    assert "read_at" not in failed["provisioning"]
    assert failed["policy"]["daily_send_limit"] == 10, "the saved policy still answers"

    await faults(api)
    recovered = await limits(api, tenant_id)
    assert "exchange_error" not in recovered["provisioning"]
    assert recovered["provisioning"]["transport_rule"] is not None
