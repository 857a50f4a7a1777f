"""The `domain.dns_health.changed` webhook: sent when a re-check judges a domain's SPF, DKIM,
DMARC or MX records differently from the check before, never for a check that finds nothing
new."""

from __future__ import annotations

import json
from typing import Any

from tenantcore.domains.jobs import recheck_due_domains
from tests.api.conftest import Api
from tests.api.domain_support import DOMAIN, publish, zone
from tests.api.mailbox_support import tenant_with_domain
from tests.api.webhook_receiver import Receiver, webhook_receiver

EVENT = "domain.dns_health.changed"


def _events(receiver: Receiver, since: int) -> list[dict[str, Any]]:
    return [json.loads(item.body) for item in receiver.received[since:]]


async def _recheck_now(api: Api) -> None:
    """Every domain due at once, then the webhooks delivered."""
    settings = api.context.settings
    api.context.settings = settings.model_copy(
        update={"dns": settings.dns.model_copy(update={"recheck_seconds": 0.001})}
    )
    assert await recheck_due_domains(api.context) >= 1
    api.context.settings = settings
    await api.worker.drain()


async def test_a_record_removed_then_restored_is_sent_both_ways(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await api.http.post("/v1/webhooks", json={"url": receiver.url, "events": [EVENT]})
        assert hook.status_code == 201, hook.text
        tenant_id = await tenant_with_domain(api)
        await api.worker.drain()
        before = len(receiver.received)
        domain = (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json()
        assert domain["mx_status"] == "valid"

        await _recheck_now(api)  # nothing changed at the DNS host: nothing sent
        assert _events(receiver, before) == []

        full_zone = [{k: v for k, v in r.items() if v is not None} for r in await zone(api)]
        await publish(api, [r for r in full_zone if r["type"] != "MX"])
        await _recheck_now(api)
        [removed] = _events(receiver, before)
        assert removed["type"] == EVENT
        data = removed["data"]
        assert (data["tenant_id"], data["domain_id"], data["domain_name"]) == (
            tenant_id,
            domain["id"],
            DOMAIN,
        )
        assert data["is_verified"] is True
        assert data["previous"]["mx"] == "valid"
        assert data["current"]["mx"] == "missing"
        assert {k: data["current"][k] for k in ("spf", "dkim", "dmarc")} == {
            k: data["previous"][k] for k in ("spf", "dkim", "dmarc")
        }
        current = (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json()
        assert data["last_checked"] == current["last_checked"]

        await publish(api, full_zone)
        await _recheck_now(api)
        restored = _events(receiver, before)[1:]
        assert [(e["data"]["previous"]["mx"], e["data"]["current"]["mx"]) for e in restored] == [
            ("missing", "valid")
        ]


async def test_only_endpoints_that_chose_it_get_it(api: Api) -> None:
    async with webhook_receiver() as receiver:
        hook = await api.http.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["mailbox.ready"]}
        )
        assert hook.status_code == 201
        await tenant_with_domain(api)
        await publish(api, [])
        await _recheck_now(api)
        assert receiver.received == []
