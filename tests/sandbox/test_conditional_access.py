"""Conditional Access in the sandbox: policies set through the control API, read through Graph
`/identity/conditionalAccess/policies`, and an enabled policy blocking legacy authentication
refusing SMTP AUTH with a password for the users it covers."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import assert_graph_error
from tests.sandbox.smtp_seed import PASSWORD, SeededMailbox, add_mailbox, smtp_session

PATH = "/identity/conditionalAccess/policies"
CA_REFUSAL = (
    b"5.7.139 Authentication unsuccessful, the request did not meet the criteria to be "
    b"authenticated successfully. Contact your administrator."
)


def block_legacy(**changes: Any) -> dict[str, Any]:
    """Microsoft's "Block legacy authentication" template, with `changes` on top."""
    policy: dict[str, Any] = {
        "displayName": "Block legacy authentication",
        "state": "enabled",
        "conditions": {
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    policy.update(changes)
    return policy


def _set(sandbox: SandboxHarness, tenant: SandboxTenant, *policies: dict[str, Any]) -> None:
    response = sandbox.http.patch(
        f"/_sandbox/tenants/{tenant.tenant_id}",
        json={"conditional_access_policies": list(policies)},
    )
    assert response.status_code == 200, response.text


def _login(sandbox: SandboxHarness, mailbox: SeededMailbox) -> tuple[int, bytes]:
    """The login's reply: (235, …) on success, else the refusal."""
    with smtp_session(sandbox) as client:
        try:
            client.login(mailbox.address, PASSWORD)
        except smtplib.SMTPAuthenticationError as exc:
            reply = exc.smtp_error
            assert isinstance(reply, bytes)
            return exc.smtp_code, reply
    return 235, b""


def test_policies_read_through_graph_as_set(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    _set(sandbox, tenant, block_legacy(), block_legacy(displayName="MFA", state="disabled"))
    body = sandbox.graph(tenant).get(PATH).json()
    assert body["@odata.context"].endswith("$metadata#identity/conditionalAccess/policies")
    first, second = body["value"]
    assert first["displayName"] == "Block legacy authentication"
    assert first["state"] == "enabled"
    assert first["conditions"]["clientAppTypes"] == ["exchangeActiveSync", "other"]
    assert first["conditions"]["users"]["includeUsers"] == ["All"]
    assert first["conditions"]["users"]["excludeGroups"] == []
    assert first["grantControls"]["builtInControls"] == ["block"]
    assert len({first["id"], second["id"]}) == 2
    assert second["state"] == "disabled"
    # Another tenant has its own (none); the app needs Policy.Read.All.
    other = sandbox.create_tenant()
    assert sandbox.graph(other).get(PATH).json()["value"] == []
    nobody = sandbox.create_tenant(graph_roles=["User.Read.All"])
    assert_graph_error(sandbox.graph(nobody).get(PATH), 403, "Authorization_RequestDenied")


def test_a_policy_blocking_legacy_auth_refuses_smtp_logins(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    sales = add_mailbox(sandbox, tenant, f"sales@{tenant.initial_domain}")
    ops = add_mailbox(sandbox, tenant, f"ops@{tenant.initial_domain}")
    assert _login(sandbox, sales)[0] == 235

    _set(sandbox, tenant, block_legacy())
    assert _login(sandbox, sales) == (535, CA_REFUSAL)
    assert _login(sandbox, ops) == (535, CA_REFUSAL)

    # Excluding a user lets that one in; so does including only named others.
    users = {"includeUsers": ["All"], "excludeUsers": [sales.user_id]}
    _set(sandbox, tenant, block_legacy(conditions={**block_legacy()["conditions"], "users": users}))
    assert _login(sandbox, sales)[0] == 235
    assert _login(sandbox, ops) == (535, CA_REFUSAL)


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "enabledForReportingButNotEnforced"},
        {"state": "disabled"},
        {"grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
        {
            "conditions": {
                "clientAppTypes": ["browser", "mobileAppsAndDesktopClients"],
                "applications": {"includeApplications": ["All"]},
                "users": {"includeUsers": ["All"]},
            }
        },
        {
            "conditions": {
                "clientAppTypes": ["other"],
                "applications": {
                    "includeApplications": ["All"],
                    "excludeApplications": ["00000002-0000-0ff1-ce00-000000000000"],
                },
                "users": {"includeUsers": ["All"]},
            }
        },
    ],
)
def test_policies_that_do_not_block_legacy_auth_let_logins_in(
    sandbox: SandboxHarness, changes: dict[str, Any]
) -> None:
    tenant = sandbox.create_tenant()
    mailbox = add_mailbox(sandbox, tenant, f"sales@{tenant.initial_domain}")
    _set(sandbox, tenant, block_legacy(**changes))
    assert _login(sandbox, mailbox)[0] == 235


def test_policies_are_validated(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    url = f"/_sandbox/tenants/{tenant.tenant_id}"
    for policies in (
        [{"state": "enabled"}],
        [block_legacy(state="on")],
        [block_legacy(conditions={"clientAppTypes": ["legacy"]})],
        [block_legacy(owner="me")],
        "Block legacy authentication",
    ):
        response = sandbox.http.patch(url, json={"conditional_access_policies": policies})
        assert response.status_code == 400, policies
    assert sandbox.http.get(url).json()["conditional_access_policies"] == []
