"""`POST /v1/tenants/{tenant_id}/domains/batch`: many domains at once, a result per name in the
order sent; one name failing fails that name only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.domain_support import DOMAIN, add
from tests.api.mailbox_support import calls, faults

ADD_IN_MICROSOFT = "graph:POST /domains"


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/domains/batch"


def _summary(answer: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["name"], r["status"], r["error"]) for r in answer["results"]]


async def _stored(api: Api, tenant_id: str) -> set[str]:
    listed = (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()
    return {domain["domain_name"] for domain in listed["domains"]}


async def test_each_name_gets_what_the_single_add_would_do(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    other_tenant = await api.connect_tenant()
    assert (await add(api.http, tenant_id)).status_code == 201
    assert (await add(api.http, other_tenant, "taken.acmecorp.com")).status_code == 201
    adds_before = (await calls(api)).get(ADD_IN_MICROSOFT, 0)

    names = [
        "Send1.AcmeCorp.com.",
        DOMAIN,
        "not a domain",
        "taken.acmecorp.com",
        "send2.acmecorp.com",
        "contoso.onmicrosoft.com",
    ]
    response = await api.http.post(_url(tenant_id), json={"domains": names})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["tenant_id"] == tenant_id
    assert _summary(answer) == [
        ("Send1.AcmeCorp.com.", "created", None),
        (DOMAIN, "exists", None),
        ("not a domain", "failed", "invalid_domain"),
        ("taken.acmecorp.com", "failed", "domain_already_registered"),
        ("send2.acmecorp.com", "created", None),
        ("contoso.onmicrosoft.com", "failed", "invalid_domain"),
    ]
    counts = (answer["created_count"], answer["exists_count"], answer["failed_count"])
    assert counts == (2, 1, 3)
    created = answer["results"][0]
    assert created["domain"]["domain_name"] == "send1.acmecorp.com"
    assert {r["purpose"] for r in created["domain"]["dns_records"]} >= {"verification", "mx"}
    assert (
        created["domain"]
        == (await api.http.get(f"/v1/tenants/{tenant_id}/domains/send1.acmecorp.com")).json()
    )
    refused = answer["results"][3]
    assert refused["domain"] is None
    assert refused["retryable"] is False
    assert "another tenant" in refused["message"]
    # Only the two new names reached Microsoft: never the one held by another tenant.
    assert (await calls(api))[ADD_IN_MICROSOFT] - adds_before == 2
    assert await _stored(api, tenant_id) == {DOMAIN, "send1.acmecorp.com", "send2.acmecorp.com"}
    assert await _stored(api, other_tenant) == {"taken.acmecorp.com"}

    # Safe to repeat: what was created now exists.
    again = (await api.http.post(_url(tenant_id), json={"domains": names})).json()
    assert [r["status"] for r in again["results"]] == [
        "exists",
        "exists",
        "failed",
        "failed",
        "exists",
        "failed",
    ]
    assert (await calls(api))[ADD_IN_MICROSOFT] - adds_before == 2


async def test_microsoft_failing_fails_those_names_only_and_they_can_be_sent_again(
    api: Api,
) -> None:
    tenant_id = await api.connect_tenant()
    rule = {"host": "graph", "operation": "POST /domains", "error_rate": 1.0}
    await faults(api, {**rule, "error_statuses": [503], "retry_after_seconds": 0})
    names = ["send1.acmecorp.com", "send2.acmecorp.com"]
    failed = (await api.http.post(_url(tenant_id), json={"domains": names})).json()
    assert _summary(failed) == [(name, "failed", "microsoft_unavailable") for name in names]
    assert all(r["retryable"] for r in failed["results"])
    assert await _stored(api, tenant_id) == set()

    await faults(api)
    retried = (await api.http.post(_url(tenant_id), json={"domains": names})).json()
    assert [r["status"] for r in retried["results"]] == ["created", "created"]
    assert await _stored(api, tenant_id) == set(names)


@pytest.mark.parametrize(
    "body",
    [
        {"domains": []},
        {"domains": [f"send{n}.acmecorp.com" for n in range(51)]},
        {"domains": ["send1.acmecorp.com", "SEND1.acmecorp.com"]},
        {"domains": "send1.acmecorp.com"},
        {"domains": ["send1.acmecorp.com"], "extra": True},
        {},
    ],
)
async def test_a_bad_request_changes_nothing(api: Api, body: dict[str, Any]) -> None:
    tenant_id = await api.connect_tenant()
    adds_before = (await calls(api)).get(ADD_IN_MICROSOFT, 0)
    response = await api.http.post(_url(tenant_id), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["code"] == "invalid_request"
    assert await _stored(api, tenant_id) == set()
    assert (await calls(api)).get(ADD_IN_MICROSOFT, 0) == adds_before


async def test_unknown_and_other_accounts_tenants_are_not_found(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    other = api.client(await api.new_key("globex"))
    body = {"domains": ["send1.acmecorp.com"]}
    for response in (
        await other.post(_url(tenant_id), json=body),
        await api.http.post(_url("6f1c1c8e-2f0a-4c47-9a55-0c4a3b1f9d10"), json=body),
    ):
        assert response.status_code == 404
        assert response.json()["detail"]["code"] == "tenant_not_found"
    assert await _stored(api, tenant_id) == set()
