"""Registering and verifying custom domains; the DNS records and health a client relies on."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.domain_support import (
    DOMAIN,
    DOMAIN_FIELDS,
    MX_HOST,
    RECORD_FIELDS,
    add,
    by_purpose,
    manual_dns,
    publish,
    statuses,
    zone,
)


async def test_quick_path_add_then_verify(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    response = await add(api.http, tenant_id, " Mail.AcmeCorp.com. ")
    assert response.status_code == 201, response.text
    domain = response.json()
    assert domain.keys() >= DOMAIN_FIELDS
    assert domain["domain_name"] == DOMAIN
    assert domain["is_verified"] is False
    assert domain["email_enabled"] is False
    assert domain["is_default"] is False
    assert domain["last_checked"] is not None

    records = by_purpose(domain)
    assert set(records) == {"verification", "mx", "spf", "autodiscover", "dmarc"}
    assert all(record.keys() == RECORD_FIELDS for record in domain["dns_records"])
    verification = records["verification"]
    assert (verification["type"], verification["host"], verification["name"]) == (
        "TXT",
        "@",
        DOMAIN,
    )
    assert verification["value"].startswith("MS=ms")
    assert verification["required"] is True
    assert records["mx"] | {"ttl": 0} == {
        "type": "MX",
        "name": DOMAIN,
        "host": "@",
        "value": MX_HOST,
        "priority": 0,
        "ttl": 0,
        "purpose": "mx",
        "required": True,
    }
    assert records["spf"]["value"] == "v=spf1 include:spf.protection.outlook.com -all"
    assert records["autodiscover"]["type"] == "CNAME"
    assert records["autodiscover"]["name"] == f"autodiscover.{DOMAIN}"
    assert records["autodiscover"]["host"] == "autodiscover"
    assert records["autodiscover"]["value"] == "autodiscover.outlook.com"
    assert records["dmarc"]["name"] == f"_dmarc.{DOMAIN}"
    assert records["dmarc"]["value"].startswith("v=DMARC1; p=")
    assert records["dmarc"]["required"] is False

    # The sandbox published them like a registrar would, so DNS is healthy already.
    published = {(r["type"], r["name"], r["value"]) for r in await zone(api)}
    assert ("TXT", "@", verification["value"]) in published
    assert ("MX", "@", MX_HOST) in published
    assert ("TXT", "_dmarc", records["dmarc"]["value"]) in published
    assert ("CNAME", "autodiscover", "autodiscover.outlook.com") in published
    assert statuses(domain) == {"spf": "valid", "dkim": "missing", "dmarc": "valid", "mx": "valid"}
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["domain_count"] == 1

    verified = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert verified.status_code == 200, verified.text
    body = verified.json()
    assert body["id"] == domain["id"]
    assert body["is_verified"] is True
    assert body["email_enabled"] is True
    assert by_purpose(body)["verification"]["required"] is False
    # Verified: Exchange made the domain's DKIM keys; their two CNAMEs are listed (and, in
    # sandbox mode, published), so TenantCore turned signing with the domain on at once.
    assert domain["dkim_signing_enabled"] is False
    dkim = [r for r in body["dns_records"] if r["purpose"] == "dkim"]
    config = await api.context.connector.exchange.get_dkim_config(tenant_id, DOMAIN)
    assert config is not None
    assert [(r["type"], r["host"], r["value"], r["required"]) for r in dkim] == [
        ("CNAME", "selector1._domainkey", config.selector1_cname, True),
        ("CNAME", "selector2._domainkey", config.selector2_cname, True),
    ]
    assert statuses(body) == {**statuses(domain), "dkim": "valid"}
    assert body["dkim_signing_enabled"] is True
    assert config.enabled is True
    assert body["last_checked"] >= domain["last_checked"]
    # Microsoft's side really changed: verified, with Email among the supported services.
    remote = await api.context.connector.graph.get_domain(tenant_id, DOMAIN)
    assert remote.is_verified
    assert "Email" in remote.supported_services

    # Verifying again only re-checks.
    again = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN.upper()}/verify")
    assert again.status_code == 200
    assert again.json()["is_verified"] is True
    assert again.json()["last_checked"] >= body["last_checked"]
    listed = (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()
    assert listed == {
        "tenant_id": tenant_id,
        "domains": [again.json()],
        "count": 1,
        "next_cursor": None,
    }


async def test_verification_waits_for_the_txt_record(api: Api) -> None:
    manual_dns(api)
    tenant_id = await api.connect_tenant()
    domain = (await add(api.http, tenant_id)).json()
    assert await zone(api) == []
    assert statuses(domain) == dict.fromkeys(("spf", "dkim", "dmarc", "mx"), "missing")
    txt = by_purpose(domain)["verification"]["value"]

    failed = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")
    assert failed.status_code == 400
    assert failed.json()["detail"]["code"] == "domain_verification_failed"
    assert txt in failed.json()["detail"]["message"]  # Microsoft's reason names the record
    unchanged = (await api.http.get(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}")).json()
    assert unchanged == domain

    await publish(api, [{"type": "TXT", "name": "@", "value": txt}])
    verified = (await api.http.post(f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify")).json()
    assert verified["is_verified"] is True
    assert verified["email_enabled"] is True
    assert statuses(verified) == dict.fromkeys(("spf", "dkim", "dmarc", "mx"), "missing")

    assert verified["dkim_signing_enabled"] is False
    listed_dkim = [r for r in verified["dns_records"] if r["purpose"] == "dkim"]
    assert [r["host"] for r in listed_dkim] == ["selector1._domainkey", "selector2._domainkey"]

    # The customer publishes the rest, DKIM CNAMEs pointing somewhere else first (an old
    # guess of the target): DKIM is `invalid` and signing stays off.
    wrong_dkim = [
        {"type": "CNAME", "name": r["host"], "value": f"{r['host']}.acmecorp.onmicrosoft.com"}
        for r in listed_dkim
    ]
    rest = [
        {"type": "TXT", "name": "@", "value": txt},
        {"type": "MX", "name": "@", "value": MX_HOST, "preference": 0},
        {"type": "TXT", "name": "@", "value": "v=spf1 include:spf.protection.outlook.com ~all"},
        {"type": "TXT", "name": "_dmarc", "value": "v=DMARC1; p=quarantine; rua=mailto:d@x.io"},
    ]
    await publish(api, [*rest, *wrong_dkim])
    url = f"/v1/tenants/{tenant_id}/domains/{DOMAIN}"
    # GET reports stored verdicts until asked to refresh.
    assert statuses((await api.http.get(url)).json())["mx"] == "missing"
    refreshed = (await api.http.get(url, params={"refresh": "true"})).json()
    assert statuses(refreshed) == {
        "spf": "valid",
        "dkim": "invalid",
        "dmarc": "valid",
        "mx": "valid",
    }
    assert refreshed["dkim_signing_enabled"] is False
    assert refreshed["last_checked"] > verified["last_checked"]
    assert (await api.http.get(url)).json() == refreshed

    # Then as listed: a refresh sees them but changes nothing in Exchange; verifying again
    # (a re-check of a verified domain) turns signing on.
    dkim = [{"type": "CNAME", "name": r["host"], "value": r["value"]} for r in listed_dkim]
    await publish(api, [*rest, *dkim])
    seen = (await api.http.get(url, params={"refresh": "true"})).json()
    assert statuses(seen) == dict.fromkeys(("spf", "dkim", "dmarc", "mx"), "valid")
    assert seen["dkim_signing_enabled"] is False
    fixed = (await api.http.post(f"{url}/verify")).json()
    assert statuses(fixed) == dict.fromkeys(("spf", "dkim", "dmarc", "mx"), "valid")
    assert fixed["dkim_signing_enabled"] is True
    config = await api.context.connector.exchange.get_dkim_config(tenant_id, DOMAIN)
    assert config is not None
    assert config.enabled is True


async def test_add_is_idempotent_without_calling_microsoft_again(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    first = await add(api.http, tenant_id)
    assert first.status_code == 201
    posts = api.context.connector.stats.attempts["POST /domains"]
    for spelling in (DOMAIN, "MAIL.ACMECORP.COM", f"{DOMAIN}."):
        again = await add(api.http, tenant_id, spelling)
        assert again.status_code == 200
        assert again.json() == first.json()
    assert api.context.connector.stats.attempts["POST /domains"] == posts
    listed = (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()
    assert listed["count"] == 1


async def test_domain_is_registered_on_one_tenant_only(api: Api) -> None:
    first = await api.connect_tenant()
    second = await api.connect_tenant()
    other_key = await api.new_key("globex")
    foreign = await api.connect_tenant(other_key)
    assert (await add(api.http, first)).status_code == 201
    for client, tenant_id in ((api.http, second), (api.client(other_key), foreign)):
        response = await add(client, tenant_id)
        assert response.status_code == 409
        assert response.json()["detail"]["code"] == "domain_already_registered"
        listed = (await client.get(f"/v1/tenants/{tenant_id}/domains")).json()
        assert listed["count"] == 0
    # A sibling name is a different domain.
    assert (await add(api.http, second, f"news.{DOMAIN}")).status_code == 201


async def test_another_account_sees_nothing_and_changes_nothing(api: Api) -> None:
    manual_dns(api)
    tenant_id = await api.connect_tenant()
    domain = (await add(api.http, tenant_id)).json()
    other = api.client(await api.new_key("globex"))
    base = f"/v1/tenants/{tenant_id}/domains"
    for response in (
        await other.get(base),
        await other.get(f"{base}/{DOMAIN}"),
        await other.get(f"{base}/{DOMAIN}", params={"refresh": "true"}),
        await other.post(f"{base}/{DOMAIN}/verify"),
        await add(other, tenant_id, "other.acmecorp.com"),
        await add(other, tenant_id, "not a domain"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    listed = (await api.http.get(base)).json()
    assert listed["domains"] == [domain]
    remote = await api.context.connector.graph.list_domains(tenant_id)
    assert "other.acmecorp.com" not in {d.id for d in remote}


async def test_bad_names_are_invalid_domain(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    bad = [
        "",
        "   ",
        "localhost",
        "acmecorp",
        "-acme.com",
        "acme-.com",
        "a..acme.com",
        ".acme.com",
        "acme.c",
        "192.168.10.1",
        "acme.123",
        "exa mple.com",
        "ex_ample.com",
        "*.acme.com",
        "https://acme.com",
        "john@acme.com",
        "bücher.de",
        "a" * 64 + ".com",
        ".".join(["a" * 60] * 5) + ".com",
        "sandbox1.onmicrosoft.com",
        "onmicrosoft.com",
        "mail.contoso.onmicrosoft.com",
    ]
    for name in bad:
        response = await add(api.http, tenant_id, name)
        assert response.status_code == 400, name
        assert response.json()["detail"]["code"] == "invalid_domain", name
    for body in ({}, {"domain": 5}, {"domain": None}, {"domain": DOMAIN, "force": True}):
        response = await api.http.post(f"/v1/tenants/{tenant_id}/domains", json=body)
        assert response.status_code == 400, body
        assert response.json()["detail"]["code"] == "invalid_request", body
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["count"] == 0
    assert [d.id for d in await api.context.connector.graph.list_domains(tenant_id)] == [
        (await api.http.get(f"/v1/tenants/{tenant_id}")).json()["tenant_domain"]
    ]


async def test_unknown_domain_and_tenant(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    base = f"/v1/tenants/{tenant_id}/domains"
    for response in (
        await api.http.get(f"{base}/{DOMAIN}"),
        await api.http.get(f"{base}/{DOMAIN}", params={"refresh": "true"}),
        await api.http.get(f"{base}/not%20a%20domain"),
        await api.http.post(f"{base}/{DOMAIN}/verify"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "domain_not_found"
    for path in (
        "/v1/tenants/not-a-guid/domains",
        f"/v1/tenants/{'0' * 8}-0000-0000-0000-{'0' * 12}/domains",
    ):
        for response in (await api.http.get(path), await add(api.http, path.split("/")[3])):
            assert response.status_code == 404
            assert response.json()["detail"]["code"] == "tenant_not_found"
    bad_flag = await api.http.get(f"{base}/{DOMAIN}", params={"refresh": "maybe"})
    assert bad_flag.status_code == 400
    assert bad_flag.json()["detail"]["code"] == "invalid_request"
