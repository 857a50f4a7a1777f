"""Ramps on `POST /v1/tenants/{tenant_id}/mailbox-limits`: new mailboxes start low and rise to
the policy's limit one UTC day at a time, in Exchange as in the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    SALES,
    calls,
    effective_send_limit,
    one,
    past_next_midnight,
    send_codes,
    set_row,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

RAMP = {"start": 2, "daily_increase": 3}
# Exchange writes that change caps: none may happen once every mailbox is at the limit.
CAP_WRITES = (
    "exchange:New-HostedOutboundSpamFilterPolicy",
    "exchange:Set-HostedOutboundSpamFilterPolicy",
    "exchange:New-HostedOutboundSpamFilterRule",
    "exchange:Set-HostedOutboundSpamFilterRule",
    "exchange:Remove-HostedOutboundSpamFilterPolicy",
    "exchange:Remove-HostedOutboundSpamFilterRule",
)


def _limits(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailbox-limits"


def _caps(answer: dict[str, Any]) -> dict[int, list[str]]:
    """The caps Exchange holds, with their senders."""
    return {
        policy["recipient_limit_per_day"]: policy["senders"]
        for policy in answer["provisioning"]["outbound_spam_policies"]
    }


async def test_a_ramp_raises_exchange_s_caps_at_each_utc_midnight(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    response = await api.http.post(
        _limits(tenant_id), json={"daily_send_limit": 10, "domain_scope": DOMAIN, "ramp": RAMP}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["daily_send_limit"] == 10
    assert answer["policy"]["ramp"] == {**RAMP, "full_after_days": 3}
    # Both mailboxes became ready today: day 0 of the ramp.
    assert _caps(answer) == {2: [OPS, SALES]}
    assert await effective_send_limit(api, tenant_id, SALES) == 2
    # Exchange holds the day's cap, not the policy's limit.
    assert await send_codes(api, SALES, 3) == [250, 250, 550]

    for cap in (5, 8, 10):
        await past_next_midnight(api)
        state = (await api.http.get(_limits(tenant_id), params={"domain_scope": DOMAIN})).json()
        assert state["policy"]["provisioning_status"] == "provisioned"
        assert _caps(state) == {cap: [OPS, SALES]}
        assert await effective_send_limit(api, tenant_id, OPS) == cap
    # Exchange lets the grown cap through: yesterday's 8 would refuse the 9th send.
    assert await send_codes(api, OPS, 11) == [250] * 10 + [550]

    # At the limit the ramp has nothing more to change in Exchange.
    before = await calls(api)
    await past_next_midnight(api)
    after = await calls(api)
    assert {name: after.get(name, 0) - before.get(name, 0) for name in CAP_WRITES} == dict.fromkeys(
        CAP_WRITES, 0
    )


async def test_a_mailbox_first_synced_on_a_later_day_gets_that_day_s_cap(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    response = await api.http.post(
        _limits(tenant_id), json={"daily_send_limit": 10, "domain_scope": DOMAIN, "ramp": RAMP}
    )
    assert _caps(response.json()) == {2: [SALES]}
    # As if it turned ready just before midnight: no usage sync has counted it yet.
    await set_row(api, (await one(api, tenant_id, SALES))["id"], usage_day=None)
    await past_next_midnight(api)
    state = (await api.http.get(_limits(tenant_id), params={"domain_scope": DOMAIN})).json()
    assert _caps(state) == {5: [SALES]}


async def test_days_no_sync_saw_keep_each_day_s_ramped_cap(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    response = await api.http.post(
        _limits(tenant_id), json={"daily_send_limit": 10, "domain_scope": DOMAIN, "ramp": RAMP}
    )
    assert response.status_code == 200
    # The workers are down over two midnights; the first sync back closes three days.
    now = await api.sandbox_now()
    await api.advance_sandbox_clock(2 * 86_400 + 3_600)
    await past_next_midnight(api)
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    history = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage/history",
        params={"from": now.date().isoformat()},
    )
    assert history.status_code == 200, history.text
    assert [(d["limit_value"], d["state"]) for d in history.json()["days"]] == [
        (2, "closed"),
        (5, "closed"),
        (8, "closed"),
        (10, "open"),
    ]


async def test_a_mailbox_s_own_lower_limit_and_older_mailboxes_under_a_ramp(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 4}
    )
    assert patched.status_code == 200
    await past_next_midnight(api)
    await past_next_midnight(api)
    # Ready two days ago: a ramp saved now counts from then (start 1 + 2 x 2 = 5).
    response = await api.http.post(
        _limits(tenant_id),
        json={
            "daily_send_limit": 9,
            "domain_scope": DOMAIN,
            "ramp": {"start": 1, "daily_increase": 2},
        },
    )
    assert response.status_code == 200
    assert _caps(response.json()) == {4: [SALES], 5: [OPS]}
    assert await effective_send_limit(api, tenant_id, SALES) == 4


async def test_saving_again_keeps_the_ramp_unless_told_otherwise(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    url = _limits(tenant_id)
    scope = {"domain_scope": DOMAIN}
    first = await api.http.post(url, json={"daily_send_limit": 20, **scope, "ramp": RAMP})
    assert first.json()["policy"]["ramp"] == {**RAMP, "full_after_days": 6}

    kept = await api.http.post(url, json={"daily_send_limit": 15, **scope})
    assert kept.status_code == 200
    assert kept.json()["policy"]["ramp"] == {**RAMP, "full_after_days": 5}
    fetched = await api.http.get(url, params=scope)
    assert fetched.json()["policy"]["ramp"] == {**RAMP, "full_after_days": 5}

    changed = await api.http.post(
        url, json={"daily_send_limit": 15, **scope, "ramp": {"start": 5, "daily_increase": 10}}
    )
    assert changed.json()["policy"]["ramp"] == {
        "start": 5,
        "daily_increase": 10,
        "full_after_days": 1,
    }

    removed = await api.http.post(url, json={"daily_send_limit": 15, **scope, "ramp": None})
    assert removed.json()["policy"]["ramp"] is None
    # The seed's fields are as they were.
    assert removed.json()["daily_send_limit"] == 15
    assert removed.json()["domain_scope"] == DOMAIN


@pytest.mark.parametrize(
    ("ramp", "code"),
    [
        ({"start": 10, "daily_increase": 1}, "invalid_ramp"),  # not below the limit
        ({"start": 0, "daily_increase": 1}, "invalid_request"),
        ({"start": 2, "daily_increase": 0}, "invalid_request"),
        ({"start": 2, "daily_increase": 26}, "invalid_request"),
        ({"start": 2}, "invalid_request"),
        ({"start": "2", "daily_increase": 1.5}, "invalid_request"),
        ({"start": 2, "daily_increase": 1, "max": 9}, "invalid_request"),
        ([2, 1], "invalid_request"),
    ],
)
async def test_a_bad_ramp_is_refused_and_changes_nothing(api: Api, ramp: object, code: str) -> None:
    tenant_id = await tenant_with_domain(api)
    url = _limits(tenant_id)
    saved = await api.http.post(url, json={"daily_send_limit": 20, "domain_scope": DOMAIN})
    assert saved.status_code == 200
    response = await api.http.post(
        url, json={"daily_send_limit": 10, "domain_scope": DOMAIN, "ramp": ramp}
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == code
    policy = (await api.http.get(url, params={"domain_scope": DOMAIN})).json()["policy"]
    assert (policy["daily_send_limit"], policy["ramp"]) == (20, None)


async def test_lowering_the_limit_to_a_kept_ramp_s_start_is_refused(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    url = _limits(tenant_id)
    await api.http.post(url, json={"daily_send_limit": 20, "domain_scope": DOMAIN, "ramp": RAMP})
    response = await api.http.post(url, json={"daily_send_limit": 2, "domain_scope": DOMAIN})
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "invalid_ramp"
    policy = (await api.http.get(url, params={"domain_scope": DOMAIN})).json()["policy"]
    assert (policy["daily_send_limit"], policy["ramp"]["start"]) == (20, 2)
