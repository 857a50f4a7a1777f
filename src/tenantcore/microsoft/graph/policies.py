"""Entra security defaults and Conditional Access policies: either can refuse Basic
authentication, SMTP AUTH with a password included (wire reference 4.2, "other gates")."""

from __future__ import annotations

from tenantcore.microsoft.graph.transport import GraphTransport
from tenantcore.microsoft.models import ConditionalAccessPolicy

SECURITY_DEFAULTS = "/policies/identitySecurityDefaultsEnforcementPolicy"
CONDITIONAL_ACCESS = "/identity/conditionalAccess/policies"


class PolicyOps(GraphTransport):
    async def security_defaults_enabled(self, tenant_id: str) -> bool:
        """Whether the tenant's security defaults are on (application role Policy.Read.All)."""
        body = await self.request(
            tenant_id, "GET", SECURITY_DEFAULTS, operation=f"GET {SECURITY_DEFAULTS}"
        )
        return body.get("isEnabled") is True

    async def conditional_access_policies(self, tenant_id: str) -> list[ConditionalAccessPolicy]:
        """The tenant's Conditional Access policies, all pages (application role
        Policy.Read.All)."""
        rows = await self.collect(
            tenant_id, CONDITIONAL_ACCESS, operation=f"GET {CONDITIONAL_ACCESS}"
        )
        return [ConditionalAccessPolicy.model_validate(row) for row in rows]
