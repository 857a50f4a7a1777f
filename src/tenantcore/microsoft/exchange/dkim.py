"""DKIM signing for a custom domain (New-, Get-, Set-DkimSigningConfig).

Exchange signs a custom domain's mail with the domain's own keys (`d=` the domain, which
DMARC alignment needs) only once its configuration is enabled, and enabling needs the two
CNAMEs the configuration names published at the domain first.
"""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists, InvalidRequest, NotFound
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import DkimSigningConfig

# Exchange's refusal to enable signing before the CNAMEs resolve (a ValidationException).
_CNAME_MISSING = "cname record does not exist"


class DkimOps(ExchangeTransport):
    async def get_dkim_config(self, tenant_id: str, domain: str) -> DkimSigningConfig | None:
        try:
            result = await self.invoke(tenant_id, "Get-DkimSigningConfig", {"Identity": domain})
        except NotFound:
            return None
        return DkimSigningConfig.model_validate(result.rows[0]) if result.rows else None

    async def ensure_dkim_config(self, tenant_id: str, domain: str) -> DkimSigningConfig:
        """The domain's DKIM configuration, created (keys made, signing off) if it has none.
        InvalidRequest while Exchange does not accept the domain yet."""
        existing = await self.get_dkim_config(tenant_id, domain)
        if existing is not None:
            return existing
        try:
            result = await self.invoke(
                tenant_id,
                "New-DkimSigningConfig",
                {"DomainName": domain, "Enabled": False, "KeySize": 2048},
            )
        except AlreadyExists:
            found = await self.get_dkim_config(tenant_id, domain)
            if found is None:
                raise
            return found
        return DkimSigningConfig.model_validate(result.rows[0])

    async def enable_dkim_signing(self, tenant_id: str, domain: str) -> bool:
        """Turn signing on; False while Exchange cannot see the CNAMEs yet (its DNS may lag
        the customer's by minutes to days), so the caller tries again later."""
        try:
            await self.invoke(
                tenant_id, "Set-DkimSigningConfig", {"Identity": domain, "Enabled": True}
            )
        except InvalidRequest as exc:
            if _CNAME_MISSING in exc.detail.lower():
                return False
            raise
        return True
