"""Watching SMTP AUTH: a switch turned off in Exchange after a mailbox became ready shows in
the API at the next check, which costs the same two calls per tenant however many mailboxes
it has."""

from __future__ import annotations

from datetime import datetime

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    OPS,
    SALES,
    calls,
    exchange_fails,
    faults,
    listed,
    login_reply,
    one,
    provision,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

CHECKS = ("exchange:Get-TransportConfig", "exchange:Get-CASMailbox")
SECURITY_DEFAULTS = "graph:GET /policies/identitySecurityDefaultsEnforcementPolicy"


async def _switches(api: Api, tenant_id: str) -> tuple[bool | None, dict[str, bool | None]]:
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    mailboxes = {m["primary_smtp"]: m["smtp_auth_enabled"] for m in await listed(api, tenant_id)}
    return tenant["smtp_auth_enabled"], mailboxes


async def _next_check(api: Api) -> dict[str, int]:
    """Move past the check interval and let the worker run; the check's Exchange calls."""
    before = await calls(api)
    await api.advance_sandbox_clock(api.context.settings.smtp_auth_check_seconds + 1)
    await api.worker.drain()
    after = await calls(api)
    return {op: after.get(op, 0) - before.get(op, 0) for op in CHECKS}


async def test_a_mailbox_switch_turned_off_in_exchange_shows_at_the_next_check(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    assert await _switches(api, tenant_id) == (True, {SALES: True, OPS: True})
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert datetime.fromisoformat(tenant["smtp_auth_checked_at"]) <= await api.sandbox_now()
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    usage_url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage"
    assert (await api.http.get(usage_url)).json()["smtp_auth_enabled"] is True

    # An admin turns SMTP AUTH off for one mailbox: its logins fail at once ...
    exchange = api.context.connector.exchange
    await exchange.set_mailbox_smtp_auth(tenant_id, SALES, disabled=True)
    assert await login_reply(api, SALES) == 535
    # ... and the API says so after the next check, which costs two calls for the tenant.
    assert await _next_check(api) == dict.fromkeys(CHECKS, 1)
    assert await _switches(api, tenant_id) == (True, {SALES: False, OPS: True})
    assert (await api.http.get(usage_url)).json()["smtp_auth_enabled"] is False
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 5}
    )
    assert patched.json()["mailbox"]["smtp_auth_enabled"] is False

    # Back to inheriting the tenant's switch, which is on.
    await exchange.set_mailbox_smtp_auth(tenant_id, SALES, disabled=None)
    await _next_check(api)
    assert await _switches(api, tenant_id) == (True, {SALES: True, OPS: True})
    assert await login_reply(api, SALES) == 250


