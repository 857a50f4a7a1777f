"""`Idempotency-Key`: a repeated write gets the first answer instead of doing the work twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tenantcore.core.db import unit_of_work
from tenantcore.core.idempotency import IdempotencyRecord
from tests.api.conftest import Api
from tests.api.mailbox_support import SALES, listed, one, rows, tenant_with_ready_mailboxes

HOOK = {"url": "https://hooks.example.com/tenantcore", "events": ["mailbox.ready"]}


async def test_a_repeated_create_is_answered_from_the_first(api: Api) -> None:
    headers = {"Idempotency-Key": "create-hook-1"}
    first = await api.http.post("/v1/webhooks", json=HOOK, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = await api.http.post("/v1/webhooks", json=HOOK, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content  # the same webhook, secret included
    assert again.headers["content-type"] == first.headers["content-type"]
    assert (await api.http.get("/v1/webhooks")).json()["count"] == 1
    # Without the key, or with another one, it is a new request.
    other = await api.http.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "2"})
    assert other.json()["id"] != first.json()["id"]
    assert (await api.http.get("/v1/webhooks")).json()["count"] == 2


async def test_a_key_is_bound_to_its_request_and_its_api_key(api: Api) -> None:
    headers = {"Idempotency-Key": "k"}
    assert (await api.http.post("/v1/webhooks", json=HOOK, headers=headers)).status_code == 201
    changed = {**HOOK, "events": ["mailbox.failed"]}
    reused = await api.http.post("/v1/webhooks", json=changed, headers=headers)
    assert reused.status_code == 400
    assert reused.json()["detail"]["code"] == "idempotency_key_reused"
    elsewhere = await api.http.post("/v1/api-keys", json={}, headers=headers)
    assert elsewhere.json()["detail"]["code"] == "idempotency_key_reused"
    # Another API key's requests never see this key.
    other = api.client(await api.new_key("globex"))
    theirs = await other.post("/v1/webhooks", json=HOOK, headers=headers)
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert (await other.get("/v1/webhooks")).json()["count"] == 1


async def test_a_refused_request_can_be_retried_with_the_same_key(api: Api) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    bad = await api.http.post("/v1/webhooks", json={**HOOK, "url": "ftp://x"}, headers=headers)
    assert bad.status_code == 400
    fixed = await api.http.post("/v1/webhooks", json=HOOK, headers=headers)
    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


async def test_bad_keys_are_refused_and_reads_ignore_keys(api: Api) -> None:
    for key in ("x" * 256, "two words", "tab\there"):
        response = await api.http.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": key})
        assert response.status_code == 400, key
        assert response.json()["detail"]["code"] == "invalid_idempotency_key", key
    assert (await api.http.get("/v1/webhooks")).json()["count"] == 0
    read = await api.http.get("/v1/webhooks", headers={"Idempotency-Key": "two words"})
    assert read.status_code == 200
    anonymous = api.client(**{"X-Nothing": "1"})
    unauthenticated = await anonymous.post(
        "/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "k"}
    )
    assert unauthenticated.json()["detail"]["code"] == "missing_api_key"


async def test_a_repeat_while_the_first_runs_is_told_to_wait(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    url = f"/v1/tenants/{tenant_id}/mailboxes/{(await one(api, tenant_id, SALES))['id']}"
    headers = {"Idempotency-Key": "delete-sales"}
    [row] = await rows(api)
    api.context.settings = api.context.settings.model_copy(update={"tenant_lock_wait_seconds": 5})
    async with api.context.tenant_locks.hold(row.tenant_pk):  # background work holds the tenant
        first = asyncio.create_task(api.http.delete(url, headers=headers))
        await asyncio.sleep(0.3)  # the first has claimed the key and waits for the tenant
        concurrent = await api.http.delete(url, headers=headers)
        assert concurrent.status_code == 409
        assert concurrent.json()["detail"]["code"] == "idempotency_request_in_progress"
    assert (await first).status_code == 204
    assert await listed(api, tenant_id) == []
    # A repeat gets the first answer, not mailbox_not_found.
    repeat = await api.http.delete(url, headers=headers)
    assert (repeat.status_code, repeat.headers["idempotent-replayed"]) == (204, "true")


async def test_a_claim_left_by_a_crash_is_taken_over(api: Api) -> None:
    first = await api.http.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "c"})
    async with unit_of_work(api.context.sessionmaker) as session:
        [record] = (await session.execute(select(IdempotencyRecord))).scalars().all()
        # As a process killed mid-request leaves it: claimed, no answer, six minutes old.
        record.status_code = None
        record.body = None
        record.created_at = datetime.now(UTC) - timedelta(minutes=6)
    taken_over = await api.http.post("/v1/webhooks", json=HOOK, headers={"Idempotency-Key": "c"})
    assert taken_over.status_code == 201
    assert taken_over.json()["id"] != first.json()["id"]


async def test_a_revoked_key_gets_no_kept_answer(api: Api) -> None:
    headers = {"Idempotency-Key": "mint"}
    minted = await api.http.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert minted.status_code == 201
    own_id = next(
        k["id"] for k in (await api.http.get("/v1/api-keys")).json()["keys"] if k["current"]
    )
    other = api.client(minted.json()["api_key"])
    assert (await other.delete(f"/v1/api-keys/{own_id}")).status_code == 204
    # The kept answer holds a key: the revoked key that asked for it must not get it back.
    replay = await api.http.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["detail"]["code"] == "invalid_api_key"
    assert minted.json()["api_key"] not in replay.text
