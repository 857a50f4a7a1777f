"""A domain verifies itself: once the ownership TXT record resolves, the background re-check
verifies it with Microsoft and sends `domain.verified`; before that it never asks Microsoft."""

from __future__ import annotations

import json
from typing import Any

from tests.api.conftest import Api
from tests.api.domain_support import DOMAIN, add, by_purpose, manual_dns, publish
from tests.api.mailbox_support import calls, faults
from tests.api.webhook_receiver import Receiver, webhook_receiver

VERIFY = "graph:POST /domains/{id}/verify"
EVENT = "domain.verified"


def _verified_events(receiver: Receiver) -> list[dict[str, Any]]:
    events = [json.loads(item.body) for item in receiver.received]
    return [event for event in events if event["type"] == EVENT]


async def _unverified_domain(api: Api) -> tuple[str, dict[str, Any]]:
    """A connected tenant and a domain whose records nobody has published yet."""
    manual_dns(api)
    tenant_id = await api.connect_tenant()
    added = await add(api.http, tenant_id)
    assert added.status_code == 201
    domain = added.json()
    assert domain["is_verified"] is False
    return tenant_id, domain


async def _next_pending_recheck(api: Api) -> None:
    await api.advance_sandbox_clock(api.context.settings.dns.verify_pending_recheck_seconds + 1)
    await api.worker.drain()


async def test_publishing_the_ownership_record_is_enough(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await api.http.post("/v1/webhooks", json={"url": receiver.url, "events": [EVENT]})
        assert hook.status_code == 201
        tenant_id, domain = await _unverified_domain(api)
        url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"

        # Nothing published: the re-checks look in DNS and leave Microsoft alone.
        verifies_before = (await calls(api)).get(VERIFY, 0)
        for _ in range(2):
            await _next_pending_recheck(api)
        unverified = (await api.http.get(url)).json()
        assert unverified["is_verified"] is False
        assert unverified["last_checked"] > domain["last_checked"]
        assert (await calls(api)).get(VERIFY, 0) == verifies_before

        ownership = by_purpose(domain)["verification"]
        await publish(api, [{"type": "TXT", "name": "@", "value": ownership["value"]}])
        await _next_pending_recheck(api)
        verified = (await api.http.get(url)).json()
        assert (verified["is_verified"], verified["email_enabled"]) == (True, True)
        # What verify does, the background did: Exchange made the domain's DKIM keys.
        assert "dkim" in by_purpose(verified)
        assert (await calls(api))[VERIFY] == verifies_before + 1

        [event] = _verified_events(receiver)
        data = event["data"]
        assert (data["tenant_id"], data["domain_id"], data["domain_name"]) == (
            tenant_id,
            domain["id"],
            DOMAIN,
        )
        assert data["email_enabled"] is True
        assert data["verified_at"] >= verified["last_checked"]  # saved after the check

        # Verified domains are not verified again, and the event is not sent again.
        await _next_pending_recheck(api)
        again = await api.http.post(f"{url}/verify")
        assert again.status_code == 200
        await api.worker.drain()
        assert len(_verified_events(receiver)) == 1
        assert (await calls(api))[VERIFY] == verifies_before + 1


async def test_microsoft_failing_defers_to_the_next_recheck(api: Api) -> None:
    tenant_id, domain = await _unverified_domain(api)
    ownership = by_purpose(domain)["verification"]
    await publish(api, [{"type": "TXT", "name": "@", "value": ownership["value"]}])
    rule = {"host": "graph", "operation": "POST /domains/{id}/verify", "error_rate": 1.0}
    await faults(api, {**rule, "error_statuses": [503], "retry_after_seconds": 0})

    await _next_pending_recheck(api)
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"
    deferred = (await api.http.get(url)).json()
    assert deferred["is_verified"] is False
    assert deferred["last_checked"] > domain["last_checked"], "the DNS check still counts"

    await faults(api)
    await _next_pending_recheck(api)
    assert (await api.http.get(url)).json()["is_verified"] is True


async def test_a_domain_removed_in_microsoft_is_not_added_back_by_the_background(
    api: Api,
) -> None:
    tenant_id, domain = await _unverified_domain(api)
    ownership = by_purpose(domain)["verification"]
    await publish(api, [{"type": "TXT", "name": "@", "value": ownership["value"]}])
    await api.context.connector.graph.delete_domain(tenant_id, DOMAIN)

    await _next_pending_recheck(api)
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"
    assert (await api.http.get(url)).json()["is_verified"] is False
    remote = await api.context.connector.graph.list_domains(tenant_id)
    assert DOMAIN not in {d.id for d in remote}, "adding it back is for the customer to ask"


async def test_an_explicit_verify_sends_the_event_once(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await api.http.post("/v1/webhooks", json={"url": receiver.url, "events": [EVENT]})
        assert hook.status_code == 201
        tenant_id, domain = await _unverified_domain(api)
        ownership = by_purpose(domain)["verification"]
        await publish(api, [{"type": "TXT", "name": "@", "value": ownership["value"]}])
        url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify"
        first, second = await api.http.post(url), await api.http.post(url)
        assert (first.status_code, second.status_code) == (200, 200)
        await api.worker.drain()
        assert [e["data"]["domain_id"] for e in _verified_events(receiver)] == [domain["id"]]


async def test_a_domain_past_its_first_days_is_rechecked_at_the_usual_pace(api: Api) -> None:
    tenant_id, domain = await _unverified_domain(api)
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"
    dns = api.context.settings.dns
    await api.advance_sandbox_clock(dns.verify_pending_days * 86_400 + 1)
    await api.worker.drain()  # the last re-check of its first days
    checked = (await api.http.get(url)).json()
    assert checked["last_checked"] > domain["last_checked"]
    assert checked["is_verified"] is False

    await _next_pending_recheck(api)
    assert (await api.http.get(url)).json()["last_checked"] == checked["last_checked"]
    await api.advance_sandbox_clock(dns.recheck_seconds)
    await api.worker.drain()
    assert (await api.http.get(url)).json()["last_checked"] > checked["last_checked"]
