"""Graph `/policies/identitySecurityDefaultsEnforcementPolicy`: read with Policy.Read.All,
`isEnabled` changed with Policy.ReadWrite.SecurityDefaults; when on, SMTP AUTH refuses Basic
logins (tests/sandbox/test_smtp_auth.py)."""

from __future__ import annotations

from tests.conftest import SandboxHarness
from tests.sandbox.graph_support import assert_graph_error

PATH = "/policies/identitySecurityDefaultsEnforcementPolicy"
WRITER = ["Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"]


def test_the_policy_reads_as_graph_shows_it(sandbox: SandboxHarness) -> None:
    off = sandbox.create_tenant()
    body = sandbox.graph(off).get(PATH).json()
    assert body["@odata.context"] == (
        "https://graph.microsoft.com/v1.0/$metadata#policies/"
        "identitySecurityDefaultsEnforcementPolicy/$entity"
    )
    assert (body["id"], body["displayName"], body["isEnabled"]) == (
        "00000000-0000-0000-0000-000000000005",
        "Security Defaults",
        False,
    )
    on = sandbox.create_tenant(security_defaults_enabled=True)
    assert sandbox.graph(on).get(PATH).json()["isEnabled"] is True
    listed = sandbox.http.get(f"/_sandbox/tenants/{on.tenant_id}").json()
    assert listed["security_defaults_enabled"] is True


def test_is_enabled_can_be_changed_with_the_write_role(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant(security_defaults_enabled=True, graph_roles=WRITER)
    graph = sandbox.graph(tenant)
    assert graph.patch(PATH, json={"isEnabled": False}).status_code == 204
    assert graph.get(PATH).json()["isEnabled"] is False
    assert_graph_error(graph.patch(PATH, json={"displayName": "Mine"}), 400, "BadRequest")
    assert_graph_error(graph.patch(PATH, json={"isEnabled": "yes"}), 400, "Request_BadRequest")
    assert graph.get(PATH).json()["isEnabled"] is False


def test_roles_are_required(sandbox: SandboxHarness) -> None:
    reader = sandbox.create_tenant(graph_roles=["Policy.Read.All"])
    assert_graph_error(
        sandbox.graph(reader).patch(PATH, json={"isEnabled": True}),
        403,
        "Authorization_RequestDenied",
    )
    nobody = sandbox.create_tenant(graph_roles=["User.Read.All"])
    assert_graph_error(sandbox.graph(nobody).get(PATH), 403, "Authorization_RequestDenied")
