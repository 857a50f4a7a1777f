"""OAuth sending: the customer's own app, given to TenantCore by its app id, is registered in
Exchange and given FullAccess on every ready mailbox (and each later one), after which it logs
in to SMTP with XOAUTH2 as any of them; removing it takes it out of Exchange again."""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
import uuid
from typing import Any

import httpx2

from tenantcore.sandbox.server import SandboxServer
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    SALES,
    calls,
    exchange_fails,
    faults,
    listed,
    login_reply,
    provision,
    tenant_with_ready_mailboxes,
)
from tests.api.webhook_receiver import webhook_receiver

SENDER_APP = "3b7f0c1e-9d24-4a6b-8e15-6c2d9a0f4b71"
SENDER_SECRET = "sender-app-secret"


async def _consent(api: Api, tenant_id: str, app_id: str = SENDER_APP) -> None:
    """The tenant's admin consents the customer's app with SMTP.SendAsApp."""
    response = await api.control.post(
        "/_sandbox/tenants",
        json={
            "tenant_id": tenant_id,
            "client_id": app_id,
            "client_secret": SENDER_SECRET,
            "graph_roles": [],
            "exchange_roles": ["SMTP.SendAsApp"],
        },
    )
    assert response.status_code == 200, response.text


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/sending-app"


async def _put(client: httpx2.AsyncClient, tenant_id: str, app_id: str) -> httpx2.Response:
    return await client.put(_url(tenant_id), json={"app_id": app_id})


async def _state(api: Api, tenant_id: str) -> dict[str, Any]:
    response = await api.http.get(_url(tenant_id))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _xoauth2_send(port: int, ca_pem: str, address: str, token: str) -> int:
    """Log in as the mailbox with the app's token and send; the first refusal's code or 250."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cadata=ca_pem))
        client.ehlo()
        try:
            client.auth("XOAUTH2", lambda _=None: f"user={address}\x01auth=Bearer {token}\x01\x01")
        except smtplib.SMTPAuthenticationError as refused:
            return refused.smtp_code
        client.sendmail(address, ["lead@example.net"], b"Subject: Hi\r\n\r\nHello\r\n")
        return 250


async def _oauth_send(api: Api, tenant_id: str, address: str) -> int:
    """What the customer's sender does: a client-credentials token for Exchange, then SMTP."""
    token = await api.control.post(
        f"/{tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": SENDER_APP,
            "client_secret": SENDER_SECRET,
            "scope": "https://outlook.office365.com/.default",
        },
    )
    assert token.status_code == 200, token.text
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        return await asyncio.to_thread(
            _xoauth2_send,
            addresses.smtp_port,
            server.tls.ca_pem,
            address,
            token.json()["access_token"],
        )
    finally:
        await server.stop()


async def test_the_app_is_given_every_ready_mailbox_and_sends_with_oauth(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    await _consent(api, tenant_id)
    assert await _oauth_send(api, tenant_id, SALES) == 535  # not in Exchange yet

    started = await _put(api.http, tenant_id, SENDER_APP)
    assert started.status_code == 202, started.text
    assert (started.json()["status"], started.json()["granted_mailboxes"]) == ("pending", 0)
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["status"], state["ready_mailboxes"], state["granted_mailboxes"]) == (
        "ready",
        2,
        2,
    )
    assert state["token_scope"] == "https://outlook.office365.com/.default"
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["sending_app_status"] == "ready"
    exchange = api.context.connector.exchange
    registered = await exchange.get_service_principal(tenant_id, SENDER_APP)
    assert registered is not None
    assert registered.object_id == state["service_principal_id"]
    assert await _oauth_send(api, tenant_id, SALES) == 250
    assert await _oauth_send(api, tenant_id, OPS) == 250

    # A mailbox that becomes ready later is given to the app too.
    assert (await provision(api, tenant_id, "events")).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert {m["status"] for m in await listed(api, tenant_id)} == {"ready"}
    state = await _state(api, tenant_id)
    assert (state["status"], state["granted_mailboxes"]) == ("ready", 3)
    assert await _oauth_send(api, tenant_id, f"events@{DOMAIN}") == 250

    # The same app again changes nothing; another one must wait for this one to go.
    again = await _put(api.http, tenant_id, SENDER_APP.upper())
    assert (again.status_code, again.json()["status"]) == (200, "ready")
    other = await _put(api.http, tenant_id, str(uuid.uuid4()))
    assert other.status_code == 409
    assert other.json()["detail"]["code"] == "sending_app_conflict"


