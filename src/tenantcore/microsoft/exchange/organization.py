"""Organization-level cmdlets: bootstrap state, SMTP AUTH switch, accepted domains."""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists, InvalidRequest
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import AcceptedDomain, OrganizationConfig, TransportConfig


class OrganizationOps(ExchangeTransport):
    async def get_organization_config(self, tenant_id: str) -> OrganizationConfig:
        result = await self.invoke(tenant_id, "Get-OrganizationConfig")
        if not result.rows:
            raise InvalidRequest(
                "Get-OrganizationConfig returned no rows", operation="Get-OrganizationConfig"
            )
        return OrganizationConfig.model_validate(result.rows[0])

    async def enable_organization_customization(self, tenant_id: str) -> bool:
        """Hydrate the org; False when Exchange says it already was (safe to repeat)."""
        try:
            await self.invoke(tenant_id, "Enable-OrganizationCustomization")
        except AlreadyExists:
            return False
        return True

    async def get_transport_config(self, tenant_id: str) -> TransportConfig:
        result = await self.invoke(tenant_id, "Get-TransportConfig")
        if not result.rows:
            raise InvalidRequest(
                "Get-TransportConfig returned no rows", operation="Get-TransportConfig"
            )
        return TransportConfig.model_validate(result.rows[0])

    async def set_smtp_client_authentication(self, tenant_id: str, *, disabled: bool) -> None:
        """Org-wide SMTP AUTH switch (Set-TransportConfig -SmtpClientAuthenticationDisabled)."""
        await self.invoke(
            tenant_id, "Set-TransportConfig", {"SmtpClientAuthenticationDisabled": disabled}
        )

    async def list_accepted_domains(self, tenant_id: str) -> list[AcceptedDomain]:
        result = await self.invoke(tenant_id, "Get-AcceptedDomain")
        return [AcceptedDomain.model_validate(row) for row in result.rows]
