"""Cursor pagination of the tenant, domain and mailbox lists: `limit` and `cursor` in,
`next_cursor` out; without `limit` a list answers everything, as the seed's do."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.mailbox_support import provision, tenant_with_domain

FIRST, SECOND = "a.acmecorp.com", "b.acmecorp.com"


async def _pages(api: Api, url: str, items: str, limit: int, **params: str) -> list[list[str]]:
    """Each page's item keys, following `next_cursor` to the end."""
    key = {"mailboxes": "primary_smtp", "domains": "domain_name", "tenants": "tenant_id"}[items]
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        query: dict[str, Any] = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        response = await api.http.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item[key] for item in page[items]])
        assert page["count"] == len(page[items])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor must move forward"


async def _everything(api: Api, url: str, items: str, key: str) -> list[str]:
    page = (await api.http.get(url)).json()
    assert page["next_cursor"] is None
    return [item[key] for item in page[items]]


async def test_mailbox_pages_cover_the_list_once_in_order(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND)
    for domain in (FIRST, SECOND):
        response = await provision(api, tenant_id, "ops", "sales", "team", domain=domain)
        assert response.status_code == 200
    url = f"/v1/tenants/{tenant_id}/mailboxes"
    everything = await _everything(api, url, "mailboxes", "primary_smtp")
    assert len(everything) == 6

    pages = await _pages(api, url, "mailboxes", 4)
    assert [len(page) for page in pages] == [4, 2]
    assert [address for page in pages for address in page] == everything
    # An exact fit: the last full page says nothing follows.
    assert [len(page) for page in await _pages(api, url, "mailboxes", 6)] == [6]
    assert [len(page) for page in await _pages(api, url, "mailboxes", 1)] == [1] * 6
    # Filters and pages combine.
    one_domain = await _pages(api, url, "mailboxes", 2, domain=SECOND, status="provisioning")
    assert one_domain == [[f"ops@{SECOND}", f"sales@{SECOND}"], [f"team@{SECOND}"]]


async def test_a_mailbox_added_while_paging_neither_repeats_nor_shifts_the_rest(
    api: Api,
) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND)
    await provision(api, tenant_id, "ops", "sales", domain=FIRST)
    await provision(api, tenant_id, "ops", "sales", domain=SECOND)
    url = f"/v1/tenants/{tenant_id}/mailboxes"
    first = (await api.http.get(url, params={"limit": 2})).json()
    assert [m["primary_smtp"] for m in first["mailboxes"]] == [f"ops@{FIRST}", f"sales@{FIRST}"]
    # Sorted before the cursor: an offset would now repeat sales@FIRST on the next page.
    await provision(api, tenant_id, "aaron", domain=FIRST)
    rest = await api.http.get(url, params={"limit": 2, "cursor": first["next_cursor"]})
    assert [m["primary_smtp"] for m in rest.json()["mailboxes"]] == [
        f"ops@{SECOND}",
        f"sales@{SECOND}",
    ]
    assert rest.json()["next_cursor"] is None


async def test_domain_and_tenant_pages(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, SECOND, FIRST, "c.acmecorp.com")
    domains_url = f"/v1/tenants/{tenant_id}/domains"
    everything = await _everything(api, domains_url, "domains", "domain_name")
    assert everything == [FIRST, SECOND, "c.acmecorp.com"]
    assert await _pages(api, domains_url, "domains", 2) == [everything[:2], everything[2:]]

    for _ in range(3):
        await api.connect_tenant()
    tenants = await _everything(api, "/v1/tenants", "tenants", "tenant_id")
    assert len(tenants) == 4
    pages = await _pages(api, "/v1/tenants", "tenants", 3)
    assert pages == [tenants[:3], tenants[3:]]
    assert await _pages(api, "/v1/tenants", "tenants", 1) == [[t] for t in tenants]


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "", "WyJ0ZW5hbnRzIl0", "eyJhIjogMX0", "W10", "bnVsbA", "%%%"]
)
async def test_a_cursor_the_list_did_not_make_is_invalid_cursor(api: Api, cursor: str) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND)
    for url in (
        "/v1/tenants",
        f"/v1/tenants/{tenant_id}/domains",
        f"/v1/tenants/{tenant_id}/mailboxes",
    ):
        response = await api.http.get(url, params={"limit": 1, "cursor": cursor})
        assert response.status_code == 400, (url, response.text)
        assert response.json()["detail"]["code"] == "invalid_cursor"


async def test_a_cursor_of_another_list_is_refused(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND)
    domains_url = f"/v1/tenants/{tenant_id}/domains"
    cursor = (await api.http.get(domains_url, params={"limit": 1})).json()["next_cursor"]
    assert cursor is not None
    for url in ("/v1/tenants", f"/v1/tenants/{tenant_id}/mailboxes"):
        response = await api.http.get(url, params={"limit": 1, "cursor": cursor})
        assert response.json()["detail"]["code"] == "invalid_cursor"
    # A cursor without a limit: the rest of the list.
    rest = await api.http.get(domains_url, params={"cursor": cursor})
    assert [d["domain_name"] for d in rest.json()["domains"]] == [SECOND]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5"])
async def test_a_limit_outside_1_to_1000_is_invalid_request(api: Api, limit: str) -> None:
    tenant_id = await api.connect_tenant()
    for url in (
        "/v1/tenants",
        f"/v1/tenants/{tenant_id}/domains",
        f"/v1/tenants/{tenant_id}/mailboxes",
    ):
        response = await api.http.get(url, params={"limit": limit})
        assert response.status_code == 400
        assert response.json()["detail"]["code"] == "invalid_request"


async def test_another_account_s_lists_stay_out_of_reach_through_pages(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND)
    await provision(api, tenant_id, "ops", domain=FIRST)
    other = api.client(await api.new_key("globex"))
    cursor = (await api.http.get(f"/v1/tenants/{tenant_id}/domains", params={"limit": 1})).json()[
        "next_cursor"
    ]
    for url in (f"/v1/tenants/{tenant_id}/domains", f"/v1/tenants/{tenant_id}/mailboxes"):
        response = await other.get(url, params={"limit": 1})
        assert response.json()["detail"]["code"] == "tenant_not_found"
    paged = await other.get(f"/v1/tenants/{tenant_id}/domains", params={"cursor": cursor})
    assert paged.json()["detail"]["code"] == "tenant_not_found"
    assert (await other.get("/v1/tenants", params={"limit": 5})).json()["tenants"] == []
