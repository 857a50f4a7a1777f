"""The 3-per-domain limit under concurrent requests (issue 4, acceptance 3). Runs on SQLite,
and on PostgreSQL when TENANTCORE_TEST_DATABASE_URL names one: there the requests really
overlap, and the losers of a slot race take the savepoint path."""

from __future__ import annotations

import asyncio

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    body,
    exchange_mailboxes,
    listed,
    rows,
    tenant_with_domain,
)


async def test_twenty_concurrent_requests_create_exactly_three(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    url = f"/v1/tenants/{tenant_id}/mailboxes"
    responses = await asyncio.gather(*(api.http.post(url, json=body(f"sdr{n}")) for n in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 3 + [400] * 17, [r.text for r in responses if r.status_code >= 500]
    for response in responses:
        if response.status_code == 400:
            assert response.json()["detail"]["code"] == "mailbox_limit_reached"
        else:
            assert response.json()["created_count"] == 1
    assert sorted(row.slot for row in await rows(api)) == [1, 2, 3]
    assert len(await listed(api, tenant_id)) == 3

    await api.worker.drain()
    in_exchange = await exchange_mailboxes(api, tenant_id)
    assert len(in_exchange) == 3
    assert all(m.primary_smtp_address.endswith(f"@{DOMAIN}") for m in in_exchange)


async def test_concurrent_requests_for_overlapping_mailboxes(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    url = f"/v1/tenants/{tenant_id}/mailboxes"
    requests = [body("anna", "ben"), body("ben", "anna"), body("carl", "anna"), body("ben")] * 3
    responses = await asyncio.gather(*(api.http.post(url, json=r) for r in requests))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    created = [
        result["email"]
        for response in responses
        for result in response.json()["results"]
        if result["status"] == "created"
    ]
    # Every address created exactly once; everything else saw it as existing.
    assert sorted(created) == [f"{local}@{DOMAIN}" for local in ("anna", "ben", "carl")]
    assert sorted(row.slot for row in await rows(api)) == [1, 2, 3]
