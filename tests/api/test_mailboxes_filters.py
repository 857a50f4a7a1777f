"""`GET …/mailboxes?domain=&status=&blocked=`: one domain's mailboxes, those in one status,
or those blocked (or not)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, provision, set_row, tenant_with_domain

GLOBEX = "mail.globexcorp.com"


async def _addresses(api: Api, tenant_id: str, **params: str) -> list[str]:
    response = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes", params=params)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    assert document["count"] == len(document["mailboxes"])
    return [m["primary_smtp"] for m in document["mailboxes"]]


async def test_the_list_filters_by_domain_and_status(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, DOMAIN, GLOBEX)
    await provision(api, tenant_id, "sales", "ops")
    await api.worker.drain()  # ready (the tests' propagation takes no time)
    await provision(api, tenant_id, "a", domain=GLOBEX)  # still provisioning
    assert await _addresses(api, tenant_id) == [
        f"ops@{DOMAIN}",
        f"sales@{DOMAIN}",
        f"a@{GLOBEX}",
    ]
    assert await _addresses(api, tenant_id, domain=GLOBEX.upper()) == [f"a@{GLOBEX}"]
    assert await _addresses(api, tenant_id, status="ready") == [f"ops@{DOMAIN}", f"sales@{DOMAIN}"]
    assert await _addresses(api, tenant_id, status="provisioning") == [f"a@{GLOBEX}"]
    assert await _addresses(api, tenant_id, domain=GLOBEX, status="ready") == []
    assert await _addresses(api, tenant_id, status="failed") == []


async def test_the_list_filters_by_block(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales", "ops")
    await api.worker.drain()
    sales = next(
        m
        for m in (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()["mailboxes"]
        if m["primary_smtp"] == f"sales@{DOMAIN}"
    )
    await set_row(api, sales["id"], blocked_at=await api.sandbox_now())
    assert await _addresses(api, tenant_id, blocked="true") == [f"sales@{DOMAIN}"]
    assert await _addresses(api, tenant_id, blocked="false") == [f"ops@{DOMAIN}"]
    assert await _addresses(api, tenant_id, blocked="true", status="provisioning") == []
    paged = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailboxes", params={"blocked": "false", "limit": "1"}
    )
    assert [m["primary_smtp"] for m in paged.json()["mailboxes"]] == [f"ops@{DOMAIN}"]
    assert paged.json()["next_cursor"] is None


async def test_bad_filters_are_refused(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    url = f"/v1/tenants/{tenant_id}/mailboxes"
    for params, status, code in (
        ({"status": "deleted"}, 400, "invalid_request"),
        ({"domain": "mail.initech.com"}, 404, "domain_not_found"),
        ({"domain": "not a domain"}, 404, "domain_not_found"),
        ({"blocked": "maybe"}, 400, "invalid_request"),
    ):
        response = await api.http.get(url, params=params)
        assert response.status_code == status, params
        assert response.json()["detail"]["code"] == code, params
    other = api.client(await api.new_key("globex"))
    foreign = await other.get(url, params={"domain": DOMAIN})
    assert foreign.json()["detail"]["code"] == "tenant_not_found"
