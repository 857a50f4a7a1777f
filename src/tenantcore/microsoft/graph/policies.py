"""Entra security defaults: when enabled they refuse Basic authentication, SMTP AUTH with a
password included (wire reference 4.2, "other gates")."""

from __future__ import annotations

from tenantcore.microsoft.graph.transport import GraphTransport

SECURITY_DEFAULTS = "/policies/identitySecurityDefaultsEnforcementPolicy"


class PolicyOps(GraphTransport):
    async def security_defaults_enabled(self, tenant_id: str) -> bool:
        """Whether the tenant's security defaults are on (application role Policy.Read.All)."""
        body = await self.request(
            tenant_id, "GET", SECURITY_DEFAULTS, operation=f"GET {SECURITY_DEFAULTS}"
        )
        return body.get("isEnabled") is True
