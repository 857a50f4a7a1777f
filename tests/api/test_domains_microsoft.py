"""Domains when Microsoft misbehaves or changes under TenantCore: outages, a domain removed in
Microsoft, stale DNS verdicts, concurrent adds, subdomains of verified domains."""

from __future__ import annotations

import asyncio

from tenantcore.domains.jobs import recheck_due_domains
from tests.api.conftest import Api
from tests.api.domain_support import DOMAIN, add, by_purpose, manual_dns, publish, zone


async def test_microsoft_trouble_is_a_clean_503_and_stores_nothing(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    faults = {"rules": [{"host": "graph", "error_rate": 1.0, "retry_after_seconds": 0}]}
    (await api.control.put("/_sandbox/faults", json=faults)).raise_for_status()
    response = await add(api.http, tenant_id)
    assert response.status_code == 503
    assert response.json()["detail"]["code"] == "microsoft_unavailable"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["count"] == 0
    assert await zone(api) == []
    # Throttled to the end: the caller is told when Microsoft suggested coming back.
    throttled = {"host": "graph", "error_rate": 1.0, "error_statuses": [429]}
    await api.control.put(
        "/_sandbox/faults", json={"rules": [throttled | {"retry_after_seconds": 0.01}]}
    )
    response = await add(api.http, tenant_id)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    # Access refused (consent revoked, a permission removed) is not worth retrying.
    refused = {
        "host": "graph",
        "operation": "POST /domains",
        "error_rate": 1.0,
        "error_statuses": [403],
    }
    await api.control.put("/_sandbox/faults", json={"rules": [refused]})
    response = await add(api.http, tenant_id)
    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "microsoft_access_denied"
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["count"] == 0

    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    manual_dns(api)
    domain = (await add(api.http, tenant_id)).json()
    txt = by_purpose(domain)["verification"]["value"]
    await publish(api, [{"type": "TXT", "name": "@", "value": txt}])
    (await api.control.put("/_sandbox/faults", json=faults)).raise_for_status()
    verify = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert verify.status_code == 503
    assert verify.json()["detail"]["code"] == "microsoft_unavailable"
    (await api.control.delete("/_sandbox/faults")).raise_for_status()
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json() == domain


async def test_subdomain_of_a_verified_domain_is_ready_at_once(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    await add(api.http, tenant_id, "acmecorp.com")
    await api.http.post(f"/v1/tenants/{tenant_id}/domains/acmecorp.com/verify")
    sub = await add(api.http, tenant_id, DOMAIN)
    assert sub.status_code == 201
    assert sub.json()["is_verified"] is True
    assert sub.json()["email_enabled"] is True
    names = [
        d["domain_name"]
        for d in (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["domains"]
    ]
    assert names == ["acmecorp.com", DOMAIN]


async def test_domain_removed_in_microsoft_gets_a_new_code(api: Api) -> None:
    manual_dns(api)
    tenant_id = await api.connect_tenant()
    domain = (await add(api.http, tenant_id)).json()
    old_txt = by_purpose(domain)["verification"]["value"]
    await api.context.connector.graph.delete_domain(tenant_id, DOMAIN)
    await publish(api, [{"type": "TXT", "name": "@", "value": old_txt}])

    failed = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert failed.json()["detail"]["code"] == "domain_verification_failed"
    current = (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json()
    new_txt = by_purpose(current)["verification"]["value"]
    assert new_txt != old_txt
    await publish(api, [{"type": "TXT", "name": "@", "value": new_txt}])
    verified = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert verified.status_code == 200
    assert verified.json()["is_verified"] is True


async def test_background_pass_rechecks_stale_domains(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    domain = (await add(api.http, tenant_id)).json()
    assert domain["mx_status"] == "valid"
    # The MX removed; the ownership record too, so the pass only re-checks (with it, the
    # pass would verify the domain: test_domains_auto_verify.py).
    kept = [
        r for r in await zone(api) if r["type"] != "MX" and not str(r["value"]).startswith("MS=")
    ]
    await publish(api, [{k: v for k, v in r.items() if v is not None} for r in kept])
    assert await recheck_due_domains(api.context) == 0  # checked moments ago

    settings = api.context.settings
    api.context.settings = settings.model_copy(
        update={"dns": settings.dns.model_copy(update={"recheck_seconds": 0.001})}
    )
    assert await recheck_due_domains(api.context) == 1
    current = (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json()
    assert current["mx_status"] == "missing"
    assert current["spf_status"] == "valid"
    assert current["last_checked"] > domain["last_checked"]


async def test_concurrent_adds_store_one_domain(api: Api) -> None:
    first = await api.connect_tenant()
    second = await api.connect_tenant()
    same_tenant = await asyncio.gather(*(add(api.http, first) for _ in range(5)))
    assert sorted(r.status_code for r in same_tenant) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in same_tenant}) == 1

    other = "news.acmecorp.com"
    racing = await asyncio.gather(add(api.http, first, other), add(api.http, second, other))
    assert sorted(r.status_code for r in racing) == [201, 409]
    assert {r.json().get("detail", {}).get("code") for r in racing} >= {"domain_already_registered"}
    counts = [
        (await api.http.get(f"/v1/tenants/{t}/domains")).json()["count"] for t in (first, second)
    ]
    assert sum(counts) == 2