async def test_removing_the_app_takes_it_out_of_exchange(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await _consent(api, tenant_id)
    await _put(api.http, tenant_id, SENDER_APP)
    await api.worker.drain()
    assert await _oauth_send(api, tenant_id, SALES) == 250

    removing = await api.http.delete(_url(tenant_id))
    assert (removing.status_code, removing.json()["status"]) == (202, "removing")
    busy = await _put(api.http, tenant_id, SENDER_APP)
    assert busy.status_code == 409
    await api.worker.drain()
    assert (await api.http.get(f"/v1/tenants/{tenant_id}")).json()["sending_app_status"] is None
    gone = await api.http.get(_url(tenant_id))
    assert (gone.status_code, gone.json()["detail"]["code"]) == (404, "sending_app_not_found")
    assert await api.context.connector.exchange.get_service_principal(tenant_id, SENDER_APP) is None
    assert await _oauth_send(api, tenant_id, SALES) == 535
    assert (await api.http.delete(_url(tenant_id))).status_code == 404
    # And it can be set again.
    assert (await _put(api.http, tenant_id, SENDER_APP)).status_code == 202
    await api.worker.drain()
    assert (await _state(api, tenant_id))["granted_mailboxes"] == 1


async def test_an_app_not_consented_fails_with_the_reason_and_can_be_retried(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    mistyped = str(uuid.uuid4())
    assert (await _put(api.http, tenant_id, mistyped)).status_code == 202
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["app_id"], state["status"]) == (mistyped, "failed")
    assert "not consented" in state["error"]
    # A failed app never reached Exchange: the right one may take its place ...
    assert (await _put(api.http, tenant_id, SENDER_APP)).status_code == 202
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert state["status"] == "failed"  # ... not consented either
    login = api.context.settings.microsoft.login_base_url.rstrip("/")
    assert state["admin_consent_url"] == (
        f"{login}/{tenant_id}/adminconsent?client_id={SENDER_APP}"
    )
    await _consent(api, tenant_id)
    retried = await _put(api.http, tenant_id, SENDER_APP)
    assert (retried.status_code, retried.json()["status"], retried.json()["error"]) == (
        202,
        "pending",
        None,
    )
    await api.worker.drain()
    assert (await _state(api, tenant_id))["status"] == "ready"


async def test_microsoft_unavailable_only_delays_the_grants(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    await _consent(api, tenant_id)
    await exchange_fails(api, "Add-MailboxPermission")
    await _put(api.http, tenant_id, SENDER_APP)
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["status"], state["granted_mailboxes"], state["error"]) == ("pending", 0, None)
    await faults(api)
    await api.advance_sandbox_clock(5 * 60 + 1)
    await api.worker.drain()
    assert (await _state(api, tenant_id))["granted_mailboxes"] == 2


async def test_a_mailbox_gone_from_exchange_does_not_hold_the_others_up(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "ops", "sales")
    await _consent(api, tenant_id)
    # Removed in Exchange by an admin, behind TenantCore's back; first in the grant order.
    assert await api.context.connector.exchange.remove_mailbox(tenant_id, OPS)
    await _put(api.http, tenant_id, SENDER_APP)
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["status"], state["ready_mailboxes"], state["granted_mailboxes"]) == (
        "ready",
        2,
        1,
    )
    assert OPS in state["error"]
    assert await _oauth_send(api, tenant_id, SALES) == 250

    # Tried again every few minutes, not at every sweep.
    grants = "exchange:Add-MailboxPermission"
    before = (await calls(api)).get(grants, 0)
    await api.worker.drain()
    assert (await calls(api)).get(grants, 0) == before
    await api.advance_sandbox_clock(5 * 60 + 1)
    await api.worker.drain()
    assert (await calls(api)).get(grants, 0) == before + 1
    assert (await _state(api, tenant_id))["granted_mailboxes"] == 1

    # Deleted in TenantCore too: nothing is missing any more.
    ops_url = f"/v1/tenants/{tenant_id}/mailboxes/{await _id(api, tenant_id, OPS)}"
    assert (await api.http.delete(ops_url)).status_code == 204
    await api.advance_sandbox_clock(5 * 60 + 1)
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["status"], state["granted_mailboxes"], state["error"]) == ("ready", 1, None)


