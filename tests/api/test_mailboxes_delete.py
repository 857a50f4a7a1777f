"""`DELETE /v1/tenants/{tenant_id}/mailboxes/{mailbox_id}`: removed from Exchange with its
account, forgotten, its slot free again; refused cleanly when it cannot be done safely."""

from __future__ import annotations

import json

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    SALES,
    blocked_then_released,
    calls,
    exchange_fails,
    exchange_mailboxes,
    faults,
    listed,
    one,
    provision,
    rows,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)
from tests.api.webhook_receiver import webhook_receiver

INFO = f"info@{DOMAIN}"
JANE = f"jane@{DOMAIN}"


def _path(tenant_id: str, mailbox_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"


def _user(api: Api, address: str) -> object:
    return api.sandbox.store.one(
        "SELECT id FROM directory_user WHERE user_principal_name = ?", (address,)
    )


async def _addresses_in_exchange(api: Api, tenant_id: str) -> set[str]:
    return {mailbox.primary_smtp_address for mailbox in await exchange_mailboxes(api, tenant_id)}


async def test_delete_removes_the_mailbox_and_frees_its_slot(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops", "info")
    sales = await one(api, tenant_id, SALES)
    assert _user(api, SALES) is not None
    full = await provision(api, tenant_id, "dora")
    assert full.json()["detail"]["code"] == "mailbox_limit_reached"

    deleted = await api.http.delete(_path(tenant_id, sales["id"]))
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert {m["primary_smtp"] for m in await listed(api, tenant_id)} == {OPS, INFO}
    # Gone from Exchange, and its Microsoft 365 account with it.
    assert await _addresses_in_exchange(api, tenant_id) >= {OPS, INFO}
    assert SALES not in await _addresses_in_exchange(api, tenant_id)
    assert _user(api, SALES) is None
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["mailbox_count"] == 2

    # The domain has a free slot again.
    again = await provision(api, tenant_id, "dora")
    assert again.status_code == 200
    assert again.json()["results"][0]["status"] == "created"
    # Deleting again: it is no longer there.
    repeated = await api.http.delete(_path(tenant_id, sales["id"]))
    assert repeated.status_code == 404
    assert repeated.json()["detail"]["code"] == "mailbox_not_found"
    usage = await api.http.get(f"{_path(tenant_id, sales['id'])}/usage")
    assert usage.status_code == 404


async def test_a_deleted_mailbox_leaves_enforcement_and_keeps_its_events(api: Api) -> None:
    day = await blocked_then_released(api, settle=False)
    limits = f"/v1/tenants/{day.tenant_id}/mailbox-limits?domain_scope={DOMAIN}"
    senders = (await api.http.get(limits)).json()["provisioning"]["outbound_spam_policies"]
    assert senders[0]["senders"] == sorted([SALES, OPS])

    deleted = await api.http.delete(_path(day.tenant_id, day.ids[SALES]))
    assert deleted.status_code == 204
    await api.worker.drain()
    fetched = (await api.http.get(limits)).json()
    assert fetched["policy"]["provisioning_status"] == "provisioned"
    assert [p["senders"] for p in fetched["provisioning"]["outbound_spam_policies"]] == [[OPS]]
    # The log of what enforcement did survives the mailbox; it no longer names its id.
    events = (await api.http.get("/v1/enforcement/events")).json()["events"]
    assert [(e["action_taken"], e["mailbox_address"], e["mailbox_id"]) for e in events] == [
        ("unblocked", SALES, None),
        ("blocked", SALES, None),
    ]
    # Found under its address (any case), no longer by its id.
    by_address = await api.http.get(
        "/v1/enforcement/events", params={"mailbox_address": SALES.upper()}
    )
    assert [e["action_taken"] for e in by_address.json()["events"]] == ["unblocked", "blocked"]
    other = await api.http.get("/v1/enforcement/events", params={"mailbox_address": OPS})
    assert other.json()["total"] == 0
    by_id = await api.http.get("/v1/enforcement/events", params={"mailbox_id": day.ids[SALES]})
    assert by_id.json()["detail"]["code"] == "mailbox_not_found"


async def test_a_mailbox_still_provisioning_is_not_deleted(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    refused = await api.http.delete(_path(tenant_id, mailbox_id))
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "mailbox_provisioning"
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    assert (await api.http.delete(_path(tenant_id, mailbox_id))).status_code == 204


async def test_a_failed_mailbox_is_forgotten_without_touching_a_recipient_not_ours(
    api: Api,
) -> None:
    tenant_id = await tenant_with_domain(api)
    exchange = api.context.connector.exchange
    # A group made outside TenantCore holds the address, so the mailbox fails.
    await exchange.ensure_security_group(tenant_id, name="jane-group", primary_smtp_address=JANE)
    await provision(api, tenant_id, "jane")
    await api.worker.drain()
    jane = await one(api, tenant_id, JANE)
    assert jane["status"] == "failed"

    before = await calls(api)
    assert (await api.http.delete(_path(tenant_id, jane["id"]))).status_code == 204
    assert await listed(api, tenant_id) == []
    assert (await calls(api)).get("exchange:Remove-Mailbox", 0) == before.get(
        "exchange:Remove-Mailbox", 0
    )
    assert await exchange.find_group(tenant_id, JANE) is not None


async def test_a_mailbox_an_admin_already_removed_is_forgotten(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    sales = await one(api, tenant_id, SALES)
    assert await api.context.connector.exchange.remove_mailbox(tenant_id, SALES)
    assert (await api.http.delete(_path(tenant_id, sales["id"]))).status_code == 204
    assert await listed(api, tenant_id) == []


async def test_microsoft_refusing_changes_nothing(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    sales = await one(api, tenant_id, SALES)
    for status, code, http_status in (
        (503, "microsoft_unavailable", 503),
        (403, "microsoft_access_denied", 403),
    ):
        await exchange_fails(api, "Remove-Mailbox", status)
        response = await api.http.delete(_path(tenant_id, sales["id"]))
        assert response.status_code == http_status, response.text
        assert response.json()["detail"]["code"] == code
        await faults(api)
        assert [m["primary_smtp"] for m in await listed(api, tenant_id)] == [SALES]
        assert SALES in await _addresses_in_exchange(api, tenant_id)
    assert (await api.http.delete(_path(tenant_id, sales["id"]))).status_code == 204


async def test_other_accounts_and_other_tenants_cannot_delete(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    sales = await one(api, tenant_id, SALES)
    other_tenant = await tenant_with_domain(api, "mail.globexcorp.com")
    other = api.client(await api.new_key("globex"))
    for client, path, code in (
        (other, _path(tenant_id, sales["id"]), "tenant_not_found"),
        (api.http, _path(other_tenant, sales["id"]), "mailbox_not_found"),
        (api.http, _path(tenant_id, "not-a-mailbox"), "mailbox_not_found"),
    ):
        response = await client.delete(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]["code"] == code, path
    assert [m["primary_smtp"] for m in await listed(api, tenant_id)] == [SALES]
    assert SALES in await _addresses_in_exchange(api, tenant_id)


async def test_a_tenant_busy_with_background_work_answers_503(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    sales = await one(api, tenant_id, SALES)
    [row] = await rows(api)
    api.context.settings = api.context.settings.model_copy(update={"tenant_lock_wait_seconds": 0.2})
    async with api.context.tenant_locks.hold(row.tenant_pk) as held:  # a worker's job, say
        assert held
        busy = await api.http.delete(_path(tenant_id, sales["id"]))
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert SALES in await _addresses_in_exchange(api, tenant_id)
    assert (await api.http.delete(_path(tenant_id, sales["id"]))).status_code == 204


async def test_a_deletion_is_sent_to_webhooks(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await api.http.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["mailbox.deleted"]}
        )
        assert hook.status_code == 201
        tenant_id = await tenant_with_ready_mailboxes(api, "sales")
        mailbox_id = (await one(api, tenant_id, SALES))["id"]
        refused = await api.http.delete(_path(tenant_id, "no-such-mailbox"))
        assert refused.status_code == 404
        assert (await api.http.delete(_path(tenant_id, mailbox_id))).status_code == 204
        await api.worker.drain()
        [event] = [json.loads(item.body) for item in receiver.received]
        assert event["type"] == "mailbox.deleted"
        assert event["data"]["mailbox_id"] == mailbox_id
        assert event["data"]["tenant_id"] == tenant_id
        assert event["data"]["primary_smtp"] == SALES
        assert event["data"]["domain_name"] == DOMAIN
        assert event["data"]["deleted_at"] == event["created_at"]
