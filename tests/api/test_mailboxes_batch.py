"""`POST /v1/tenants/{tenant_id}/mailboxes/batch`: mailboxes on many domains in one request,
each domain's exactly as the seed's request for it would make them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.domain_support import add, manual_dns
from tests.api.mailbox_support import (
    PASSWORD,
    listed,
    provision,
    rows,
    tenant_with_domain,
)

FIRST, SECOND, THIRD = "send1.acmecorp.com", "send2.acmecorp.com", "send3.acmecorp.com"


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailboxes/batch"


def _group(domain: str, *locals_: str) -> dict[str, Any]:
    return {
        "domain": domain,
        "mailboxes": [
            {"name": f"{local.title()} Outreach", "email": f"{local}@{domain}"} for local in locals_
        ],
    }


def _body(*groups: dict[str, Any], password: str = PASSWORD) -> dict[str, Any]:
    return {"account_password": password, "domains": list(groups)}


def _summary(answer: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["email"], r["status"], r["error"]) for r in answer["results"]]


async def test_each_domain_as_its_own_request_would_make_them(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, FIRST, SECOND, THIRD)
    manual_dns(api)
    assert (await add(api.http, tenant_id, "unverified.acmecorp.com")).status_code == 201
    assert (await provision(api, tenant_id, "sales", "ops", domain=SECOND)).status_code == 200

    response = await api.http.post(
        _url(tenant_id),
        json=_body(
            _group(FIRST, "a", "b", "c"),
            _group(SECOND, "sales", "events", "news"),  # one exists; one slot left
            _group("unverified.acmecorp.com", "a"),
            _group("unknown.acmecorp.com", "a"),
            _group(THIRD, "a", "b", "c", "d"),  # more than a domain holds
        ),
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert _summary(answer) == [
        (f"a@{FIRST}", "created", None),
        (f"b@{FIRST}", "created", None),
        (f"c@{FIRST}", "created", None),
        (f"sales@{SECOND}", "exists", None),
        (f"events@{SECOND}", "created", None),
        (f"news@{SECOND}", "failed", "mailbox_limit_reached"),
        ("a@unverified.acmecorp.com", "failed", "domain_not_verified"),
        ("a@unknown.acmecorp.com", "failed", "domain_not_found"),
        *((f"{local}@{THIRD}", "failed", "mailbox_limit_reached") for local in "abcd"),
    ]
    assert (answer["created_count"], answer["exists_count"], answer["failed_count"]) == (4, 1, 7)
    assert [r["domain"] for r in answer["results"][:4]] == [FIRST] * 3 + [SECOND]
    created = answer["results"][0]
    assert created["mailbox_status"] == "provisioning"
    assert created["details"]["user_principal_name"] == f"a@{FIRST}"

    # Stored as the single request stores them, and provisioned in the background.
    assert {m["primary_smtp"] for m in await listed(api, tenant_id)} == {
        f"a@{FIRST}",
        f"b@{FIRST}",
        f"c@{FIRST}",
        f"sales@{SECOND}",
        f"ops@{SECOND}",
        f"events@{SECOND}",
    }
    assert all(row.sealed_password != PASSWORD for row in await rows(api))
    await api.worker.drain()
    await api.advance_sandbox_clock(600)
    await api.worker.drain()
    assert {m["status"] for m in await listed(api, tenant_id)} == {"ready"}

    # Safe to repeat.
    again = (await api.http.post(_url(tenant_id), json=_body(_group(FIRST, "a", "b", "c")))).json()
    assert [r["status"] for r in again["results"]] == ["exists"] * 3


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_body(_group(FIRST, "a"), password="weak"), 400, "weak_password"),
        (_body(_group(FIRST, "a"), _group(FIRST.upper(), "b")), 400, "invalid_request"),
        ({"account_password": PASSWORD, "domains": []}, 400, "invalid_request"),
        (_body(*(_group(f"d{n}.acmecorp.com", "a") for n in range(51))), 400, "invalid_request"),
        (_body(_group(FIRST)), 400, "invalid_request"),  # no mailboxes
        ({"domains": [_group(FIRST, "a")]}, 400, "invalid_request"),
    ],
)
async def test_a_bad_request_changes_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    tenant_id = await tenant_with_domain(api, FIRST)
    response = await api.http.post(_url(tenant_id), json=body)
    assert (response.status_code, response.json()["detail"]["code"]) == (status, code)
    assert await listed(api, tenant_id) == []


async def test_unknown_and_other_accounts_tenants_are_not_found(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, FIRST)
    other = api.client(await api.new_key("globex"))
    body = _body(_group(FIRST, "a"))
    for response in (
        await other.post(_url(tenant_id), json=body),
        await api.http.post(_url("6f1c1c8e-2f0a-4c47-9a55-0c4a3b1f9d10"), json=body),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    assert await listed(api, tenant_id) == []
