"""`/policies/identitySecurityDefaultsEnforcementPolicy`: the tenant's Entra security defaults,
which refuse Basic authentication (SMTP AUTH with a password among it) when enabled; and
`/identity/conditionalAccess/policies`, the Conditional Access policies (read only here; the
control API sets them, `sandbox/conditional_access.py`).

Graph v1.0 reads it with `Policy.Read.All` and updates `isEnabled` with
`Policy.ReadWrite.SecurityDefaults`; the other properties are read-only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.conditional_access import tenant_policies
from tenantcore.sandbox.graph.common import (
    METADATA,
    GraphResponse,
    invalid_value,
    unknown_property,
)
from tenantcore.sandbox.graph.dispatch import Endpoint

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext

PATH = "/policies/identitySecurityDefaultsEnforcementPolicy"
POLICY_ID = "00000000-0000-0000-0000-000000000005"
READ_ROLES = frozenset({"Policy.Read.All", "Policy.ReadWrite.SecurityDefaults"})
WRITE_ROLES = frozenset({"Policy.ReadWrite.SecurityDefaults"})
ENTITY = "identitySecurityDefaultsEnforcementPolicy"
CONDITIONAL_ACCESS_PATH = "/identity/conditionalAccess/policies"
CONDITIONAL_ACCESS_ROLES = frozenset({"Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"})


def _view(enabled: bool) -> dict[str, Any]:
    return {
        "@odata.context": f"{METADATA}policies/identitySecurityDefaultsEnforcementPolicy/$entity",
        "id": POLICY_ID,
        "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms "
        "recommended by Microsoft. When enabled, these recommendations will be automatically "
        "enforced in your organization.",
        "isEnabled": enabled,
    }


def _enabled(ctx: GraphContext) -> bool:
    row = ctx.sb.store.one(
        "SELECT security_defaults_enabled FROM tenant WHERE id = ?", (ctx.tenant_id,)
    )
    return bool(row and row["security_defaults_enabled"])


async def get_policy(ctx: GraphContext) -> GraphResponse:
    return GraphResponse(200, _view(_enabled(ctx)))


async def update_policy(ctx: GraphContext) -> GraphResponse:
    body = ctx.request.json()
    for key in body:
        if key != "isEnabled" and not key.startswith("@"):
            raise unknown_property(key, ENTITY)
    if "isEnabled" in body:
        if not isinstance(body["isEnabled"], bool):
            raise invalid_value("isEnabled", ENTITY)
        with ctx.sb.store.transaction():
            ctx.sb.store.execute(
                "UPDATE tenant SET security_defaults_enabled = ? WHERE id = ?",
                (int(body["isEnabled"]), ctx.tenant_id),
            )
    return GraphResponse(204)


async def list_conditional_access(ctx: GraphContext) -> GraphResponse:
    """`/identity/conditionalAccess/policies` (one page: tenants have tens of policies)."""
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}identity/conditionalAccess/policies",
            "value": tenant_policies(ctx.sb, ctx.tenant_id),
        },
    )


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET", PATH, get_policy, READ_ROLES),
        Endpoint("PATCH", PATH, update_policy, WRITE_ROLES),
        Endpoint("GET", CONDITIONAL_ACCESS_PATH, list_conditional_access, CONDITIONAL_ACCESS_ROLES),
    ]
