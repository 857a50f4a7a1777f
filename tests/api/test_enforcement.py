"""`/v1/tenants/{tenant_id}/mailbox-limits` and `/v1/enforcement/events`: validation, scopes,
and what gets provisioned in Exchange."""

from __future__ import annotations

import pytest

from tenantcore.core.db import unit_of_work
from tests.api.conftest import Api
from tests.api.flows import verified_domain

DOMAIN = "mail.acmecorp.com"


async def test_domain_policy_provisions_the_switch_in_exchange(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    await verified_domain(api, tenant_id, DOMAIN)
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 25, "domain_scope": DOMAIN},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["tenant_id"] == tenant_id
    assert body["daily_send_limit"] == 25
    assert body["domain_scope"] == DOMAIN
    assert body["scope_label"] == DOMAIN
    assert body["policy"]["provisioning_status"] == "provisioned"
    provisioning = body["provisioning"]
    assert provisioning["state"] == "provisioned"
    assert provisioning["block_group"]["members"] == []
    assert provisioning["transport_rule"]["reject_status_code"] == "5.7.901"
    # No mailbox yet, so no cap policy is needed.
    assert provisioning["outbound_spam_policies"] == []

    again = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 10, "domain_scope": DOMAIN.upper()},
    )
    assert again.status_code == 200
    assert again.json()["daily_send_limit"] == 10
    fetched = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert fetched.status_code == 200
    assert fetched.json()["daily_send_limit"] == 10
    assert fetched.json()["provisioning"]["transport_rule"] is not None


async def test_tenant_wide_policy(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 25}
    )
    assert response.status_code == 200
    assert response.json()["domain_scope"] is None
    assert response.json()["scope_label"] == "All domains"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")).status_code == 200
    missing = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": "other.com"}
    )
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "domain_not_found"


@pytest.mark.parametrize("value", [0, 26, -1, "25", 2.5, True, None])
async def test_limit_outside_1_to_25_is_invalid_send_limit(api: Api, value: object) -> None:
    tenant_id = await api.connect_tenant()
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": value}
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "invalid_send_limit"
    listed = await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")
    assert listed.json()["detail"]["code"] == "policy_not_found"


async def test_scope_and_tenant_errors(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    unknown_domain = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 5, "domain_scope": "nope.example.com"},
    )
    assert unknown_domain.status_code == 404
    assert unknown_domain.json()["detail"]["code"] == "domain_not_found"
    no_policy = await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")
    assert no_policy.status_code == 404
    assert no_policy.json()["detail"]["code"] == "policy_not_found"
    other = api.client(await api.new_key("globex"))
    for response in (
        await other.post(f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 5}),
        await other.get(f"/v1/tenants/{tenant_id}/mailbox-limits"),
        await other.get("/v1/enforcement/events", params={"tenant_id": tenant_id}),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")).status_code == 404


async def test_bootstrap_not_ready_is_409(api: Api) -> None:
    await api.sandbox_config(bootstrap_seconds=3600)
    tenant_id = await api.connect_tenant()
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 5}
    )
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "exchange_bootstrap_not_ready"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")).status_code == 404


async def test_microsoft_outage_leaves_the_policy_pending_then_the_worker_finishes(
    api: Api,
) -> None:
    tenant_id = await api.connect_tenant()
    await api.control.put(
        "/_sandbox/faults",
        json={
            "rules": [
                {
                    "host": "exchange",
                    "operation": "*",
                    "error_rate": 1.0,
                    "error_statuses": [503],
                    "retry_after_seconds": 0,
                }
            ]
        },
    )
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 5}
    )
    assert response.status_code == 200
    policy = response.json()["policy"]
    assert policy["provisioning_status"] == "pending"
    assert "Transient" in policy["provisioning_error"]
    await api.control.delete("/_sandbox/faults")
    from sqlalchemy import select

    from tenantcore.enforcement.service import provision_tenant
    from tenantcore.tenants.models import Tenant

    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        tenant_pk = await session.scalar(select(Tenant.id).where(Tenant.tenant_id == tenant_id))
    assert tenant_pk is not None
    await provision_tenant(api.context, tenant_pk)
    fetched = (await api.http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")).json()
    assert fetched["policy"]["provisioning_status"] == "provisioned"
    assert fetched["provisioning"]["transport_rule"] is not None


async def test_events_filters_are_validated(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    empty = await api.http.get("/v1/enforcement/events", params={"tenant_id": tenant_id})
    assert empty.status_code == 200
    assert empty.json() == {
        "events": [],
        "count": 0,
        "total": 0,
        "limit": 50,
        "offset": 0,
        "next_cursor": None,
    }
    for params in ({"action": "paused"}, {"limit": 0}, {"limit": 501}, {"offset": -1}):
        response = await api.http.get("/v1/enforcement/events", params=params)
        assert response.status_code == 400, params
        assert response.json()["detail"]["code"] == "invalid_event_filter", params
    wrong_type = await api.http.get("/v1/enforcement/events", params={"limit": "many"})
    assert wrong_type.status_code == 400


async def test_every_policy_of_a_tenant_is_listed(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    url = f"/v1/tenants/{tenant_id}/mailbox-limits"
    assert (await api.http.get(f"{url}/policies")).json() == {
        "tenant_id": tenant_id,
        "policies": [],
        "count": 0,
    }
    await verified_domain(api, tenant_id, DOMAIN)
    await verified_domain(api, tenant_id, "a.acmecorp.com")
    ramp = {"start": 5, "daily_increase": 5}
    for body in (
        {"daily_send_limit": 10, "domain_scope": DOMAIN},
        {"daily_send_limit": 25, "ramp": ramp},
        {"daily_send_limit": 7, "domain_scope": "a.acmecorp.com"},
    ):
        assert (await api.http.post(url, json=body)).status_code == 200
    listed = (await api.http.get(f"{url}/policies")).json()
    assert listed["count"] == 3
    assert [(p["scope_label"], p["daily_send_limit"]) for p in listed["policies"]] == [
        ("All domains", 25),
        ("a.acmecorp.com", 7),
        (DOMAIN, 10),
    ]
    assert listed["policies"][0]["ramp"] == {**ramp, "full_after_days": 4}
    # Each as the scope's own GET shows it.
    one = (await api.http.get(url, params={"domain_scope": DOMAIN})).json()["policy"]
    assert listed["policies"][2] == one
    other = api.client(await api.new_key("globex"))
    hidden = await other.get(f"{url}/policies")
    assert hidden.json()["detail"]["code"] == "tenant_not_found"
