"""Disconnecting a tenant takes TenantCore's enforcement out of its Exchange, so nothing
TenantCore set up keeps blocking or capping mailboxes nobody manages any more."""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from tenantcore.core.db import unit_of_work
from tenantcore.sandbox.server import SandboxServer
from tenantcore.tenants.models import Tenant
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    PASSWORD,
    calls,
    exchange_fails,
    exchange_mailboxes,
    faults,
    one,
    smtp_send,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

SALES = f"sales@{DOMAIN}"


async def enforced(api: Api) -> tuple[str, dict[str, Any]]:
    """A tenant with a ready mailbox under a domain cap; the limits response."""
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 10, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    provisioning: dict[str, Any] = limits.json()["provisioning"]
    assert provisioning["outbound_spam_policies"]
    assert provisioning["transport_rule"]
    return tenant_id, provisioning


async def tenantcore_objects(api: Api, tenant_id: str, group: str) -> dict[str, list[str]]:
    """What of TenantCore's enforcement exists in the tenant's Exchange."""
    exchange = api.context.connector.exchange
    return {
        "policies": [
            p.name
            for p in await exchange.list_outbound_spam_policies(tenant_id)
            if p.name.startswith("TenantCore")
        ],
        "rules": [
            r.name
            for r in await exchange.list_outbound_spam_rules(tenant_id)
            if r.name.startswith("TenantCore")
        ],
        "transport_rules": [
            r.name
            for r in await exchange.list_transport_rules(tenant_id)
            if r.name.startswith("TenantCore")
        ],
        "groups": [] if await exchange.find_group(tenant_id, group) is None else [group],
    }


async def test_disconnect_removes_enforcement_and_frees_a_blocked_mailbox(api: Api) -> None:
    tenant_id, provisioning = await enforced(api)
    group = provisioning["block_group"]["name"]
    # The usage sync's switch: the mailbox is in the blocking group, so Exchange rejects it.
    await api.context.connector.exchange.add_group_member(tenant_id, group, SALES)
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        ca = server.tls.ca_pem
        with pytest.raises(smtplib.SMTPDataError) as rejected:
            await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert rejected.value.smtp_code == 550

        response = await api.http.delete(f"/v1/tenants/{tenant_id}")
        assert response.status_code == 204
        assert await tenantcore_objects(api, tenant_id, group) == {
            "policies": [],
            "rules": [],
            "transport_rules": [],
            "groups": [],
        }
        # The customer's mailbox stays, and sends again.
        assert SALES in {
            m.primary_smtp_address.lower() for m in await exchange_mailboxes(api, tenant_id)
        }
        sent, _ = await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert sent == 250
    finally:
        await server.stop()
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).status_code == 404
    # Safe to repeat from the customer's side: the tenant is simply gone now.
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 404


async def test_microsoft_down_keeps_the_tenant_connected_until_a_retry_succeeds(
    api: Api,
) -> None:
    tenant_id, provisioning = await enforced(api)
    group = provisioning["block_group"]["name"]
    await exchange_fails(api, "Remove-*")
    response = await api.http.delete(f"/v1/tenants/{tenant_id}")
    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "microsoft_unavailable"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).status_code == 200
    limits = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert limits.status_code == 200, "TenantCore still manages what it could not remove"
    # Part of it may be gone: it is provisioned again, whole, unless the caller retries first.
    assert limits.json()["policy"]["provisioning_status"] == "pending"

    await faults(api)
    await api.worker.drain()
    limits = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert limits.json()["policy"]["provisioning_status"] == "provisioned"
    assert limits.json()["provisioning"]["outbound_spam_policies"]
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 204
    leftovers = await tenantcore_objects(api, tenant_id, group)
    assert leftovers == {"policies": [], "rules": [], "transport_rules": [], "groups": []}


async def test_revoked_access_still_disconnects_and_says_what_was_left(api: Api) -> None:
    tenant_id, provisioning = await enforced(api)
    group = provisioning["block_group"]["name"]
    await exchange_fails(api, status=403)  # access revoked
    with structlog.testing.capture_logs() as logs:
        response = await api.http.delete(f"/v1/tenants/{tenant_id}")
    assert response.status_code == 204
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).status_code == 404
    assert [line["tenant_id"] for line in logs if line["event"].startswith("enforcement left")] == [
        tenant_id
    ]
    await faults(api)
    left = await tenantcore_objects(api, tenant_id, group)
    assert left["policies"]
    assert left["transport_rules"]
    assert left["groups"]


async def test_a_tenant_without_enforcement_disconnects_without_calling_exchange(
    api: Api,
) -> None:
    tenant_id = await tenant_with_domain(api)
    before = await calls(api)
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 204
    after = await calls(api)
    assert {
        k: v for k, v in after.items() if k.startswith("exchange:") and v != before.get(k)
    } == {}


async def test_a_tenant_busy_with_background_work_answers_503_and_keeps_everything(
    api: Api,
) -> None:
    tenant_id, provisioning = await enforced(api)
    group = provisioning["block_group"]["name"]
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        tenant_pk = await session.scalar(select(Tenant.id).where(Tenant.tenant_id == tenant_id))
    assert tenant_pk is not None
    api.context.settings = api.context.settings.model_copy(update={"tenant_lock_wait_seconds": 0.2})
    async with api.context.tenant_locks.hold(tenant_pk) as held:  # a worker's job, say
        assert held
        busy = await api.http.delete(f"/v1/tenants/{tenant_id}")
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).status_code == 200
    kept = await tenantcore_objects(api, tenant_id, group)
    assert kept["policies"]
    assert kept["groups"] == [group]
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 204
