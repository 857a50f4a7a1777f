"""The background provisioning of a mailbox in Exchange (DESIGN.md section 4): readiness after
propagation proven with a real SMTP login, the UPN Exchange assigns, idempotent resumption after
lost responses and failures, permanent failures and their retry."""

from __future__ import annotations

import asyncio

from tenantcore.mailboxes.models import ProvisioningStep
from tenantcore.sandbox.passwords import verify_password
from tenantcore.sandbox.server import SandboxServer
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    PASSWORD,
    calls,
    exchange_mailboxes,
    faults,
    one,
    provision,
    rows,
    smtp_send,
    tenant_with_domain,
)

SALES = f"sales@{DOMAIN}"
JANE = f"jane@{DOMAIN}"


async def test_ready_after_propagation_and_really_sends(api: Api) -> None:
    await api.sandbox_config(propagation_min_seconds=90, propagation_max_seconds=90)
    tenant_id = await tenant_with_domain(api)
    assert (await provision(api, tenant_id, "sales")).status_code == 200
    await api.worker.drain()

    # Created, password set, SMTP AUTH on, but Exchange is still propagating it.
    mailbox = await one(api, tenant_id, SALES)
    assert mailbox["status"] == "provisioning"
    assert mailbox["account_enabled"] is True
    assert mailbox["error"] is None
    [row] = await rows(api)
    assert row.provisioning_step == ProvisioningStep.SMTP_AUTH_ENABLED
    cas = await api.context.connector.exchange.get_cas_mailbox(tenant_id, SALES)
    assert cas.smtp_client_authentication_disabled is False

    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        ca = server.tls.ca_pem
        # `provisioning` is the truth: Exchange does not accept the login yet.
        code, _ = await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert code == 535

        await api.advance_sandbox_clock(90)
        await api.worker.drain()
        mailbox = await one(api, tenant_id, SALES)
        assert mailbox["status"] == "ready"
        assert mailbox["ready_at"] is not None
        assert mailbox["user_principal_name"] == SALES

        code, _ = await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
        assert code == 250
    finally:
        await server.stop()


async def test_upn_assigned_by_exchange_is_changed_to_the_address(api: Api) -> None:
    # Exchange may name the account alias@<tenant>.onmicrosoft.com (wire reference 4.3.1).
    await api.sandbox_config(shared_mailbox_upn="initial_domain")
    tenant_id = await tenant_with_domain(api)
    # Graph is down for a while: provisioning stops after New-Mailbox and is rescheduled.
    await faults(
        api,
        {
            "host": "graph",
            "operation": "PATCH /users/{id}",
            "error_rate": 1,
            "error_statuses": [503],
            "retry_after_seconds": 0,
        },
    )
    await provision(api, tenant_id, "sales")
    await api.worker.drain()
    mailbox = await one(api, tenant_id, SALES)
    assert mailbox["status"] == "provisioning"
    assert mailbox["user_principal_name"].startswith("sales@sandbox")
    assert mailbox["user_principal_name"].endswith(".onmicrosoft.com")
    assert "Transient" in mailbox["error"]
    [row] = await rows(api)
    assert row.provisioning_step == ProvisioningStep.MAILBOX_CREATED
    assert row.next_check_at is not None

    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    await api.advance_sandbox_clock(600)  # past the backoff
    await api.worker.drain()
    mailbox = await one(api, tenant_id, SALES)
    assert mailbox["status"] == "ready"
    assert mailbox["user_principal_name"] == SALES
    assert mailbox["error"] is None
    user = await api.context.connector.graph.get_user(tenant_id, SALES)
    assert user.user_principal_name == SALES
    assert user.account_enabled is True
    assert len(await exchange_mailboxes(api, tenant_id)) == 1


