"""DKIM signing with the customer's domain: keys made in Exchange once the domain is verified,
their CNAMEs listed, signing turned on by the first check that finds them published; when
Exchange cannot make the keys yet, a later check (the background one included) does."""

from __future__ import annotations

from tenantcore.domains.jobs import recheck_due_domains
from tests.api.conftest import Api
from tests.api.domain_support import DOMAIN, add, manual_dns, publish, statuses, zone
from tests.api.mailbox_support import calls, exchange_fails, faults

NEW = "exchange:New-DkimSigningConfig"
ENABLE = "exchange:Set-DkimSigningConfig"


async def test_keys_made_after_a_refusal_are_published_and_signing_turned_on(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    assert (await add(api.http, tenant_id)).status_code == 201
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"

    # Exchange refuses to make the keys when the domain is verified: verification still
    # succeeds, without DKIM records yet.
    await exchange_fails(api, "New-DkimSigningConfig")
    verified = await api.http.post(f"{url}/verify")
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["is_verified"] is True
    assert body["dkim_signing_enabled"] is False
    assert [r for r in body["dns_records"] if r["purpose"] == "dkim"] == []
    assert body["dkim_status"] == "missing"
    await faults(api)
    before = await calls(api)
    assert before.get(ENABLE, 0) == 0

    # The background re-check makes them, publishes them (sandbox mode) and turns signing on.
    settings = api.context.settings
    api.context.settings = settings.model_copy(
        update={"dns": settings.dns.model_copy(update={"recheck_seconds": 0.001})}
    )
    assert await recheck_due_domains(api.context) == 1
    domain = (await api.http.get(url)).json()
    assert domain["dkim_signing_enabled"] is True
    assert domain["dkim_status"] == "valid"
    listed = [(r["host"], r["value"]) for r in domain["dns_records"] if r["purpose"] == "dkim"]
    published = {(r["name"], r["value"]) for r in await zone(api) if r["type"] == "CNAME"}
    assert len(listed) == 2
    assert set(listed) <= published
    assert statuses(domain) == dict.fromkeys(("spf", "dkim", "dmarc", "mx"), "valid")

    # Done once: later checks ask Exchange for nothing more.
    def made_and_enabled(counted: dict[str, int]) -> tuple[int, int]:
        return counted.get(NEW, 0) - before.get(NEW, 0), counted.get(ENABLE, 0)

    assert made_and_enabled(await calls(api)) == (1, 1)
    assert await recheck_due_domains(api.context) == 1
    refreshed = await api.http.get(url, params={"refresh": "true"})
    assert refreshed.json()["dkim_signing_enabled"] is True
    assert made_and_enabled(await calls(api)) == (1, 1)


async def test_signing_starts_soon_after_the_records_are_published(api: Api) -> None:
    manual_dns(api)
    tenant_id = await api.connect_tenant()
    domain = (await add(api.http, tenant_id)).json()
    txt = next(r for r in domain["dns_records"] if r["purpose"] == "verification")["value"]
    await publish(api, [{"type": "TXT", "name": "@", "value": txt}])
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"
    verified = (await api.http.post(f"{url}/verify")).json()
    assert verified["dkim_signing_enabled"] is False
    dkim = [
        {"type": "CNAME", "name": r["host"], "value": r["value"]}
        for r in verified["dns_records"]
        if r["purpose"] == "dkim"
    ]
    assert len(dkim) == 2

    # Published at the registrar: a domain waiting for DKIM is re-checked every 15 minutes
    # (not every 6 hours), so the background turns signing on without anyone asking.
    await publish(api, [{"type": "TXT", "name": "@", "value": txt}, *dkim])
    await api.advance_sandbox_clock(api.context.settings.dns.dkim_pending_recheck_seconds + 1)
    await api.context.refresh_clock()
    await api.worker.drain()
    signed = (await api.http.get(url)).json()
    assert signed["dkim_signing_enabled"] is True
    assert signed["dkim_status"] == "valid"

    # Once it signs, the domain is back on the ordinary cadence.
    await api.advance_sandbox_clock(api.context.settings.dns.dkim_pending_recheck_seconds + 1)
    await api.context.refresh_clock()
    await api.worker.drain()
    assert (await api.http.get(url)).json()["last_checked"] == signed["last_checked"]
