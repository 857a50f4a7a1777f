"""`PATCH …/mailboxes/{id}` and `GET …/mailboxes/{id}/usage` (seed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    effective_send_limit,
    exchange_mailboxes,
    faults,
    one,
    provision,
    set_row,
    tenant_with_domain,
)

SALES = f"sales@{DOMAIN}"
SEED_PATCH_FIELDS = {
    "id",
    "display_name",
    "primary_smtp",
    "daily_send_limit",
    "sends_today",
    "account_enabled",
}
SEED_USAGE_FIELDS = {
    "mailbox_id",
    "primary_smtp",
    "display_name",
    "account_enabled",
    "daily_send_limit",
    "sends_today",
    "remaining_sends",
    "is_blocked",
    "blocked_at",
    "utilization_pct",
}


async def _ready_mailbox(api: Api) -> tuple[str, str]:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    await api.worker.drain()
    assert (await one(api, tenant_id, SALES))["status"] == "ready"
    return tenant_id, mailbox_id


async def test_patch_limit_answers_the_seed_shape(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    response = await api.http.patch(url, json={"daily_send_limit": 20})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "updated"
    mailbox = answer["mailbox"]
    assert mailbox.keys() >= SEED_PATCH_FIELDS
    assert mailbox["id"] == mailbox_id
    assert mailbox["daily_send_limit"] == 20
    assert mailbox["primary_smtp"] == SALES
    assert mailbox["account_enabled"] is True
    assert (await one(api, tenant_id, SALES))["daily_send_limit"] == 20

    cleared = await api.http.patch(url, json={"daily_send_limit": None})
    assert cleared.json()["mailbox"]["daily_send_limit"] is None


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"daily_send_limit": 0}, "invalid_send_limit"),
        ({"daily_send_limit": 26}, "invalid_send_limit"),
        ({"daily_send_limit": -5}, "invalid_send_limit"),
        ({"daily_send_limit": 2.5}, "invalid_send_limit"),
        ({"daily_send_limit": "10"}, "invalid_send_limit"),
        ({"daily_send_limit": True}, "invalid_send_limit"),
        ({"daily_send_limit": 10, "display_name": " "}, "invalid_display_name"),
        ({"display_name": 42}, "invalid_display_name"),
        ({}, "no_updates"),
        ({"limit": 10, "name": "x"}, "no_updates"),
    ],
)
async def test_invalid_patches_change_nothing(
    api: Api, request_body: dict[str, Any], code: str
) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    before = await one(api, tenant_id, SALES)
    response = await api.http.patch(url, json=request_body)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["code"] == code
    assert await one(api, tenant_id, SALES) == before


async def test_not_json_is_invalid_request(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    response = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "invalid_request"


async def test_display_name_of_a_ready_mailbox_is_applied_in_exchange(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    response = await api.http.patch(url, json={"display_name": "  Jane from Sales  "})
    assert response.status_code == 200
    assert response.json()["mailbox"]["display_name"] == "Jane from Sales"
    [mailbox] = await exchange_mailboxes(api, tenant_id)
    assert mailbox.display_name == "Jane from Sales"

    # Microsoft unavailable: the caller is told, and nothing changes anywhere.
    await faults(
        api,
        {
            "host": "exchange",
            "operation": "Set-Mailbox",
            "error_rate": 1,
            "error_statuses": [503],
            "retry_after_seconds": 0,
        },
    )
    failed = await api.http.patch(url, json={"display_name": "Other", "daily_send_limit": 5})
    assert failed.status_code == 503
    assert failed.json()["detail"]["code"] == "microsoft_unavailable"
    current = await one(api, tenant_id, SALES)
    assert (current["display_name"], current["daily_send_limit"]) == ("Jane from Sales", None)


async def test_display_name_while_provisioning_reaches_exchange_later(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    response = await api.http.patch(url, json={"display_name": "Renamed Early"})
    assert response.status_code == 200
    assert response.json()["mailbox"]["status"] == "provisioning"
    await api.worker.drain()
    [mailbox] = await exchange_mailboxes(api, tenant_id)
    assert mailbox.display_name == "Renamed Early"


async def test_changed_limit_is_reprovisioned_in_exchange(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    policy = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 25, "domain_scope": DOMAIN},
    )
    assert policy.status_code == 200
    await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 7}
    )
    await api.worker.drain()
    policies = await api.context.connector.exchange.list_outbound_spam_policies(tenant_id)
    caps = {p.name: p.recipient_limit_per_day for p in policies if not p.is_default}
    assert 7 in caps.values()
    assert 25 not in caps.values()


async def test_usage_without_any_cap(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    response = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")
    assert response.status_code == 200
    usage = response.json()
    assert usage.keys() >= SEED_USAGE_FIELDS
    assert usage["mailbox_id"] == mailbox_id
    assert usage["primary_smtp"] == SALES
    assert usage["daily_send_limit"] is None
    assert usage["effective_send_limit"] is None
    assert usage["remaining_sends"] is None
    assert usage["utilization_pct"] is None
    assert usage["sends_today"] == 0
    assert usage["is_blocked"] is False
    assert usage["usage_synced_at"] is None
    assert usage["status"] == "ready"


@pytest.mark.parametrize(
    ("own", "policy", "sends", "effective", "remaining", "pct"),
    [
        (25, None, 18, None, 7, 72.0),  # the seed's example: own cap, not enforced
        (20, 25, 0, 20, 20, 0.0),
        (None, 10, 4, 10, 6, 40.0),  # enforced at the policy's cap
        (25, 10, 4, 10, 6, 40.0),  # never above the policy's ceiling
        (3, None, 1, None, 2, 33.3),
        (16, None, 1, None, 15, 6.3),  # half up, not to even
        (10, 10, 14, 10, 0, 140.0),  # floored at 0; recipients may exceed the cap
    ],
)
async def test_usage_numbers(
    api: Api,
    own: int | None,
    policy: int | None,
    sends: int,
    effective: int | None,
    remaining: int,
    pct: float,
) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    if policy is not None:
        await api.http.post(
            f"/v1/tenants/{tenant_id}/mailbox-limits",
            json={"daily_send_limit": policy, "domain_scope": DOMAIN},
        )
    today = (await api.sandbox_now()).date().isoformat()  # the API's clock, not the wall's
    await set_row(api, mailbox_id, daily_send_limit=own, sends_today=sends, usage_day=today)
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")).json()
    assert usage["daily_send_limit"] == own
    assert usage["effective_send_limit"] == effective
    assert await effective_send_limit(api, tenant_id, SALES) == effective  # the list's too
    assert usage["sends_today"] == sends
    assert usage["remaining_sends"] == remaining
    assert usage["utilization_pct"] == pct


async def test_usage_block_state_and_stale_counters(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    now = await api.sandbox_now()
    blocked_at = now.replace(microsecond=0)
    await set_row(
        api,
        mailbox_id,
        daily_send_limit=5,
        sends_today=5,
        usage_day=now.date().isoformat(),
        usage_synced_at=now,
        blocked_at=blocked_at,
    )
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage"
    usage = (await api.http.get(url)).json()
    assert usage["is_blocked"] is True
    assert datetime.fromisoformat(usage["blocked_at"]) == blocked_at
    assert usage["remaining_sends"] == 0
    assert usage["usage_synced_at"] is not None
    assert (await one(api, tenant_id, SALES))["blocked_at"] is not None

    # A counter last synced on an earlier UTC day is not today's.
    yesterday = (now - timedelta(days=1)).date().isoformat()
    await set_row(api, mailbox_id, usage_day=yesterday, blocked_at=None)
    usage = (await api.http.get(url)).json()
    assert (usage["sends_today"], usage["remaining_sends"], usage["utilization_pct"]) == (
        0,
        5,
        0.0,
    )
    assert (await one(api, tenant_id, SALES))["sends_today"] == 0


async def test_usage_takes_the_domain_policy_over_the_tenant_wide_one(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    limits = f"/v1/tenants/{tenant_id}/mailbox-limits"
    url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage"
    assert (await api.http.post(limits, json={"daily_send_limit": 12})).status_code == 200
    assert (await api.http.get(url)).json()["effective_send_limit"] == 12
    domain_policy = {"daily_send_limit": 8, "domain_scope": DOMAIN}
    assert (await api.http.post(limits, json=domain_policy)).status_code == 200
    usage = (await api.http.get(url)).json()
    assert usage["effective_send_limit"] == 8
    assert usage["remaining_sends"] == 8
    assert await effective_send_limit(api, tenant_id, SALES) == 8

    # PATCH answers with the cap that now applies.
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 5}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["mailbox"]["effective_send_limit"] == 5
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}", json={"daily_send_limit": 20}
    )
    assert patched.json()["mailbox"]["effective_send_limit"] == 8  # never above the policy


async def test_usage_of_a_mailbox_on_another_of_my_tenants_is_not_found(api: Api) -> None:
    tenant_id, mailbox_id = await _ready_mailbox(api)
    other_tenant = await tenant_with_domain(api, "mail.globexcorp.com")
    assert other_tenant != tenant_id
    response = await api.http.get(f"/v1/tenants/{other_tenant}/mailboxes/{mailbox_id}/usage")
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "mailbox_not_found"
