"""Cursors on the two logs, `GET /v1/enforcement/events` and `GET /v1/audit-log`: next to their
limit/offset paging, a `next_cursor` that pages by position, newest first."""

from __future__ import annotations

from typing import Any

from tenantcore.core.pagination import encode_cursor
from tests.api.conftest import Api
from tests.api.mailbox_support import blocked_then_released, tenant_with_domain


async def _follow(api: Api, url: str, items: str, limit: int) -> list[list[str]]:
    """Each page's ids, following `next_cursor` from the newest to the oldest."""
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await api.http.get(url, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["id"] for item in page[items]])
        if page["next_cursor"] is None:
            return pages
        params = {"limit": limit, "cursor": page["next_cursor"]}
        assert len(pages) < 50, "the cursor must move on"


async def _new_key(api: Api, name: str) -> None:
    response = await api.http.post("/v1/api-keys", json={"name": name, "scope": "read"})
    assert response.status_code == 201


async def test_audit_pages_by_cursor_and_new_entries_do_not_shift_them(api: Api) -> None:
    await tenant_with_domain(api)
    for name in ("one", "two", "three"):
        await _new_key(api, name)
    everything = [e["id"] for e in (await api.http.get("/v1/audit-log")).json()["entries"]]
    assert len(everything) >= 6
    pages = await _follow(api, "/v1/audit-log", "entries", 2)
    assert [entry for page in pages for entry in page] == everything
    assert all(len(page) == 2 for page in pages[:-1])

    first = (await api.http.get("/v1/audit-log", params={"limit": 2})).json()
    await _new_key(api, "four")  # the newest entry now: an offset would repeat one
    second = await api.http.get(
        "/v1/audit-log", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    assert [e["id"] for e in second.json()["entries"]] == everything[2:4]
    assert second.json()["total"] == len(everything) + 1

    both = await api.http.get(
        "/v1/audit-log", params={"limit": 2, "offset": 2, "cursor": first["next_cursor"]}
    )
    assert both.json()["detail"]["code"] == "invalid_audit_filter"
    garbage = await api.http.get("/v1/audit-log", params={"cursor": "garbage"})
    assert garbage.json()["detail"]["code"] == "invalid_cursor"
    # A cursor of another list (here the mailbox list's) is refused by each log.
    foreign = encode_cursor("mailboxes", ["mail.acmecorp.com", "sales@mail.acmecorp.com"])
    for url in ("/v1/enforcement/events", "/v1/audit-log"):
        response = await api.http.get(url, params={"cursor": foreign})
        assert response.json()["detail"]["code"] == "invalid_cursor"


async def test_event_pages_by_cursor(api: Api) -> None:
    day = await blocked_then_released(api, settle=False)
    url = "/v1/enforcement/events"
    everything = (await api.http.get(url, params={"tenant_id": day.tenant_id})).json()
    assert [e["action_taken"] for e in everything["events"]] == ["unblocked", "blocked"]
    assert everything["next_cursor"] is None
    ids = [e["id"] for e in everything["events"]]
    assert await _follow(api, url, "events", 1) == [[ids[0]], [ids[1]]]

    first = (await api.http.get(url, params={"limit": 1})).json()
    assert (first["count"], first["total"], first["offset"]) == (1, 2, 0)
    both = await api.http.get(url, params={"offset": 1, "cursor": first["next_cursor"]})
    assert both.json()["detail"]["code"] == "invalid_event_filter"
    # Offset paging still works, and says where the next page starts too.
    by_offset = (await api.http.get(url, params={"limit": 1, "offset": 1})).json()
    assert [e["id"] for e in by_offset["events"]] == [ids[1]]
    assert by_offset["next_cursor"] is None
