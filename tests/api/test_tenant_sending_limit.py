"""The tenant external recipient rate limit: TenantCore reads the tenant's subscriptions with
its hourly check, shows the estimated limit on the tenant and sets it beside the caps in the
tenant usage summary, so a customer sees before Exchange refuses mail (`550 5.7.233`) that
its caps add up to more than the tenant may send."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from tenantcore.core.db import unit_of_work
from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import Tenant
from tests.api.conftest import Api
from tests.api.mailbox_support import calls, listed, tenant_with_ready_mailboxes
from tests.api.webhook_receiver import webhook_receiver

SUBSCRIPTIONS = "graph:GET /directory/subscriptions"
E3_100 = {
    "skuPartNumber": "ENTERPRISEPACK",
    "isTrial": False,
    "status": "Enabled",
    "totalLicenses": 100,
    "servicePlans": ["EXCHANGE_S_ENTERPRISE"],
}


async def _tenant(api: Api, tenant_id: str) -> dict[str, Any]:
    return dict((await api.http.get(f"/v1/tenants/{tenant_id}")).json())


async def _usage(api: Api, tenant_id: str) -> dict[str, Any]:
    return dict((await api.http.get(f"/v1/tenants/{tenant_id}/usage")).json())


def _set_sandbox_tenant(api: Api, tenant_id: str, column: str, value: Any) -> None:
    """What the tenant's admin changes in Microsoft 365 (licenses bought, roles consented)."""
    store = api.sandbox.store
    with store.transaction():
        store.execute(
            f"UPDATE {'consent' if column == 'roles_graph' else 'tenant'} SET {column} = ?"  # noqa: S608
            f" WHERE {'tenant_id' if column == 'roles_graph' else 'id'} = ?",
            (json.dumps(value), tenant_id),
        )


async def _next_check(api: Api) -> int:
    """Move past the hourly check and let the worker run; the subscription reads it made."""
    before = (await calls(api)).get(SUBSCRIPTIONS, 0)
    await api.advance_sandbox_clock(api.context.settings.smtp_auth_check_seconds + 1)
    await api.worker.drain()
    return (await calls(api)).get(SUBSCRIPTIONS, 0) - before


