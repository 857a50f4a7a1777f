"""The tenant's commercial subscriptions: their Exchange licenses set the tenant external
recipient rate limit (wire reference 5)."""

from __future__ import annotations

from tenantcore.microsoft.graph.transport import GraphTransport
from tenantcore.microsoft.models import CompanySubscription

SUBSCRIPTIONS = "/directory/subscriptions"


class LicensingOps(GraphTransport):
    async def subscriptions(self, tenant_id: str) -> list[CompanySubscription]:
        """Every subscription, all pages (application role Organization.Read.All)."""
        rows = await self.collect(tenant_id, SUBSCRIPTIONS, operation=f"GET {SUBSCRIPTIONS}")
        return [CompanySubscription.model_validate(row) for row in rows]
