"""`POST/GET /v1/tenants/{tenant_id}/mailboxes`: what a provisioning request answers and stores,
the 3-per-domain limit, and every validation error (seed; DESIGN.md section 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tenantcore.mailboxes.schemas import MailboxOut
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    MAILBOX_FIELDS,
    PASSWORD,
    body,
    exchange_mailboxes,
    listed,
    provision,
    rows,
    set_row,
    tenant_with_domain,
)


async def test_provision_answers_at_once_with_the_seed_shape(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailboxes",
        json={
            "domain": DOMAIN,
            "account_password": PASSWORD,
            "mailboxes": [{"name": "Sales Outreach", "email": "Sales@Mail.AcmeCorp.com"}],
        },
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert {k: answer[k] for k in ("created_count", "exists_count", "failed_count")} == {
        "created_count": 1,
        "exists_count": 0,
        "failed_count": 0,
    }
    [result] = answer["results"]
    assert result["status"] == "created"
    assert result["name"] == "Sales Outreach"
    assert result["email"] == "sales@mail.acmecorp.com"
    assert result["details"] == {
        "display_name": "Sales Outreach",
        "primary_smtp": "sales@mail.acmecorp.com",
        "user_principal_name": "sales@mail.acmecorp.com",
        "alias": "sales",
    }
    assert result["mailbox_status"] == "provisioning"
    assert result["error"] is None

    # Stored and listed as provisioning; Exchange has not been called yet (background work).
    listing = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()
    assert listing["tenant_id"] == tenant_id
    assert listing["count"] == 1
    [mailbox] = listing["mailboxes"]
    assert mailbox.keys() == MAILBOX_FIELDS
    assert mailbox["id"] == result["mailbox_id"]
    assert mailbox["status"] == "provisioning"
    assert mailbox["mail_nickname"] == "sales"
    assert mailbox["account_enabled"] is False
    assert mailbox["daily_send_limit"] is None
    assert mailbox["sends_today"] == 0
    assert mailbox["blocked_at"] is None
    assert mailbox["ready_at"] is None
    assert mailbox["domain_name"] == DOMAIN
    assert mailbox["tenant_name"]
    assert await exchange_mailboxes(api, tenant_id) == []
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["mailbox_count"] == 1


async def test_existing_mailboxes_count_towards_the_limit_of_three(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    first = await provision(api, tenant_id, "anna", "ben")
    assert first.json()["created_count"] == 2

    # One fits; the existing one is reported, the one beyond the limit fails alone.
    second = await provision(api, tenant_id, "ben", "dora", "carl")
    assert second.status_code == 200
    answer = second.json()
    assert [(r["email"].split("@")[0], r["status"]) for r in answer["results"]] == [
        ("ben", "exists"),
        ("dora", "failed"),
        ("carl", "created"),
    ]
    assert (answer["created_count"], answer["exists_count"], answer["failed_count"]) == (1, 1, 1)
    failed = answer["results"][1]
    assert failed["error"] == "mailbox_limit_reached"
    assert failed["message"]
    assert failed["details"] is None
    assert failed["mailbox_id"] is None
    assert answer["results"][0]["mailbox_id"] == first.json()["results"][1]["mailbox_id"]

    # A full domain refuses a request none of which it can honour, and changes nothing.
    full = await provision(api, tenant_id, "emil")
    assert full.status_code == 400
    assert full.json()["detail"]["code"] == "mailbox_limit_reached"
    assert sorted(m["primary_smtp"].split("@")[0] for m in await listed(api, tenant_id)) == [
        "anna",
        "ben",
        "carl",
    ]
    assert sorted(row.slot for row in await rows(api)) == [1, 2, 3]

    # Repeating a request that was honoured is safe: everything exists.
    again = await provision(api, tenant_id, "anna", "ben", "carl")
    assert again.status_code == 200
    assert again.json()["exists_count"] == 3


async def test_more_than_three_in_one_request_is_refused(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    response = await provision(api, tenant_id, "a", "b", "c", "d")
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "mailbox_limit_reached"
    assert await listed(api, tenant_id) == []


async def test_the_limit_is_per_domain(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, DOMAIN, "send.acmecorp.com")
    assert (await provision(api, tenant_id, "a", "b", "c")).json()["created_count"] == 3
    other = await provision(api, tenant_id, "a", "b", "c", domain="send.acmecorp.com")
    assert other.json()["created_count"] == 3
    answer = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()
    assert answer["count"] == 6
    # The same local part on two domains cannot share an Exchange alias (unique per
    # organization), so the second one gets an alias unique to its address.
    aliases = {m["primary_smtp"]: m["mail_nickname"] for m in answer["mailboxes"]}
    assert aliases["a@mail.acmecorp.com"] == "a"
    assert aliases["a@send.acmecorp.com"] == "a-send-acmecorp-com"
    details = other.json()["results"][0]["details"]
    assert details["alias"] == "a-send-acmecorp-com"


def _mailboxes(*emails: str) -> list[dict[str, str]]:
    return [{"name": "Outreach", "email": email} for email in emails]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"mailboxes": _mailboxes("sales@other.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("sales@sub.mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("@mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("john doe@mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("john.@mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("jo..hn@mail.acmecorp.com")}, "invalid_email"),
        ({"mailboxes": _mailboxes("x" * 65 + "@mail.acmecorp.com")}, "invalid_email"),
        (
            {"mailboxes": _mailboxes("sales@mail.acmecorp.com", "SALES@mail.acmecorp.com")},
            "duplicate_email",
        ),
        ({"account_password": "Sh0rt!"}, "weak_password"),
        ({"account_password": "alllowercase1"}, "weak_password"),
        ({"account_password": "NoDigitsOrSymbols"}, "weak_password"),
        ({"account_password": "Pässwort123!"}, "weak_password"),
        ({"account_password": "Aa1!" * 65}, "weak_password"),
        (
            {"mailboxes": [{"name": "   ", "email": "sales@mail.acmecorp.com"}]},
            "invalid_display_name",
        ),
        (
            {"mailboxes": [{"name": "x" * 257, "email": "a@mail.acmecorp.com"}]},
            "invalid_display_name",
        ),
        ({"mailboxes": []}, "invalid_request"),
        ({"mailboxes": [{"email": "sales@mail.acmecorp.com"}]}, "invalid_request"),
        ({"account_password": 12345678}, "invalid_request"),
        ({"unexpected": True}, "invalid_request"),
    ],
)
async def test_invalid_requests_are_400_and_store_nothing(
    api: Api, changes: dict[str, Any], code: str
) -> None:
    tenant_id = await tenant_with_domain(api)
    request = {**body("sales"), **changes}
    response = await api.http.post(f"/v1/tenants/{tenant_id}/mailboxes", json=request)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["code"] == code
    assert await listed(api, tenant_id) == []


async def test_passwords_meeting_microsofts_rule_are_accepted(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    # Three of four classes is enough, and spaces and every listed symbol count.
    for local, password in (("a", "lower and UPPER"), ("b", "12345678aA"), ("c", "{[(<~>)]}x1")):
        response = await provision(api, tenant_id, local, password=password)
        assert response.status_code == 200, (password, response.text)


async def test_domain_must_be_registered_and_verified(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    unknown = await provision(api, tenant_id, "sales", domain="unknown.example.com")
    assert unknown.status_code == 404
    assert unknown.json()["detail"]["code"] == "domain_not_found"
    malformed = await provision(api, tenant_id, "sales", domain="not a domain")
    assert malformed.status_code == 404
    assert malformed.json()["detail"]["code"] == "domain_not_found"

    added = await api.http.post(
        f"/v1/tenants/{tenant_id}/domains", json={"domain": "pending.acmecorp.com"}
    )
    assert added.status_code == 201
    assert added.json()["is_verified"] is False
    unverified = await provision(api, tenant_id, "sales", domain="pending.acmecorp.com")
    assert unverified.status_code == 400
    assert unverified.json()["detail"]["code"] == "domain_not_verified"
    assert await listed(api, tenant_id) == []


async def test_exchange_bootstrap_must_be_ready(api: Api) -> None:
    await api.sandbox_config(bootstrap_seconds=3600)
    tenant_id = await tenant_with_domain(api)
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    assert tenant["exchange_bootstrap_status"] == "pending"
    response = await provision(api, tenant_id, "sales")
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "exchange_bootstrap_not_ready"
    assert await listed(api, tenant_id) == []


async def test_unknown_tenants_and_mailboxes_are_404(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    base = "/v1/tenants/00000000-0000-0000-0000-000000000000/mailboxes"
    for response in (
        await api.http.get(base),
        await api.http.post(base, json=body("sales")),
        await api.http.patch(f"{base}/{mailbox_id}", json={"daily_send_limit": 5}),
        await api.http.get(f"{base}/{mailbox_id}/usage"),
        await api.http.get("/v1/tenants/not-a-guid/mailboxes"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    mine = f"/v1/tenants/{tenant_id}/mailboxes"
    for response in (
        await api.http.patch(f"{mine}/no-such-mailbox", json={"daily_send_limit": 5}),
        await api.http.get(f"{mine}/00000000-0000-0000-0000-000000000000/usage"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "mailbox_not_found"


async def test_another_accounts_key_sees_nothing_and_changes_nothing(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    before = await listed(api, tenant_id)
    other = api.client(await api.new_key("globex"))
    base = f"/v1/tenants/{tenant_id}/mailboxes"
    for response in (
        await other.get(base),
        await other.post(base, json=body("intruder")),
        await other.post(base, json=body("sales", "a", "b", "c")),
        await other.patch(f"{base}/{mailbox_id}", json={"daily_send_limit": 5}),
        await other.patch(f"{base}/{mailbox_id}", json={}),
        await other.get(f"{base}/{mailbox_id}/usage"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    assert await listed(api, tenant_id) == before
    assert len(await rows(api)) == 1


async def test_requests_without_a_valid_key_are_401(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    anonymous = api.client(**{"X-Nothing": "1"})
    response = await anonymous.post(f"/v1/tenants/{tenant_id}/mailboxes", json=body("sales"))
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "missing_api_key"
    assert await listed(api, tenant_id) == []


async def test_listing_matches_the_documented_model_field_for_field(api: Api) -> None:
    """The list is serialized straight from rows for speed; it must be exactly what the
    OpenAPI model (`MailboxOut`) says, formats included, and count only today's sends."""
    tenant_id = await tenant_with_domain(api)
    assert (await provision(api, tenant_id, "sales", "ops")).status_code == 200
    await api.worker.drain()
    now = api.context.now()
    sales, ops = sorted(await rows(api), key=lambda row: row.primary_smtp)[::-1]
    await set_row(
        api,
        sales.id,
        sends_today=7,
        usage_day=now.date().isoformat(),
        blocked_at=now.replace(microsecond=123456),
        usage_synced_at=now,
        daily_send_limit=9,
    )
    await set_row(api, ops.id, sends_today=5, usage_day="2000-01-01")
    listing = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()
    for mailbox in listing["mailboxes"]:
        assert MailboxOut.model_validate(mailbox).model_dump(mode="json") == mailbox
    by_address = {m["primary_smtp"]: m for m in listing["mailboxes"]}
    assert by_address[sales.primary_smtp]["sends_today"] == 7
    assert by_address[sales.primary_smtp]["blocked_at"].endswith(".123456Z")
    assert by_address[sales.primary_smtp]["daily_send_limit"] == 9
    assert by_address[ops.primary_smtp]["sends_today"] == 0, "a count from an earlier day"
    assert [m["primary_smtp"] for m in listing["mailboxes"]] == sorted(by_address)