async def test_the_limit_follows_the_tenants_licenses(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    # A new sandbox tenant has one Exchange Online (Plan 1) license: 500 * 1 + 9,500.
    tenant = await _tenant(api, tenant_id)
    assert (tenant["exchange_licenses"], tenant["trial_only"]) == (1, False)
    assert tenant["external_recipient_limit"] == 10_000
    listed_tenants = (await api.http.get("/v1/tenants")).json()["tenants"]
    assert listed_tenants[0]["external_recipient_limit"] == 10_000

    # The customer buys 100 E3 licenses: the next check sees them, for one call per tenant.
    _set_sandbox_tenant(api, tenant_id, "subscriptions", [E3_100])
    assert await _next_check(api) == 1
    tenant = await _tenant(api, tenant_id)
    assert (tenant["exchange_licenses"], tenant["external_recipient_limit"]) == (100, 22_059)

    # Only trial licenses left: a trial tenant's 5,000.
    trial = {**E3_100, "isTrial": True, "totalLicenses": 25}
    _set_sandbox_tenant(api, tenant_id, "subscriptions", [{**E3_100, "status": "LockedOut"}, trial])
    await _next_check(api)
    tenant = await _tenant(api, tenant_id)
    assert (tenant["exchange_licenses"], tenant["trial_only"]) == (0, True)
    assert tenant["external_recipient_limit"] == 5_000


async def _add_capped_mailboxes(api: Api, tenant_id: str, count: int) -> None:
    """`count` more ready mailboxes capped at 25, three to a domain, as a tenant grown over
    months would have (rows written directly: provisioning hundreds would take minutes)."""
    async with unit_of_work(api.context.sessionmaker) as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.tenant_id == tenant_id))
        assert tenant is not None
        domains = [
            Domain(
                tenant_pk=tenant.id,
                domain_name=f"grown{n}-{uuid.uuid4().hex[:6]}.example.com",
                is_verified=True,
                email_enabled=True,
            )
            for n in range((count + 2) // 3)
        ]
        session.add_all(domains)
        await session.flush()
        session.add_all(
            Mailbox(
                tenant_pk=tenant.id,
                domain_pk=domains[n // 3].id,
                slot=n % 3 + 1,
                display_name=f"Sender {n}",
                primary_smtp=f"sender{n}@{domains[n // 3].domain_name}",
                user_principal_name=f"sender{n}@{domains[n // 3].domain_name}",
                mail_nickname=f"sender{n}",
                alias=f"sender{n}",
                account_enabled=True,
                daily_send_limit=25,
                status=MailboxStatus.READY,
            )
            for n in range(count)
        )


async def test_the_usage_summary_says_when_caps_exceed_the_tenant_limit(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    for mailbox in await listed(api, tenant_id):
        patched = await api.http.patch(
            f"/v1/tenants/{tenant_id}/mailboxes/{mailbox['id']}", json={"daily_send_limit": 25}
        )
        assert patched.status_code == 200, patched.text
    usage = await _usage(api, tenant_id)
    assert usage["capacity_today"] == 50
    assert usage["external_recipient_limit"] == 10_000
    assert usage["capacity_exceeds_tenant_limit"] is False

    # A trial tenant (5,000) with 200 mailboxes at 25 a day: exactly at its limit ...
    trial = {**E3_100, "isTrial": True, "totalLicenses": 25}
    _set_sandbox_tenant(api, tenant_id, "subscriptions", [trial])
    await _next_check(api)
    await _add_capped_mailboxes(api, tenant_id, 198)
    usage = await _usage(api, tenant_id)
    assert (usage["capacity_today"], usage["external_recipient_limit"]) == (5_000, 5_000)
    assert usage["capacity_exceeds_tenant_limit"] is False
    # ... and one mailbox more is over it.
    await _add_capped_mailboxes(api, tenant_id, 1)
    usage = await _usage(api, tenant_id)
    assert usage["capacity_today"] == 5_025
    assert usage["capacity_exceeds_tenant_limit"] is True


async def test_a_check_that_first_finds_caps_over_the_limit_warns_once(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    trial = {**E3_100, "isTrial": True, "totalLicenses": 25}
    _set_sandbox_tenant(api, tenant_id, "subscriptions", [trial])
    async with webhook_receiver() as receiver:
        registered = await api.http.post(
            "/v1/webhooks",
            json={"url": receiver.url, "events": ["tenant.capacity_exceeds_limit"]},
        )
        assert registered.status_code == 201, registered.text
        await _add_capped_mailboxes(api, tenant_id, 200)  # 5,000 at 25 a day: not over
        await _next_check(api)
        assert receiver.received == []
        await _add_capped_mailboxes(api, tenant_id, 1)  # 5,025: over
        await _next_check(api)
        await _next_check(api)  # still over: no second warning
        events = [json.loads(item.body) for item in receiver.received]
    [event] = events
    assert event["type"] == "tenant.capacity_exceeds_limit"
    assert event["data"]["tenant_id"] == tenant_id
    assert (event["data"]["capacity_today"], event["data"]["external_recipient_limit"]) == (
        5_025,
        5_000,
    )
    assert (event["data"]["exchange_licenses"], event["data"]["trial_only"]) == (0, True)


async def test_without_organization_read_the_limit_is_unknown(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    assert (await _tenant(api, tenant_id))["external_recipient_limit"] == 10_000
    # The app was consented without Organization.Read.All or a directory read role.
    _set_sandbox_tenant(
        api, tenant_id, "roles_graph", ["Domain.ReadWrite.All", "User.ReadWrite.All"]
    )
    await _next_check(api)  # past an hour: tokens are renewed with the new roles
    tenant = await _tenant(api, tenant_id)
    assert (tenant["exchange_licenses"], tenant["trial_only"]) == (None, None)
    assert tenant["external_recipient_limit"] is None
    # The rest of the check went on.
    assert tenant["smtp_auth_enabled"] is True
    usage = await _usage(api, tenant_id)
    assert usage["external_recipient_limit"] is None
    assert usage["capacity_exceeds_tenant_limit"] is None
