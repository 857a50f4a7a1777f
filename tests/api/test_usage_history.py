"""A mailbox's usage day by day, and following its enforcement events: one mailbox blocked
on its cap, released at midnight, its finished day settled from message trace."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from tenantcore.enforcement.schemas import EventPage
from tenantcore.mailboxes.schemas import UsageHistory
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    OPS,
    SALES,
    BlockedDay,
    blocked_then_released,
    provision,
    tenant_with_domain,
)


async def _history(api: Api, day: BlockedDay, address: str, **params: str) -> dict[str, Any]:
    response = await api.http.get(
        f"/v1/tenants/{day.tenant_id}/mailboxes/{day.ids[address]}/usage/history", params=params
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    # Serialized straight from rows: exactly what the documented model says, formats too.
    assert UsageHistory.model_validate(document).model_dump(mode="json", by_alias=True) == document
    return document


def _summary(document: dict[str, Any]) -> list[tuple[str, int, int | None, bool, str]]:
    return [
        (d["day"], d["sends"], d["limit_value"], d["blocked_at"] is not None, d["state"])
        for d in document["days"]
    ]


async def test_history_keeps_each_day_and_settles_the_finished_one(api: Api) -> None:
    day = await blocked_then_released(api, settle=False)
    history = await _history(api, day, SALES)
    assert history["mailbox_id"] == day.ids[SALES]
    assert history["primary_smtp"] == SALES
    # The default range: the 30 days up to today.
    assert history["to"] == day.second
    assert date.fromisoformat(history["to"]) - date.fromisoformat(history["from"]) == timedelta(
        days=29
    )
    # Day one kept as the day's last sync counted it; today still being counted.
    assert _summary(history) == [
        (day.first, 2, 2, True, "closed"),
        (day.second, 0, 2, False, "open"),
    ]
    assert history["count"] == 2
    assert history["days"][0]["settled_at"] is None

    await api.advance_sandbox_clock(api.context.settings.usage_settle_seconds)
    await api.worker.drain()
    settled = await _history(api, day, SALES)
    assert _summary(settled)[0] == (day.first, 2, 2, True, "settled")
    settled_at = datetime.fromisoformat(settled["days"][0]["settled_at"])
    assert settled_at > datetime.fromisoformat(f"{day.second}T00:00:00+00:00")
    # The mailbox that never sent: every day is there, with zero.
    assert _summary(await _history(api, day, OPS)) == [
        (day.first, 0, 2, False, "settled"),
        (day.second, 0, 2, False, "open"),
    ]


async def test_history_ranges(api: Api) -> None:
    day = await blocked_then_released(api, settle=True)
    only_first = await _history(api, day, SALES, **{"from": day.first, "to": day.first})
    assert (only_first["from"], only_first["to"]) == (day.first, day.first)
    assert _summary(only_first) == [(day.first, 2, 2, True, "settled")]
    only_second = await _history(api, day, SALES, **{"from": day.second})
    assert _summary(only_second) == [(day.second, 0, 2, False, "open")]
    before = (date.fromisoformat(day.first) - timedelta(days=400)).isoformat()
    empty = await _history(api, day, SALES, **{"from": before, "to": before})
    assert (empty["days"], empty["count"]) == ([], 0)
    # The longest range: 366 days.
    year_back = (date.fromisoformat(day.second) - timedelta(days=365)).isoformat()
    assert (await _history(api, day, SALES, **{"from": year_back}))["count"] == 2


async def test_history_refuses_bad_ranges_and_other_accounts(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    path = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage/history"
    fresh = await api.http.get(path)
    assert fresh.status_code == 200
    assert (fresh.json()["days"], fresh.json()["count"]) == ([], 0)  # never synced yet
    for params in (
        {"from": "2026-13-01"},
        {"from": "yesterday"},
        {"to": ""},
        {"from": "20261101"},  # ISO basic format: only YYYY-MM-DD
        {"from": "2026-W47-1"},  # ISO week date
        {"from": "2026-11-02", "to": "2026-11-01"},
        {"from": "2025-11-01", "to": "2026-11-02"},  # 367 days
    ):
        response = await api.http.get(path, params=params)
        assert response.status_code == 400, params
        assert response.json()["detail"]["code"] == "invalid_date_range", params
    unknown = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{'0' * 36}/usage/history")
    assert unknown.status_code == 404
    assert unknown.json()["detail"]["code"] == "mailbox_not_found"
    other = api.client(await api.new_key("globex"))
    foreign = await other.get(path)
    assert foreign.status_code == 404
    assert foreign.json()["detail"]["code"] == "tenant_not_found"


async def _events(api: Api, **params: str) -> dict[str, Any]:
    response = await api.http.get("/v1/enforcement/events", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert EventPage.model_validate(page).model_dump(mode="json") == page
    return page


def _actions(page: dict[str, Any]) -> list[str]:
    return [event["action_taken"] for event in page["events"]]


async def test_events_by_mailbox_and_by_time(api: Api) -> None:
    day = await blocked_then_released(api, settle=False)
    everything = await _events(api)
    assert _actions(everything) == ["unblocked", "blocked"]
    unblocked, blocked = everything["events"]
    assert {event["mailbox_id"] for event in everything["events"]} == {day.ids[SALES]}
    assert len({unblocked["id"], blocked["id"]}) == 2
    assert _actions(await _events(api, mailbox_id=day.ids[SALES])) == ["unblocked", "blocked"]
    quiet = await _events(api, mailbox_id=day.ids[OPS], tenant_id=day.tenant_id)
    assert (quiet["events"], quiet["total"]) == ([], 0)

    # `since` is inclusive, `until` exclusive: polling from the newest created_at seen returns
    # that event again (skip it by id) and never misses one recorded in the same instant.
    assert _actions(await _events(api, since=blocked["created_at"])) == ["unblocked", "blocked"]
    assert _actions(await _events(api, since=unblocked["created_at"])) == ["unblocked"]
    assert _actions(await _events(api, until=unblocked["created_at"])) == ["blocked"]
    window = await _events(
        api, since=blocked["created_at"], until=unblocked["created_at"], action="blocked"
    )
    assert (_actions(window), window["total"]) == (["blocked"], 1)
    # Any offset names the same instant; without one it is UTC.
    recorded = datetime.fromisoformat(unblocked["created_at"])
    in_paris = recorded.astimezone(timezone(timedelta(hours=1))).isoformat()
    assert _actions(await _events(api, since=in_paris)) == ["unblocked"]
    naive = recorded.replace(tzinfo=None).isoformat()
    assert _actions(await _events(api, since=naive)) == ["unblocked"]
    later = (recorded + timedelta(seconds=1)).isoformat()
    assert (await _events(api, since=later))["total"] == 0


async def test_event_filters_are_validated(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    other_tenant = await api.connect_tenant()
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    assert (await _events(api, mailbox_id=mailbox_id))["total"] == 0
    for params in (
        {"since": "yesterday"},
        {"until": ""},
        {"since": "2026-11-25T10:00:00Z", "until": "2026-11-25T10:00:00Z"},
        {"since": "2026-11-25T10:00:00Z", "until": "2026-11-24T10:00:00Z"},
        {"since": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC
    ):
        response = await api.http.get("/v1/enforcement/events", params=params)
        assert response.status_code == 400, params
        assert response.json()["detail"]["code"] == "invalid_event_filter", params
    other = api.client(await api.new_key("globex"))
    for client, params in (
        (api.http, {"mailbox_id": "0" * 36}),
        (api.http, {"mailbox_id": mailbox_id, "tenant_id": other_tenant}),  # not that tenant's
        (other, {"mailbox_id": mailbox_id}),  # another account's mailbox
    ):
        response = await client.get("/v1/enforcement/events", params=params)
        assert response.status_code == 404, params
        assert response.json()["detail"]["code"] == "mailbox_not_found", params
