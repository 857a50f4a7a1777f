"""Enforcement changes a mailbox's daily cap and nothing else: TenantCore's cap policies, which
take the place of the tenant's Default outbound spam policy for the mailboxes they name, carry
the Default policy's external auto-forwarding and its stricter hourly limits."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, tenant_with_ready_mailboxes


async def _cap_policies(api: Api, tenant_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(
        f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN}
    )
    assert response.status_code == 200, response.text
    policies: list[dict[str, Any]] = response.json()["provisioning"]["outbound_spam_policies"]
    return policies


async def _set_default(api: Api, tenant_id: str, **settings: Any) -> None:
    await api.context.connector.exchange.invoke(
        tenant_id, "Set-HostedOutboundSpamFilterPolicy", {"Identity": "Default", **settings}
    )


async def _enforce(api: Api, tenant_id: str, limit: int) -> None:
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": limit, "domain_scope": DOMAIN},
    )
    assert response.status_code == 200, response.text


async def test_out_of_the_box_the_cap_policy_keeps_exchange_s_defaults(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    await _enforce(api, tenant_id, 20)
    [policy] = await _cap_policies(api, tenant_id)
    assert policy["recipient_limit_per_day"] == 20
    assert policy["auto_forwarding_mode"] == "Automatic"
    assert policy["recipient_limit_external_per_hour"] == 20
    assert policy["recipient_limit_internal_per_hour"] == 20


async def test_forwarding_and_stricter_hourly_limits_of_the_default_policy_carry_over(
    api: Api,
) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales")
    # The customer forwards replies to an outside inbox and throttles external sends hourly.
    await _set_default(api, tenant_id, AutoForwardingMode="On", RecipientLimitExternalPerHour=8)
    await _enforce(api, tenant_id, 20)
    [policy] = await _cap_policies(api, tenant_id)
    assert (policy["recipient_limit_per_day"], policy["auto_forwarding_mode"]) == (20, "On")
    assert policy["recipient_limit_external_per_hour"] == 8  # stricter than the cap: kept
    assert policy["recipient_limit_internal_per_hour"] == 20  # the service default: the cap

    # A later change to the Default policy reaches the cap policies (kept, and new ones) at the
    # next provisioning.
    await _set_default(api, tenant_id, AutoForwardingMode="Off", RecipientLimitExternalPerHour=50)
    await _enforce(api, tenant_id, 20)
    [policy] = await _cap_policies(api, tenant_id)
    assert (policy["recipient_limit_per_day"], policy["auto_forwarding_mode"]) == (20, "Off")
    assert policy["recipient_limit_external_per_hour"] == 20  # looser than the cap: the cap
    await _enforce(api, tenant_id, 15)
    [policy] = await _cap_policies(api, tenant_id)
    assert (policy["recipient_limit_per_day"], policy["auto_forwarding_mode"]) == (15, "Off")
