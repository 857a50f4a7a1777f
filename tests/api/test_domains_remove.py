"""`DELETE /v1/tenants/{tenant_id}/domains/{domain}`: the last step of replacing a burned
domain. Its mailboxes go first; then its switch leaves Exchange and the domain Microsoft 365."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    SALES,
    faults,
    one,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

GRAPH_DELETE = "DELETE /domains/{id}"


def _path(tenant_id: str, domain: str = DOMAIN) -> str:
    return f"/v1/tenants/{tenant_id}/domains/{domain}"


async def _in_microsoft(api: Api, tenant_id: str) -> set[str]:
    return {d.id for d in await api.context.connector.graph.list_domains(tenant_id)}


async def test_a_domain_is_removed_once_its_mailboxes_are_gone(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    limits = {"daily_send_limit": 5, "domain_scope": DOMAIN}
    policy = await api.http.post(f"/v1/tenants/{tenant_id}/mailbox-limits", json=limits)
    switch = policy.json()["provisioning"]
    rule_name, group_name = switch["transport_rule"]["name"], switch["block_group"]["name"]

    blocked = await api.http.delete(_path(tenant_id))
    assert blocked.status_code == 409
    assert blocked.json()["detail"]["code"] == "domain_has_mailboxes"
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    deleted = await api.http.delete(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}")
    assert deleted.status_code == 204
    await api.worker.drain()

    assert (await api.http.delete(_path(tenant_id))).status_code == 204
    assert DOMAIN not in await _in_microsoft(api, tenant_id)
    exchange = api.context.connector.exchange
    rules = {rule.name for rule in await exchange.list_transport_rules(tenant_id)}
    assert rule_name not in rules
    assert await exchange.find_group(tenant_id, group_name) is None
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["count"] == 0
    gone = await api.http.get(_path(tenant_id))
    assert gone.json()["detail"]["code"] == "domain_not_found"
    policy_gone = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert policy_gone.json()["detail"]["code"] == "domain_not_found"
    assert (await api.http.delete(_path(tenant_id))).status_code == 404
    # It can be added again, as a new domain.
    again = await api.http.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": DOMAIN})
    assert again.status_code == 201, again.text  # created, not found as before
    assert again.json()["is_verified"] is False


async def test_microsoft_refusing_or_failing_changes_nothing(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    # A mailbox made outside TenantCore still uses the domain: Microsoft refuses.
    await api.context.connector.exchange.new_shared_mailbox(
        tenant_id, primary_smtp_address=f"info@{DOMAIN}", display_name="Info", alias="info"
    )
    refused = await api.http.delete(_path(tenant_id))
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "domain_in_use"
    assert "still referenced" in refused.json()["detail"]["message"]
    assert DOMAIN in await _in_microsoft(api, tenant_id)
    assert (await api.http.get(_path(tenant_id))).status_code == 200

    await api.context.connector.exchange.remove_mailbox(tenant_id, f"info@{DOMAIN}")
    rule = {"host": "graph", "operation": GRAPH_DELETE, "error_rate": 1.0}
    await faults(api, {**rule, "error_statuses": [503], "retry_after_seconds": 0})
    unavailable = await api.http.delete(_path(tenant_id))
    assert unavailable.status_code == 503
    assert unavailable.json()["detail"]["code"] == "microsoft_unavailable"
    assert (await api.http.get(_path(tenant_id))).status_code == 200
    await faults(api)
    assert (await api.http.delete(_path(tenant_id))).status_code == 204


async def test_other_accounts_and_unknown_domains_are_not_found(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    other = api.client(await api.new_key("globex"))
    for client, path, code in (
        (other, _path(tenant_id), "tenant_not_found"),
        (api.http, _path(tenant_id, "mail.globexcorp.com"), "domain_not_found"),
        (api.http, _path(tenant_id, "not a domain"), "domain_not_found"),
    ):
        response = await client.delete(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]["code"] == code, path
    assert DOMAIN in await _in_microsoft(api, tenant_id)
