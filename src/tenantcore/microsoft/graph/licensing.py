"""The tenant's commercial subscriptions (their Exchange licenses set the tenant external
recipient rate limit, wire reference 5) and applications' service principals."""

from __future__ import annotations

from urllib.parse import quote

from tenantcore.microsoft.graph.transport import GraphTransport
from tenantcore.microsoft.models import CompanySubscription, ServicePrincipal

SUBSCRIPTIONS = "/directory/subscriptions"


class LicensingOps(GraphTransport):
    async def subscriptions(self, tenant_id: str) -> list[CompanySubscription]:
        """Every subscription, all pages (application role Organization.Read.All)."""
        rows = await self.collect(tenant_id, SUBSCRIPTIONS, operation=f"GET {SUBSCRIPTIONS}")
        return [CompanySubscription.model_validate(row) for row in rows]

    async def service_principal(self, tenant_id: str, app_id: str) -> ServicePrincipal:
        """An application's service principal in the tenant (it exists once the application
        is consented there); NotFound otherwise. Application role Application.Read.All."""
        body = await self.request(
            tenant_id,
            "GET",
            f"/servicePrincipals(appId='{quote(app_id)}')",
            operation="GET /servicePrincipals(appId=)",
        )
        return ServicePrincipal.model_validate(body)
