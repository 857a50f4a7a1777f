"""Conditional Access in the SMTP AUTH watch: a policy blocking legacy authentication refuses
sending tools' logins in Entra; the next check names it on the tenant and marks the mailboxes
it certainly covers, and the reading follows the policy when it changes."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.mailbox_support import (
    OPS,
    SALES,
    listed,
    login_reply,
    tenant_with_ready_mailboxes,
)

BLOCK_LEGACY = "Block legacy authentication"


def _policy(name: str = BLOCK_LEGACY, **users: list[str]) -> dict[str, Any]:
    return {
        "displayName": name,
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "applications": {"includeApplications": ["All"]},
            "users": users or {"includeUsers": ["All"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }


async def _set_policies(api: Api, tenant_id: str, *policies: dict[str, Any]) -> None:
    response = await api.control.patch(
        f"/_sandbox/tenants/{tenant_id}", json={"conditional_access_policies": list(policies)}
    )
    assert response.status_code == 200, response.text


async def _reading(api: Api, tenant_id: str) -> tuple[list[str] | None, dict[str, bool]]:
    tenant = (await api.http.get(f"/v1/tenants/{tenant_id}")).json()
    mailboxes = {m["primary_smtp"]: m["smtp_auth_enabled"] for m in await listed(api, tenant_id)}
    return tenant["legacy_auth_blocked_by"], mailboxes


async def _next_check(api: Api) -> None:
    """Past the SMTP AUTH check interval, with the worker run."""
    await api.advance_sandbox_clock(api.context.settings.smtp_auth_check_seconds + 1)
    await api.worker.drain()


def _user_id(api: Api, address: str) -> str:
    row = api.sandbox.store.one(
        "SELECT id FROM directory_user WHERE user_principal_name = ?", (address,)
    )
    assert row is not None
    return str(row["id"])


async def test_a_policy_blocking_legacy_auth_shows_on_the_tenant_and_its_mailboxes(
    api: Api,
) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    await _next_check(api)
    assert await _reading(api, tenant_id) == ([], {SALES: True, OPS: True})

    # An admin enables Microsoft's template, leaving out the ops mailbox's account.
    await _set_policies(
        api, tenant_id, _policy(includeUsers=["All"], excludeUsers=[_user_id(api, OPS)])
    )
    assert await login_reply(api, SALES) == 535
    assert await login_reply(api, OPS) == 250
    await _next_check(api)
    assert await _reading(api, tenant_id) == ([BLOCK_LEGACY], {SALES: False, OPS: True})
    usage = (await api.http.get(f"/v1/tenants/{tenant_id}/usage")).json()
    assert usage["smtp_auth_disabled_count"] == 1

    # Report-only and group-scoped policies: the group one is named (it may cover mailboxes)
    # but marks none, since TenantCore cannot tell whom it covers; report-only refuses nothing.
    report_only = {**_policy("Legacy report"), "state": "enabledForReportingButNotEnforced"}
    groups = _policy("Legacy by group", includeGroups=["3f0c9a52-0000-4000-8000-000000000001"])
    await _set_policies(api, tenant_id, report_only, groups)
    await _next_check(api)
    assert await _reading(api, tenant_id) == (["Legacy by group"], {SALES: True, OPS: True})

    await _set_policies(api, tenant_id)
    await _next_check(api)
    assert await _reading(api, tenant_id) == ([], {SALES: True, OPS: True})
    assert await login_reply(api, SALES) == 250
