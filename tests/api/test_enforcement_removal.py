"""`DELETE /v1/tenants/{tenant_id}/mailbox-limits`: a scope's mailboxes stop being capped (or
fall back to the tenant-wide policy), in Exchange as in the API."""

from __future__ import annotations

from tenantcore.enforcement.caps import cap_from_name
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    SALES,
    effective_send_limit,
    exchange_fails,
    faults,
    provision,
    send_codes,
    tenant_with_ready_mailboxes,
)


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailbox-limits"


async def _exchange_caps(api: Api, tenant_id: str) -> dict[int, list[str]]:
    rules = await api.context.connector.exchange.list_outbound_spam_rules(tenant_id)
    caps: dict[int, list[str]] = {}
    for rule in rules:
        cap = cap_from_name(rule.name)
        if cap is not None:
            caps[cap] = sorted(rule.sender_from)
    return caps


async def _transport_rules(api: Api, tenant_id: str) -> set[str]:
    rules = await api.context.connector.exchange.list_transport_rules(tenant_id)
    return {rule.name for rule in rules}


async def test_a_domain_s_mailboxes_fall_back_to_the_tenant_wide_policy(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    domain_policy = await api.http.post(
        _url(tenant_id), json={"daily_send_limit": 3, "domain_scope": DOMAIN}
    )
    tenant_policy = await api.http.post(_url(tenant_id), json={"daily_send_limit": 20})
    assert (domain_policy.status_code, tenant_policy.status_code) == (200, 200)
    assert await _exchange_caps(api, tenant_id) == {3: [SALES]}
    assert "TenantCore daily limit (mail.acmecorp.com)" in await _transport_rules(api, tenant_id)

    removed = await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert removed.status_code == 204, removed.text
    assert await _exchange_caps(api, tenant_id) == {20: [SALES]}
    rules = await _transport_rules(api, tenant_id)
    assert "TenantCore daily limit (mail.acmecorp.com)" not in rules
    assert "TenantCore daily limit (all domains)" in rules
    assert await effective_send_limit(api, tenant_id, SALES) == 20
    gone = await api.http.get(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert gone.json()["detail"]["code"] == "policy_not_found"
    kept = (await api.http.get(_url(tenant_id))).json()
    assert kept["provisioning"]["outbound_spam_policies"][0]["senders"] == [SALES]

    again = await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert again.json()["detail"]["code"] == "policy_not_found"


async def test_removing_the_last_policy_lifts_the_caps_in_exchange(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    response = await api.http.post(
        _url(tenant_id), json={"daily_send_limit": 2, "domain_scope": DOMAIN}
    )
    assert response.status_code == 200
    assert await send_codes(api, SALES, 3) == [250, 250, 550]  # the cap holds
    await api.advance_sandbox_clock(86_400)  # Exchange's block for the day lifts at midnight
    await api.worker.drain()

    removed = await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert removed.status_code == 204
    assert await _exchange_caps(api, tenant_id) == {}
    assert not any(name.startswith("TenantCore") for name in await _transport_rules(api, tenant_id))
    assert await effective_send_limit(api, tenant_id, SALES) is None
    assert await send_codes(api, SALES, 4) == [250] * 4  # no cap any more


async def test_refusals_change_nothing(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await api.http.post(_url(tenant_id), json={"daily_send_limit": 5, "domain_scope": DOMAIN})
    cases = [
        ({}, 404, "policy_not_found"),  # no tenant-wide policy
        ({"domain_scope": "absent.acmecorp.com"}, 404, "domain_not_found"),
    ]
    for params, status, code in cases:
        response = await api.http.delete(_url(tenant_id), params=params)
        assert (response.status_code, response.json()["detail"]["code"]) == (status, code)
    other = api.client(await api.new_key("globex"))
    refused = await other.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert refused.json()["detail"]["code"] == "tenant_not_found"
    created = await api.http.post("/v1/api-keys", json={"scope": "read", "name": "dashboard"})
    reader = api.client(created.json()["api_key"])
    read_only = await reader.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert (read_only.status_code, read_only.json()["detail"]["code"]) == (403, "read_only_key")
    assert await _exchange_caps(api, tenant_id) == {5: [SALES]}


async def test_a_microsoft_outage_keeps_the_policy_and_exchange_is_put_back(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    await api.http.post(_url(tenant_id), json={"daily_send_limit": 5, "domain_scope": DOMAIN})
    await exchange_fails(api, "Remove-TransportRule")
    response = await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert response.status_code == 503
    assert response.json()["detail"]["retryable"] is True
    state = (await api.http.get(_url(tenant_id), params={"domain_scope": DOMAIN})).json()
    assert state["policy"]["provisioning_status"] == "pending"

    await faults(api)
    await api.worker.drain()  # the reconciler puts the caps back as TenantCore holds them
    state = (await api.http.get(_url(tenant_id), params={"domain_scope": DOMAIN})).json()
    assert state["policy"]["provisioning_status"] == "provisioned"
    assert await _exchange_caps(api, tenant_id) == {5: [f"ops@{DOMAIN}", SALES]}
    # And the removal, repeated, goes through.
    assert (
        await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    ).status_code == 204
    assert await _exchange_caps(api, tenant_id) == {}


async def test_a_mailbox_made_after_the_removal_is_not_capped(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await api.http.post(_url(tenant_id), json={"daily_send_limit": 5, "domain_scope": DOMAIN})
    await api.http.delete(_url(tenant_id), params={"domain_scope": DOMAIN})
    assert (await provision(api, tenant_id, "ops")).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert await _exchange_caps(api, tenant_id) == {}
    assert await effective_send_limit(api, tenant_id, f"ops@{DOMAIN}") is None
