"""The whole customer journey over HTTP, in order: key → connect tenant → bootstrap ready → add
and verify a domain → provision three mailboxes → the fourth is refused → readiness after the
(shortened) propagation → PATCH a limit → usage."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2

from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, body


async def test_key_to_usage(api: Api) -> None:
    await api.sandbox_config(
        bootstrap_seconds=30, propagation_min_seconds=60, propagation_max_seconds=60
    )
    key = await api.new_key("flow-account")
    http = api.client(key)
    tenant_id = str(uuid.uuid4())

    connected = await http.post("/v1/tenants", json={"tenant_id": tenant_id})
    assert connected.status_code == 201, connected.text
    assert connected.json()["exchange_bootstrap_status"] != "ready"
    await api.worker.drain()
    # The org is still hydrating: enforcement must wait for the bootstrap.
    early = await http.post(f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 5})
    assert early.status_code == 409
    assert early.json()["detail"]["code"] == "exchange_bootstrap_not_ready"
    await api.advance_sandbox_clock(30)
    await api.worker.drain()
    tenant = (await http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["exchange_bootstrap_status"] == "ready"

    added = await http.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": DOMAIN})
    assert added.status_code in (200, 201), added.text
    assert added.json()["dns_records"], "the records to publish come back with the domain"
    verified = await http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert verified.status_code == 200, verified.text
    assert verified.json()["is_verified"] is True

    created = await http.post(
        f"/v1/tenants/{tenant_id}/mailboxes",
        json={
            "domain": DOMAIN,
            "account_password": "SecureP@ssw0rd!",
            "mailboxes": [{"name": f"Rep {n}", "email": f"rep{n}@{DOMAIN}"} for n in (1, 2, 3)],
        },
    )
    assert created.status_code == 200, created.text
    assert [m["status"] for m in created.json()["results"]] == ["created"] * 3

    fourth = await http.post(f"/v1/tenants/{tenant_id}/mailboxes", json=body("rep4"))
    assert fourth.status_code == 400
    assert fourth.json()["detail"]["code"] == "mailbox_limit_reached"

    await api.worker.drain()
    assert {m["status"] for m in await listed(http, tenant_id)} == {"provisioning"}
    await api.advance_sandbox_clock(60)
    await api.worker.drain()
    mailboxes = await listed(http, tenant_id)
    assert len(mailboxes) == 3
    assert {m["status"] for m in mailboxes} == {"ready"}
    assert all(m["ready_at"] for m in mailboxes)

    rep1 = next(m for m in mailboxes if m["primary_smtp"] == f"rep1@{DOMAIN}")
    patched = await http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{rep1['id']}", json={"daily_send_limit": 7}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["mailbox"]["daily_send_limit"] == 7

    usage = await http.get(f"/v1/tenants/{tenant_id}/mailboxes/{rep1['id']}/usage")
    assert usage.status_code == 200, usage.text
    numbers = usage.json()
    assert numbers["daily_send_limit"] == 7
    assert numbers["sends_today"] == 0
    assert numbers["remaining_sends"] == 7
    assert numbers["utilization_pct"] == 0.0
    assert numbers["is_blocked"] is False


async def listed(http: httpx2.AsyncClient, tenant_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"/v1/tenants/{tenant_id}/mailboxes")
    assert response.status_code == 200, response.text
    mailboxes: list[dict[str, Any]] = response.json()["mailboxes"]
    return mailboxes