async def test_an_app_removed_from_exchange_is_registered_again(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await _consent(api, tenant_id)
    await _put(api.http, tenant_id, SENDER_APP)
    await api.worker.drain()
    first = (await _state(api, tenant_id))["service_principal_id"]  # Graph's id for the app
    # An admin removes it in Exchange; the next mailbox's grant finds it gone.
    await api.context.connector.exchange.remove_service_principal(tenant_id, SENDER_APP)
    assert await _oauth_send(api, tenant_id, SALES) == 535
    assert (await provision(api, tenant_id, "ops")).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    state = await _state(api, tenant_id)
    assert (state["status"], state["granted_mailboxes"]) == ("ready", 2)
    assert state["service_principal_id"] is not None
    registered = await api.context.connector.exchange.get_service_principal(tenant_id, SENDER_APP)
    assert registered is not None
    assert registered.object_id == state["service_principal_id"] == first
    assert await _oauth_send(api, tenant_id, SALES) == 250
    assert await _oauth_send(api, tenant_id, OPS) == 250


async def _id(api: Api, tenant_id: str, address: str) -> str:
    return str(next(m["id"] for m in await listed(api, tenant_id) if m["primary_smtp"] == address))


async def test_bad_requests_and_other_accounts(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    for bad in ("not-a-guid", ""):
        response = await _put(api.http, tenant_id, bad)
        assert response.status_code == 400
        assert response.json()["detail"]["code"] == "invalid_app_id"
    extra = await api.http.put(_url(tenant_id), json={"app_id": SENDER_APP, "secret": "x"})
    assert extra.status_code == 400
    missing = await api.http.get(_url(tenant_id))
    assert missing.json()["detail"]["code"] == "sending_app_not_found"

    other = api.client(await api.new_key("other-account"))
    for response in (
        await _put(other, tenant_id, SENDER_APP),
        await other.get(_url(tenant_id)),
        await other.delete(_url(tenant_id)),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"

    # Exchange must be ready first.
    fresh = str(uuid.uuid4())
    assert (await api.http.post("/v1/tenants", json={"tenant_id": fresh})).status_code == 201
    early = await _put(api.http, fresh, SENDER_APP)
    assert (early.status_code, early.json()["detail"]["code"]) == (
        409,
        "exchange_bootstrap_not_ready",
    )


async def test_webhooks_say_when_the_app_is_ready_or_failed(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    async with webhook_receiver() as receiver:
        registered = await api.http.post(
            "/v1/webhooks",
            json={
                "url": receiver.url,
                "events": ["tenant.sending_app.ready", "tenant.sending_app.failed"],
            },
        )
        assert registered.status_code == 201, registered.text
        await _put(api.http, tenant_id, SENDER_APP)  # not consented yet
        await api.worker.drain()
        await _consent(api, tenant_id)
        await _put(api.http, tenant_id, SENDER_APP)
        await api.worker.drain()
        # A mailbox given to the app later sends nothing more.
        assert (await provision(api, tenant_id, "ops")).status_code == 200
        await api.worker.drain()
        await api.advance_sandbox_clock(600)
        await api.worker.drain()
        assert (await _state(api, tenant_id))["granted_mailboxes"] == 2
        events = [json.loads(item.body) for item in receiver.received]
    assert [event["type"] for event in events] == [
        "tenant.sending_app.failed",
        "tenant.sending_app.ready",
    ]
    failed, ready = (event["data"] for event in events)
    assert (failed["app_id"], failed["status"]) == (SENDER_APP, "failed")
    assert "not consented" in failed["error"]
    assert (ready["tenant_id"], ready["status"], ready["error"]) == (tenant_id, "ready", None)
    assert ready["service_principal_id"] is not None


async def test_the_app_keeps_sending_when_basic_authentication_goes_off(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await _consent(api, tenant_id)
    await _put(api.http, tenant_id, SENDER_APP)
    await api.worker.drain()
    assert await login_reply(api, SALES) == 250
    # Microsoft's default for existing tenants after December 2026.
    switched = await api.control.patch(
        f"/_sandbox/tenants/{tenant_id}", json={"basic_auth_disabled": True}
    )
    assert switched.status_code == 200, switched.text
    assert await login_reply(api, SALES) == 550
    assert await _oauth_send(api, tenant_id, SALES) == 250