async def test_the_tenant_switch_matters_only_where_a_mailbox_inherits_it(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    exchange = api.context.connector.exchange
    await exchange.set_smtp_client_authentication(tenant_id, disabled=True)
    await _next_check(api)
    # TenantCore turned each mailbox's own switch on, and the mailbox's switch wins.
    assert await _switches(api, tenant_id) == (False, {SALES: True, OPS: True})
    assert await login_reply(api, SALES) == 250
    await exchange.set_mailbox_smtp_auth(tenant_id, OPS, disabled=None)
    await _next_check(api)
    assert await _switches(api, tenant_id) == (False, {SALES: True, OPS: False})
    assert await login_reply(api, OPS) == 535


async def test_the_check_costs_two_calls_per_tenant_whatever_its_mailboxes(api: Api) -> None:
    small = await tenant_with_ready_mailboxes(api, "sales")
    large = await tenant_with_domain(api, "mail.globexcorp.com", "mail.initech.com")
    for domain in ("mail.globexcorp.com", "mail.initech.com"):
        assert (await provision(api, large, "a", "b", "c", domain=domain)).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert len(await listed(api, large)) == 6
    graph_before = (await calls(api)).get(SECURITY_DEFAULTS, 0)
    assert await _next_check(api) == dict.fromkeys(CHECKS, 2)  # two tenants, one call each
    # And one Graph read of security defaults per tenant: the tokens that expired when the
    # clock moved are renewed up front (on the sandbox's clock), not after a 401.
    assert (await calls(api)).get(SECURITY_DEFAULTS, 0) - graph_before == 2
    assert (await _switches(api, small))[1] == {SALES: True}
    assert set((await _switches(api, large))[1].values()) == {True}


async def test_a_failed_check_keeps_what_was_known_and_is_retried_soon(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    checked_at = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()["smtp_auth_checked_at"]
    await api.context.connector.exchange.set_mailbox_smtp_auth(tenant_id, SALES, disabled=True)
    await exchange_fails(api, "Get-CASMailbox")
    await _next_check(api)
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["smtp_auth_checked_at"] == checked_at
    assert (await _switches(api, tenant_id))[1] == {SALES: True}
    await faults(api)
    # Retried after five minutes, not at the next hourly check.
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    assert (await _switches(api, tenant_id))[1] == {SALES: False}


async def test_a_mailbox_not_ready_yet_has_no_reading(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    assert (await one(api, tenant_id, SALES))["smtp_auth_enabled"] is None


async def test_patch_switches_a_mailbox_off_and_on_in_exchange(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    url = f"/v1/tenants/{tenant_id}/mailboxes/{(await one(api, tenant_id, SALES))['id']}"
    paused = await api.http.patch(url, json={"smtp_auth_enabled": False})
    assert paused.status_code == 200, paused.text
    assert paused.json()["mailbox"]["smtp_auth_enabled"] is False
    assert await login_reply(api, SALES) == 535
    await _next_check(api)  # Exchange agrees
    assert (await _switches(api, tenant_id))[1] == {SALES: False}
    resumed = await api.http.patch(url, json={"smtp_auth_enabled": True})
    assert resumed.json()["mailbox"]["smtp_auth_enabled"] is True
    assert await login_reply(api, SALES) == 250


async def test_patch_of_the_switch_refuses_bad_values_and_unready_mailboxes(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    url = f"/v1/tenants/{tenant_id}/mailboxes/{(await one(api, tenant_id, SALES))['id']}"
    before = (await calls(api)).get("exchange:Set-CASMailbox", 0)
    for value in ("false", None, 0, 1, [True]):
        response = await api.http.patch(url, json={"smtp_auth_enabled": value})
        assert response.status_code == 400, value
        assert response.json()["detail"]["code"] == "invalid_request", value
    assert (await calls(api)).get("exchange:Set-CASMailbox", 0) == before  # refused first
    # A failure in Exchange saves nothing of the request, the cap included.
    await exchange_fails(api, "Set-CASMailbox")
    failed = await api.http.patch(url, json={"smtp_auth_enabled": False, "daily_send_limit": 7})
    assert failed.status_code == 503
    await faults(api)
    mailbox = await one(api, tenant_id, SALES)
    assert (mailbox["smtp_auth_enabled"], mailbox["daily_send_limit"]) == (True, None)
    assert await login_reply(api, SALES) == 250

    await provision(api, tenant_id, "ops")
    ops = await one(api, tenant_id, OPS)
    not_ready = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{ops['id']}", json={"smtp_auth_enabled": True}
    )
    assert not_ready.status_code == 409
    assert not_ready.json()["detail"]["code"] == "mailbox_not_ready"


async def test_security_defaults_refuse_every_login_and_show(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["security_defaults_enabled"] is False
    # An admin turns security defaults on in Entra.
    store = api.sandbox.store
    with store.transaction():
        store.execute("UPDATE tenant SET security_defaults_enabled = 1 WHERE id = ?", (tenant_id,))
    assert await login_reply(api, SALES) == 535
    await _next_check(api)
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert (tenant["security_defaults_enabled"], tenant["smtp_auth_enabled"]) == (True, True)
    assert (await _switches(api, tenant_id))[1] == {SALES: False}
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/usage")).json()
    assert usage["smtp_auth_disabled_count"] == 1


async def test_without_policy_read_the_check_goes_on_unknowing(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    # The app was consented without Policy.Read.All (an older registration, say).
    store = api.sandbox.store
    with store.transaction():
        store.execute(
            "UPDATE consent SET roles_graph = ? WHERE tenant_id = ?",
            (
                '["Directory.ReadWrite.All", "Domain.ReadWrite.All", "User.ReadWrite.All"]',
                tenant_id,
            ),
        )
    before = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()["smtp_auth_checked_at"]
    await _next_check(api)  # past an hour: tokens are renewed with the new roles
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["security_defaults_enabled"] is None
    assert tenant["legacy_auth_blocked_by"] is None
    assert tenant["smtp_auth_checked_at"] > before
    assert (await _switches(api, tenant_id))[1] == {SALES: True}
