"""Connecting, listing, inspecting and disconnecting tenants; discovery and bootstrap."""

from __future__ import annotations

import uuid

from tenantcore.tenants.bootstrap import advance_tenant
from tests.api.conftest import Api
from tests.api.mailbox_support import exchange_fails, faults, tenant_with_domain

TENANT_FIELDS = {
    "id",
    "tenant_id",
    "tenant_name",
    "tenant_domain",
    "default_domain",
    "domain_count",
    "mailbox_count",
    "status",
    "discovery_completed",
    "exchange_bootstrap_status",
    "consented_at",
    "last_sync_at",
}


async def test_connect_then_bootstrap_becomes_ready(api: Api) -> None:
    tenant_id = str(uuid.uuid4())
    response = await api.http.post("/v1/tenants", json={"tenant_id": tenant_id.upper()})
    assert response.status_code == 201
    body = response.json()
    assert body.keys() >= TENANT_FIELDS
    assert body["tenant_id"] == tenant_id
    assert body["status"] == "connected"
    assert body["exchange_bootstrap_status"] == "pending"
    assert body["consented_at"] is not None

    await api.worker.drain()
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["discovery_completed"] is True
    assert tenant["exchange_bootstrap_status"] == "ready"
    assert tenant["tenant_domain"].endswith(".onmicrosoft.com")
    assert tenant["default_domain"] == tenant["tenant_domain"]
    assert tenant["tenant_name"]
    # The bootstrap really happened in Exchange: the org is hydrated and SMTP AUTH is on.
    sandbox_tenant = (await api.control.get(f"/_sandbox/tenants/{tenant_id}")).json()
    assert sandbox_tenant["dehydrated"] is False
    assert sandbox_tenant["smtp_auth_disabled"] is False


async def test_bootstrap_waits_for_exchange_to_hydrate(api: Api) -> None:
    await api.sandbox_config(bootstrap_seconds=600)
    tenant_id = await api.connect_tenant()
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["exchange_bootstrap_status"] == "pending"
    await api.advance_sandbox_clock(600)
    # The next pass is due HYDRATION_POLL later on the product's own clock.

    await advance_tenant(api.context, tenant["id"])
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["exchange_bootstrap_status"] == "ready"


async def test_connect_is_idempotent_and_lists_newest_first(api: Api) -> None:
    first = await api.connect_tenant()
    second = await api.connect_tenant()
    again = await api.http.post("/v1/tenants", json={"tenant_id": first})
    assert again.status_code == 200
    listed = (await api.http.get("/v1/tenants")).json()
    assert listed["count"] == 2
    assert [t["tenant_id"] for t in listed["tenants"]] == [second, first]


async def test_tenant_of_another_account_is_invisible(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    other = api.client(await api.new_key("globex"))
    assert (await other.get("/v1/tenants")).json() == {
        "tenants": [],
        "count": 0,
        "next_cursor": None,
    }
    for response in (
        await other.get(f"/v1/tenants/{tenant_id}"),
        await other.delete(f"/v1/tenants/{tenant_id}"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    taken = await other.post("/v1/tenants", json={"tenant_id": tenant_id})
    assert taken.status_code == 409
    assert taken.json()["detail"]["code"] == "tenant_already_connected"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).status_code == 200


async def test_bad_input_is_a_400_with_a_code(api: Api) -> None:
    cases = [
        ({"tenant_id": "not-a-guid"}, "invalid_tenant_id"),
        ({}, "invalid_request"),
        ({"tenant_id": 42}, "invalid_request"),
        ({"tenant_id": str(uuid.uuid4()), "extra": 1}, "invalid_request"),
    ]
    for body, code in cases:
        response = await api.http.post("/v1/tenants", json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"]["code"] == code, body
    malformed = await api.http.post(
        "/v1/tenants", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert (await api.http.get("/v1/tenants")).json()["count"] == 0


async def test_unknown_tenant_and_disconnect(api: Api) -> None:
    missing = await api.http.get("/v1/tenants/not-a-guid")
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "tenant_not_found"
    tenant_id = await api.connect_tenant()
    assert (await api.http.delete(f"/v1/tenants/{tenant_id}")).status_code == 204
    gone = await api.http.get(f"/v1/tenants/{tenant_id}")
    assert gone.json()["detail"]["code"] == "tenant_not_found"
    # Reconnecting attaches to the same sandbox tenant again.
    assert (await api.http.post("/v1/tenants", json={"tenant_id": tenant_id})).status_code == 201


async def test_connecting_again_restarts_a_failed_bootstrap_and_keeps_the_domains(
    api: Api,
) -> None:
    tenant_id = await tenant_with_domain(api)
    # The app lost its Exchange role, say: a fresh tenant's bootstrap fails for good.
    await exchange_fails(api, "Get-OrganizationConfig", status=403)
    failing = await api.connect_tenant()
    await api.advance_sandbox_clock(api.context.settings.bootstrap_timeout_seconds + 1)
    await api.worker.drain()
    tenant = (await api.http.get(f"/v1/tenants/{failing}")).json()
    assert tenant["exchange_bootstrap_status"] == "failed"
    assert tenant["bootstrap_error"]

    # Connecting a failed tenant again while the cause remains: it starts over, and fails
    # again only after a whole new timeout.
    again = await api.http.post("/v1/tenants", json={"tenant_id": failing})
    assert again.status_code == 200
    assert (again.json()["exchange_bootstrap_status"], again.json()["bootstrap_error"]) == (
        "pending",
        None,
    )
    await api.worker.drain()
    assert (await api.http.get(f"/v1/tenants/{failing}")).json()[
        "exchange_bootstrap_status"
    ] == "pending"

    # The cause fixed, the restarted bootstrap's next attempt (within five minutes) succeeds.
    await faults(api)
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    assert (await api.http.get(f"/v1/tenants/{failing}")).json()[
        "exchange_bootstrap_status"
    ] == "ready"
    # A tenant that is fine is left as it is.
    ready = (await api.http.post("/v1/tenants", json={"tenant_id": tenant_id})).json()
    assert ready["exchange_bootstrap_status"] == "ready"
    assert ready["domain_count"] == 1