async def test_lost_new_mailbox_response_is_adopted_not_repeated(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    # Exchange creates the mailbox but every answer is lost, and Exchange stays unreadable, so
    # the step ends unrecorded, as after a crash right after the call.
    lost = {"host": "exchange", "error_rate": 1, "error_statuses": [503], "retry_after_seconds": 0}
    await faults(
        api,
        {**lost, "operation": "New-Mailbox", "phase": "after"},
        {**lost, "operation": "Get-Mailbox"},
    )
    await provision(api, tenant_id, "sales")
    await api.worker.drain()
    [row] = await rows(api)
    assert row.provisioning_step == ProvisioningStep.NONE
    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    assert len(await exchange_mailboxes(api, tenant_id)) == 1

    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    [created] = await exchange_mailboxes(api, tenant_id)
    assert created.primary_smtp_address == SALES
    assert created.alias == "sales"


async def test_completed_steps_are_not_repeated_after_a_failure(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await faults(
        api,
        {
            "host": "exchange",
            "operation": "Set-CASMailbox",
            "error_rate": 1,
            "error_statuses": [503],
            "retry_after_seconds": 0,
        },
    )
    await provision(api, tenant_id, "sales")
    await api.worker.drain()
    [row] = await rows(api)
    assert row.provisioning_step == ProvisioningStep.USER_UPDATED
    # The password reached Microsoft and is gone from TenantCore.
    assert row.sealed_password is None

    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    counted = await calls(api)
    assert counted["exchange:New-Mailbox"] == 1
    assert counted["graph:PATCH /users/{id}"] == 1


async def test_transient_trouble_gives_up_after_the_bound(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await faults(
        api,
        {
            "host": "exchange",
            "operation": "Set-CASMailbox",
            "error_rate": 1,
            "error_statuses": [503],
            "retry_after_seconds": 0,
        },
    )
    await provision(api, tenant_id, "sales")
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "provisioning"
    await api.advance_sandbox_clock(3 * 3600)
    await api.worker.drain()
    mailbox = await one(api, tenant_id, SALES)
    assert mailbox["status"] == "failed"
    assert "Gave up" in mailbox["error"]

    # Asked again once Exchange is back: the same mailbox resumes, with the new password.
    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    again = await provision(api, tenant_id, "sales", password="Fresh-Passw0rd")
    assert again.json()["results"][0]["status"] == "created"
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    user = api.sandbox.store.one(
        "SELECT password_hash FROM directory_user WHERE user_principal_name = ?", (SALES,)
    )
    assert user is not None
    assert verify_password("Fresh-Passw0rd", user["password_hash"])
    assert (await calls(api))["exchange:New-Mailbox"] == 1


async def test_taken_alias_falls_back_and_taken_address_fails_until_asked_again(
    api: Api,
) -> None:
    tenant_id = await tenant_with_domain(api)
    exchange = api.context.connector.exchange
    initial = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()["tenant_domain"]
    # Recipients made outside TenantCore: one holds the alias "sales", one the address jane@.
    await exchange.new_shared_mailbox(
        tenant_id, primary_smtp_address=f"sales@{initial}", display_name="Old", alias="sales"
    )
    await exchange.ensure_security_group(tenant_id, name="jane-group", primary_smtp_address=JANE)
    await provision(api, tenant_id, "sales", "jane")
    await api.worker.drain()

    sales = await one(api, tenant_id, SALES)
    assert sales["status"] == "ready"
    assert sales["mail_nickname"] == "sales-mail-acmecorp-com"
    jane = await one(api, tenant_id, JANE)
    assert jane["status"] == "failed"
    assert "already used by another recipient" in jane["error"]
    assert all(row.sealed_password is None for row in await rows(api))

    # Once the address is free, asking again retries the failed mailbox with the new password.
    assert await exchange.remove_group(tenant_id, "jane-group")
    again = await provision(api, tenant_id, "jane", password="An0ther-Passw0rd")
    assert again.status_code == 200
    [result] = again.json()["results"]
    assert result["status"] == "created"
    assert result["mailbox_id"] == jane["id"]
    assert (await one(api, tenant_id, JANE))["status"] == "provisioning"
    await api.worker.drain()
    jane = await one(api, tenant_id, JANE)
    assert jane["status"] == "ready"
    assert jane["error"] is None


async def test_disconnecting_the_tenant_stops_provisioning(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 204
    assert await rows(api) == []
    await api.worker.drain()
    assert await exchange_mailboxes(api, tenant_id) == []
