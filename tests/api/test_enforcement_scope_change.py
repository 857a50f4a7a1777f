"""A blocked mailbox whose scope changes the same day (a domain policy added under the
tenant-wide one, or removed from over it): the block it got under its old scope still lifts at
midnight, in Exchange as in the API."""

from __future__ import annotations

from tenantcore.enforcement import exchange_sync
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE
from tenantcore.enforcement.service import RETRY_DELAY
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    SALES,
    exchange_fails,
    faults,
    one,
    past_next_midnight,
    send_codes,
    tenant_with_ready_mailboxes,
)


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailbox-limits"


async def _group_members(api: Api, tenant_id: str, scope_key: str) -> list[str]:
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    switch = exchange_sync.switch_for(scope_key, tenant["tenant_domain"])
    members = await api.context.connector.exchange.list_group_members(tenant_id, switch.group_name)
    return sorted(member.primary_smtp_address.lower() for member in members)


async def _blocked_under(api: Api, tenant_id: str, policy: dict[str, object]) -> str:
    """SALES capped at 2 by `policy`, sends 2, is refused the 3rd; the next sync blocks it."""
    saved = await api.http.post(_url(tenant_id), json=policy)
    assert saved.status_code == 200, saved.text
    assert await send_codes(api, SALES, 3) == [250, 250, 550]
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    mailbox_id: str = (await one(api, tenant_id, SALES))["id"]
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")).json()
    assert usage["is_blocked"] is True
    return mailbox_id


async def _released_and_sending(api: Api, tenant_id: str, mailbox_id: str) -> None:
    # An hour past midnight: the cap policies' hourly limits (at the cap) have rolled over too.
    await past_next_midnight(api, after_seconds=3_601)
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")).json()
    assert (usage["is_blocked"], usage["sends_today"]) == (False, 0)
    events = (await api.http.get("/v1/enforcement/events")).json()["events"]
    assert [e["action_taken"] for e in events] == ["unblocked", "blocked"]
    assert await send_codes(api, SALES, 1) == [250]


async def test_a_domain_policy_added_under_the_tenant_wide_one(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    mailbox_id = await _blocked_under(api, tenant_id, {"daily_send_limit": 2})
    assert await _group_members(api, tenant_id, TENANT_WIDE_SCOPE) == [SALES]

    # The mailbox's scope is now its domain; its block is in the tenant-wide group.
    domain_policy = await api.http.post(
        _url(tenant_id), json={"daily_send_limit": 5, "domain_scope": DOMAIN}
    )
    assert domain_policy.status_code == 200
    await api.worker.drain()

    await _released_and_sending(api, tenant_id, mailbox_id)
    assert await _group_members(api, tenant_id, TENANT_WIDE_SCOPE) == []
    assert await _group_members(api, tenant_id, DOMAIN) == []


async def test_a_domain_policy_removed_from_over_the_tenant_wide_one(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    tenant_policy = await api.http.post(_url(tenant_id), json={"daily_send_limit": 20})
    assert tenant_policy.status_code == 200
    mailbox_id = await _blocked_under(
        api, tenant_id, {"daily_send_limit": 2, "domain_scope": DOMAIN}
    )
    assert await _group_members(api, tenant_id, DOMAIN) == [SALES]

    removed = await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert removed.status_code == 204
    await api.worker.drain()
    # The day's block stays, now in the group of the scope that covers the mailbox.
    assert await _group_members(api, tenant_id, TENANT_WIDE_SCOPE) == [SALES]
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")).json()
    assert usage["is_blocked"] is True

    await _released_and_sending(api, tenant_id, mailbox_id)
    assert await _group_members(api, tenant_id, TENANT_WIDE_SCOPE) == []


async def test_a_release_exchange_refused_at_midnight_is_put_right(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    mailbox_id = await _blocked_under(
        api, tenant_id, {"daily_send_limit": 2, "domain_scope": DOMAIN}
    )
    assert await _group_members(api, tenant_id, DOMAIN) == [SALES]

    # Midnight comes while Exchange refuses to take the mailbox out of the group: the block
    # is lifted in TenantCore's records, and the policy waits to be provisioned again.
    await exchange_fails(api, "Remove-DistributionGroupMember")
    await past_next_midnight(api, after_seconds=3_601)
    limits = f"/v1/tenants/{tenant_id}/mailbox-limits"
    state = (await api.http.get(limits, params={"domain_scope": DOMAIN})).json()
    assert state["policy"]["provisioning_status"] == "pending"
    await faults(api)
    assert await _group_members(api, tenant_id, DOMAIN) == [SALES]

    # The reconciler's next attempt takes it out: the mailbox sends again.
    await api.advance_sandbox_clock(RETRY_DELAY.total_seconds() + 1)
    await api.worker.drain()
    assert await _group_members(api, tenant_id, DOMAIN) == []
    state = (await api.http.get(limits, params={"domain_scope": DOMAIN})).json()
    assert state["policy"]["provisioning_status"] == "provisioned"
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")).json()
    assert usage["is_blocked"] is False
    assert await send_codes(api, SALES, 1) == [250]


async def test_provisioning_puts_a_blocked_mailbox_missing_from_its_group_back(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await _blocked_under(api, tenant_id, {"daily_send_limit": 2, "domain_scope": DOMAIN})
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    switch = exchange_sync.switch_for(DOMAIN, tenant["tenant_domain"])
    # An admin empties the group; saving the policy again puts back what TenantCore blocked.
    await api.context.connector.exchange.remove_group_member(tenant_id, switch.group_name, SALES)
    saved = await api.http.post(
        _url(tenant_id), json={"daily_send_limit": 2, "domain_scope": DOMAIN}
    )
    assert saved.status_code == 200
    assert await _group_members(api, tenant_id, DOMAIN) == [SALES]
