"""The audit log: every change request an account's keys send, with the key, the request id
and the answer's status; the body's field names but never their values; only the account's
own entries; replays and 429s left out; old entries dropped after the retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import select, update

from tenantcore.app import create_app
from tenantcore.audit.models import AuditEntry
from tenantcore.core.db import unit_of_work
from tenantcore.core.deps import PrincipalDep
from tenantcore.core.ratelimit import RateLimiter
from tests.api.conftest import Api
from tests.api.mailbox_support import PASSWORD, SALES, one, provision, tenant_with_domain
from tests.api.test_rate_limit import ManualClock


async def _log(client: httpx2.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/audit-log", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _key_id(client: httpx2.AsyncClient) -> str:
    keys = (await client.get("/v1/api-keys")).json()["keys"]
    return str(next(key["id"] for key in keys if key["current"]))


async def test_each_change_request_is_recorded_with_its_key_and_answer(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    provisioned = await provision(api, tenant_id, "sales")
    assert provisioned.status_code == 200
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    refused = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 99}
    )
    assert refused.status_code == 400
    await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")  # reads are not recorded

    log = await _log(api.http)
    assert (log["count"], log["total"], log["limit"], log["offset"]) == (5, 5, 50, 0)
    newest = log["entries"][0]
    assert newest["method"] == "PATCH"
    assert newest["route"] == "/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    assert newest["path"] == f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    assert (newest["tenant_id"], newest["fields"], newest["status_code"]) == (
        tenant_id,
        ["daily_send_limit"],
        400,
    )
    assert newest["request_id"] == refused.headers["X-Request-Id"]
    assert newest["api_key_id"] == await _key_id(api.http)
    routes = [(e["method"], e["route"], e["status_code"]) for e in reversed(log["entries"])]
    assert routes == [
        ("POST", "/v1/tenants", 201),
        ("POST", "/v1/tenants/{tenant_id}/domains", 201),
        ("POST", "/v1/tenants/{tenant_id}/domains/{domain}/verify", 200),
        ("POST", "/v1/tenants/{tenant_id}/mailboxes", 200),
        ("PATCH", "/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", 400),
    ]
    provisioning = next(e for e in log["entries"] if e["route"].endswith("/mailboxes"))
    assert provisioning["fields"] == ["account_password", "domain", "mailboxes"]
    assert provisioning["request_id"] == provisioned.headers["X-Request-Id"]
    # The password is named, never kept.
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        stored = (await session.scalars(select(AuditEntry))).all()
    assert stored
    assert all(PASSWORD not in repr(vars(entry)) for entry in stored)


async def test_filters_and_paging(api: Api) -> None:
    first = await tenant_with_domain(api)
    second = await api.connect_tenant()
    everything = await _log(api.http)
    assert everything["total"] >= 4
    only_first = await _log(api.http, tenant_id=first.upper())
    assert only_first["total"] >= 2
    assert {e["tenant_id"] for e in only_first["entries"]} == {first}
    connects = await _log(api.http, method="post", limit=1)
    assert connects["count"] == 1
    assert connects["total"] == everything["total"]  # all of these were POSTs
    page_two = await _log(api.http, limit=1, offset=1)
    assert page_two["entries"][0]["id"] == everything["entries"][1]["id"]
    newest = everything["entries"][0]
    assert newest["path"] == "/v1/tenants"  # the second tenant's connection, last
    assert second not in {e["tenant_id"] for e in everything["entries"]}  # in the body only
    since = (await _log(api.http, since=newest["created_at"]))["entries"]
    assert newest["id"] in {e["id"] for e in since}
    until = (await _log(api.http, until=newest["created_at"]))["entries"]
    assert newest["id"] not in {e["id"] for e in until}
    for bad in (
        {"method": "GET"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"since": "yesterday"},
        {"since": newest["created_at"], "until": newest["created_at"]},
    ):
        response = await api.http.get("/v1/audit-log", params=bad)
        assert response.status_code == 400, bad
        assert response.json()["detail"]["code"] == "invalid_audit_filter"


async def test_another_accounts_entries_are_invisible_and_its_keys_are_told_apart(
    api: Api,
) -> None:
    await api.connect_tenant()
    other = api.client(await api.new_key("other-account"))
    assert (await _log(other))["total"] == 0
    await other.post("/v1/tenants", json={"tenant_id": "not-a-guid"})
    assert [e["status_code"] for e in (await _log(other))["entries"]] == [400]
    assert all(e["status_code"] != 400 for e in (await _log(api.http))["entries"])

    # A second, read-only key of the first account: its refused write is recorded under it,
    # and it may read the log.
    created = await api.http.post("/v1/api-keys", json={"name": "dashboard", "scope": "read"})
    reader = api.client(created.json()["api_key"])
    denied = await reader.delete("/v1/api-keys/some-key")
    assert denied.status_code == 403
    mine = await _log(reader, api_key_id=created.json()["id"])
    assert [(e["method"], e["status_code"]) for e in mine["entries"]] == [("DELETE", 403)]


async def test_unauthenticated_requests_rate_limits_and_replays_are_not_recorded(
    api: Api,
) -> None:
    nobody = api.client(**{"X-Test": "no key"})
    assert (await nobody.post("/v1/tenants", json={})).status_code == 401
    wrong = api.client("tc_live_" + "0" * 48)
    assert (await wrong.post("/v1/tenants", json={})).status_code == 401
    assert (await _log(api.http))["total"] == 0

    clock = ManualClock()
    api.context.rate_limiter = RateLimiter(per_minute=30, burst=1, clock=clock)
    assert (await api.http.post("/v1/tenants", json={})).status_code == 400  # recorded
    assert (await api.http.post("/v1/tenants", json={})).status_code == 429  # not recorded
    clock.now += 60
    assert (await _log(api.http))["total"] == 1
    api.context.rate_limiter = RateLimiter(per_minute=0, burst=1)

    headers = {"Idempotency-Key": "connect-once"}
    body = {"tenant_id": "6f1c1d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f"}
    first = await api.http.post("/v1/tenants", json=body, headers=headers)
    again = await api.http.post("/v1/tenants", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await _log(api.http))["total"] == 2


async def test_entries_past_the_retention_are_dropped(api: Api) -> None:
    await api.connect_tenant()
    old_id = (await _log(api.http))["entries"][0]["id"]
    retention = api.context.settings.audit_retention_days
    async with unit_of_work(api.context.sessionmaker) as session:
        await session.execute(
            update(AuditEntry).values(
                created_at=api.context.now() - timedelta(days=retention, seconds=1)
            )
        )
    await api.connect_tenant()  # a new entry of the account drops the old one
    ids = [e["id"] for e in (await _log(api.http))["entries"]]
    assert len(ids) == 1
    assert old_id not in ids


async def test_a_change_request_that_fails_unexpectedly_is_recorded_as_a_500(api: Api) -> None:
    app = create_app(api.context)

    async def broken(tenant_id: str, principal: PrincipalDep) -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/tenants/{tenant_id}/broken", broken, methods=["POST"])
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {api.key}", "X-Request-Id": "incident-7"}
    async with httpx2.AsyncClient(transport=transport, base_url="http://api.test") as client:
        response = await client.post(
            "/v1/tenants/ABC/broken", json={"display_name": "secret value"}, headers=headers
        )
    assert response.status_code == 500
    [entry] = (await _log(api.http, method="POST"))["entries"]
    assert (entry["status_code"], entry["request_id"], entry["route"]) == (
        500,
        "incident-7",
        "/v1/tenants/{tenant_id}/broken",
    )
    assert (entry["tenant_id"], entry["fields"]) == ("abc", ["display_name"])
