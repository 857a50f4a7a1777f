"""Webhooks: endpoints registered through the API get each event they chose, signed, retried
until they answer 2xx, with a delivery log and redelivery; a real receiver on loopback."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

import pytest

from tenantcore.webhooks.models import EventType
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    SALES,
    blocked_then_released,
    exchange_fails,
    listed,
    one,
    provision,
    tenant_with_domain,
)
from tests.api.webhook_receiver import Receiver, signature_valid, webhook_receiver


async def _register(api: Api, receiver: Receiver, **body: Any) -> dict[str, Any]:
    response = await api.http.post("/v1/webhooks", json={"url": receiver.url, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _events(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(item.body) for item in receiver.received]


async def test_mailbox_ready_is_sent_signed(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await _register(api, receiver, events=["mailbox.ready"], description="crm")
        assert hook["secret"].startswith("whsec_")
        assert (hook["events"], hook["description"]) == (["mailbox.ready"], "crm")
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales")
        await api.worker.drain()  # ready at once: the tests' propagation takes no time

        [delivery] = receiver.received
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["tenantcore-event"] == "mailbox.ready"
        assert signature_valid(
            hook["secret"], delivery.headers["tenantcore-signature"], delivery.body
        )
        assert not signature_valid(
            "whsec_" + "0" * 64, delivery.headers["tenantcore-signature"], delivery.body
        )
        [event] = _events(receiver)
        mailbox = await one(api, tenant_id, SALES)
        assert event["type"] == "mailbox.ready"
        assert event["data"]["tenant_id"] == tenant_id
        assert event["data"]["mailbox_id"] == mailbox["id"]
        assert event["data"]["primary_smtp"] == SALES
        assert event["data"]["ready_at"] == mailbox["ready_at"]

        log = (await api.http.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()
        assert log["total"] == 1
        [logged] = log["deliveries"]
        assert logged["id"] == delivery.headers["tenantcore-delivery"]
        assert logged["event_id"] == event["id"]
        assert (logged["status"], logged["attempts"], logged["last_status_code"]) == (
            "delivered",
            1,
            200,
        )


async def test_blocks_and_unblocks_are_sent_as_the_events_api_shows_them(api: Api) -> None:
    async with webhook_receiver() as receiver:
        await _register(api, receiver, events=["mailbox.blocked", "mailbox.unblocked"])
        day = await blocked_then_released(api, settle=False)
        await api.worker.drain()
        sent = _events(receiver)
        assert [e["type"] for e in sent] == ["mailbox.blocked", "mailbox.unblocked"]
        listed_events = (await api.http.get("/v1/enforcement/events")).json()["events"]
        by_id = {e["id"]: e for e in listed_events}
        for event in sent:
            assert event["data"] == by_id[event["id"]]
            assert event["data"]["mailbox_id"] == day.ids[SALES]


async def test_failed_deliveries_are_retried_with_backoff_then_given_up(api: Api) -> None:
    api.context.settings = api.context.settings.model_copy(update={"webhook_max_attempts": 3})
    async with webhook_receiver() as receiver:
        hook = await _register(api, receiver, events=["mailbox.ready"])
        receiver.statuses = [500, 503, 500]
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales")
        await api.worker.drain()  # ready at once: the tests' propagation takes no time
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
        [first] = (await api.http.get(deliveries)).json()["deliveries"]
        assert (first["status"], first["attempts"], first["last_status_code"]) == (
            "pending",
            1,
            500,
        )
        assert first["last_error"] == "HTTP 500"
        # Not before its time: 30 s after the first failure, then 60 s.
        await api.advance_sandbox_clock(20)
        await api.worker.drain()
        assert len(receiver.received) == 1
        for wait, attempts in ((15, 2), (65, 3)):
            await api.advance_sandbox_clock(wait)
            await api.worker.drain()
            assert len(receiver.received) == attempts
        [given_up] = (await api.http.get(deliveries, params={"status": "failed"})).json()[
            "deliveries"
        ]
        assert (given_up["attempts"], given_up["next_attempt_at"]) == (3, None)
        # The same event, byte for byte, at every attempt.
        assert len({item.body for item in receiver.received}) == 1

        # Sent again by hand: a fresh set of attempts; the receiver is fine now.
        again = await api.http.post(f"{deliveries}/{given_up['id']}/redeliver")
        assert again.status_code == 200
        assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)
        await api.worker.drain()
        assert len(receiver.received) == 4
        [done] = (await api.http.get(deliveries)).json()["deliveries"]
        assert (done["status"], done["attempts"]) == ("delivered", 1)


async def test_an_unreachable_endpoint_is_retried(api: Api) -> None:
    async with webhook_receiver() as receiver:
        url = receiver.url
    # The receiver is gone: connections are refused.
    response = await api.http.post("/v1/webhooks", json={"url": url, "events": ["mailbox.ready"]})
    hook = response.json()
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    await api.worker.drain()
    assert [m["status"] for m in await listed(api, tenant_id)] == ["ready"]
    [delivery] = (await api.http.get(f"/v1/webhooks/{hook['id']}/deliveries")).json()["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "pending",
        1,
        None,
    )
    assert "Connect" in delivery["last_error"]


async def test_only_chosen_events_and_only_the_accounts_own_endpoints(api: Api) -> None:
    async with webhook_receiver() as mine, webhook_receiver() as theirs:
        await _register(api, mine, events=["mailbox.failed"])
        other = api.client(await api.new_key("globex"))
        created = await other.post("/v1/webhooks", json={"url": theirs.url})
        assert created.status_code == 201
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales")
        await api.worker.drain()  # ready at once: the tests' propagation takes no time
        assert mine.received == []  # ready is not what it asked for
        assert theirs.received == []  # not their tenant
        listed_hooks = (await api.http.get("/v1/webhooks")).json()
        assert listed_hooks["count"] == 1
        assert "secret" not in listed_hooks["webhooks"][0]
        foreign_id = created.json()["id"]
        for method, path in (
            ("DELETE", f"/v1/webhooks/{foreign_id}"),
            ("GET", f"/v1/webhooks/{foreign_id}/deliveries"),
            ("POST", f"/v1/webhooks/{foreign_id}/deliveries/x/redeliver"),
        ):
            response = await api.http.request(method, path)
            assert response.status_code == 404, path
            assert response.json()["detail"]["code"] == "webhook_not_found", path


async def test_webhook_requests_are_validated_and_deletion_stops_sending(api: Api) -> None:
    for body, code in (
        ({"url": "ftp://example.com/hook"}, "invalid_webhook_url"),
        ({"url": "/relative"}, "invalid_webhook_url"),
        ({"url": "https://user:pw@example.com/hook"}, "invalid_webhook_url"),
        ({"url": "https://example.com:99999/hook"}, "invalid_webhook_url"),
        ({"url": "https://example.com/" + "a" * 2048}, "invalid_webhook_url"),
        ({"url": 5}, "invalid_webhook_url"),
        ({"url": "https://exa mple.com/hook"}, "invalid_webhook_url"),
        ({"url": "https://example.com/hook", "events": []}, "invalid_webhook_events"),
        (
            {"url": "https://example.com/hook", "events": ["mailbox.renamed"]},
            "invalid_webhook_events",
        ),
        ({"url": "https://example.com/hook", "events": "mailbox.ready"}, "invalid_webhook_events"),
        ({"url": "https://example.com/hook", "secret": "mine"}, "invalid_request"),
    ):
        response = await api.http.post("/v1/webhooks", json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"]["code"] == code, body
    assert (await api.http.get("/v1/webhooks")).json()["count"] == 0
    # Outside sandbox mode, loopback and private addresses and plain http are refused.
    api.context.settings = api.context.settings.model_copy(
        update={"webhook_allow_private_urls": False}
    )
    for url in (
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://2130706433/hook",
        "https://0x7f.1/hook",
        "http://example.com/hook",
    ):
        response = await api.http.post("/v1/webhooks", json={"url": url})
        assert response.json()["detail"]["code"] == "invalid_webhook_url", url
    # Except in the networks the operator allows.
    api.context.settings = api.context.settings.model_copy(
        update={"webhook_allow_networks": [ipaddress.ip_network("10.1.0.0/16")]}
    )
    inside = await api.http.post("/v1/webhooks", json={"url": "https://10.1.2.3/hook"})
    assert inside.status_code == 201, inside.text
    outside = await api.http.post("/v1/webhooks", json={"url": "https://10.2.0.1/hook"})
    assert outside.json()["detail"]["code"] == "invalid_webhook_url"
    assert (await api.http.delete(f"/v1/webhooks/{inside.json()['id']}")).status_code == 204
    api.context.settings = api.context.settings.model_copy(
        update={"webhook_allow_private_urls": None, "webhook_allow_networks": []}
    )
    bad_page = await api.http.get("/v1/webhooks/x/deliveries", params={"limit": 0})
    assert bad_page.status_code == 400

    async with webhook_receiver() as receiver:
        hook = await _register(api, receiver)
        assert sorted(hook["events"]) == hook["events"]
        assert hook["events"] == sorted(EventType)  # every event type by default
        assert (await api.http.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales")
        await api.worker.drain()  # ready at once: the tests' propagation takes no time
        assert receiver.received == []
        assert (await api.http.delete(f"/v1/webhooks/{hook['id']}")).status_code == 404


async def test_failed_mailboxes_and_smtp_auth_turned_off_are_sent(api: Api) -> None:
    async with webhook_receiver() as receiver:
        await _register(api, receiver, events=["mailbox.failed", "mailbox.smtp_auth_disabled"])
        tenant_id = await tenant_with_domain(api)
        exchange = api.context.connector.exchange
        taken = f"jane@{DOMAIN}"
        await exchange.ensure_security_group(tenant_id, name="jane", primary_smtp_address=taken)
        await provision(api, tenant_id, "sales", "jane")
        await api.worker.drain()
        [failed] = _events(receiver)
        assert failed["type"] == "mailbox.failed"
        assert (failed["data"]["primary_smtp"], failed["data"]["status"]) == (taken, "failed")
        assert "already used" in failed["data"]["error"]

        await exchange.set_mailbox_smtp_auth(tenant_id, SALES, disabled=True)
        await api.advance_sandbox_clock(api.context.settings.smtp_auth_check_seconds + 1)
        await api.worker.drain()
        turned_off = _events(receiver)[1:]
        assert [e["type"] for e in turned_off] == ["mailbox.smtp_auth_disabled"]
        assert turned_off[0]["data"]["primary_smtp"] == SALES
        # Reported once, not at every check while it stays off.
        await api.advance_sandbox_clock(api.context.settings.smtp_auth_check_seconds + 1)
        await api.worker.drain()
        assert len(receiver.received) == 2


async def test_tenant_bootstrap_is_sent(api: Api) -> None:
    async with webhook_receiver() as receiver:
        await _register(api, receiver, events=["tenant.bootstrap.completed"])
        tenant_id = await api.connect_tenant()
        await api.worker.drain()
        [event] = _events(receiver)
        assert event["type"] == "tenant.bootstrap.completed"
        assert event["data"]["tenant_id"] == tenant_id
        assert event["data"]["exchange_bootstrap_status"] == "ready"
        assert event["data"]["bootstrap_error"] is None
        # Once: later bootstrap-free work sends nothing more.
        await api.advance_sandbox_clock(600)
        await api.worker.drain()
        assert len(receiver.received) == 1


async def test_a_tenant_whose_bootstrap_gives_up_is_sent_and_shows_why(api: Api) -> None:
    async with webhook_receiver() as receiver:
        await _register(api, receiver, events=["tenant.bootstrap.failed"])
        await exchange_fails(api, "Get-OrganizationConfig")
        tenant_id = await api.connect_tenant()
        tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
        assert tenant["exchange_bootstrap_status"] == "pending"  # still retrying
        assert receiver.received == []
        await api.advance_sandbox_clock(api.context.settings.bootstrap_timeout_seconds + 1)
        await api.worker.drain()
        tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
        assert tenant["exchange_bootstrap_status"] == "failed"
        assert "Get-OrganizationConfig" in tenant["bootstrap_error"]
        [event] = _events(receiver)
        assert event["type"] == "tenant.bootstrap.failed"
        assert event["data"]["bootstrap_error"] == tenant["bootstrap_error"]


def _loopback_host_name() -> str:
    """A host name (not an address) that this machine resolves to loopback."""
    name = socket.gethostname()
    try:
        found = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if {sockaddr[0] for *_, sockaddr in found} != {"127.0.0.1"}:
        pytest.skip(f"{name} does not resolve to 127.0.0.1 alone here")
    return name


async def test_a_host_name_resolving_to_a_private_address_is_not_connected_to(api: Api) -> None:
    """Outside sandbox mode a name is checked by the address it resolves to when a delivery
    connects, so it cannot lead a delivery to loopback, whatever it resolved to at creation."""
    name = _loopback_host_name()
    async with webhook_receiver() as receiver:
        url = receiver.url.replace("127.0.0.1", name)
        hook = (
            await api.http.post("/v1/webhooks", json={"url": url, "events": ["mailbox.ready"]})
        ).json()
        settings = api.context.settings
        api.context.settings = settings.model_copy(update={"webhook_allow_private_urls": False})
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales")
        await api.worker.drain()
        assert receiver.received == []
        deliveries = f"/v1/webhooks/{hook['id']}/deliveries"
        [refused] = (await api.http.get(deliveries)).json()["deliveries"]
        assert (refused["status"], refused["last_status_code"]) == ("pending", None)
        assert f"{name} resolves to a non-public address (127.0.0.1)" in refused["last_error"]

        # An operator may allow its own networks: the same connection check lets it through.
        api.context.settings = settings.model_copy(
            update={
                "webhook_allow_private_urls": False,
                "webhook_allow_networks": [ipaddress.ip_network("127.0.0.0/8")],
            }
        )
        await api.advance_sandbox_clock(31)
        await api.worker.drain()
        [delivered] = receiver.received
        assert json.loads(delivered.body)["type"] == "mailbox.ready"
        assert delivered.headers["host"] == url.split("/")[2]  # the name, not the address
        [done] = (await api.http.get(deliveries)).json()["deliveries"]
        assert (done["status"], done["attempts"]) == ("delivered", 2)
