"""DKIM signing with the customer's own domain.

Without it Exchange signs a custom domain's mail with the tenant's onmicrosoft.com domain, which
does not align with the From domain under DMARC, and the large mailbox providers' bulk-sender
rules ask for an aligned signature. So once a domain is verified (Email on), TenantCore has
Exchange make its keys (New-DkimSigningConfig, signing off), lists the two CNAMEs Exchange names
among the domain's DNS records, and turns signing on at the first DNS check that finds both
published (Set-DkimSigningConfig -Enabled $true), which Exchange refuses until its own DNS sees
them. Each step is retried at the next check that may change Exchange (`POST …/verify`, which
re-checks a verified domain, and the background re-check; a `GET …?refresh=true` only judges
DNS): Exchange may not accept a just-verified domain yet, or not see new records yet.
"""

from __future__ import annotations

from typing import Any

import structlog

from tenantcore.core.context import AppContext
from tenantcore.domains.dns_health import DnsStatus
from tenantcore.domains.models import Domain
from tenantcore.microsoft.errors import MicrosoftError

log = structlog.get_logger(__name__)


def targets(row: Domain) -> tuple[str, str] | None:
    """The two CNAME targets Exchange named for the domain's keys, once known."""
    if row.dkim_selector1_target and row.dkim_selector2_target:
        return row.dkim_selector1_target, row.dkim_selector2_target
    return None


async def prepare(context: AppContext, tenant_guid: str, row: Domain) -> dict[str, Any]:
    """The domain's DKIM configuration in Exchange, made if it has none: the changes to save
    (nothing when the domain cannot have one yet, or it is already known)."""
    if targets(row) is not None or not (row.is_verified and row.email_enabled):
        return {}
    try:
        config = await context.connector.exchange.ensure_dkim_config(tenant_guid, row.domain_name)
    except MicrosoftError as exc:
        # Typically a domain verified moments ago that Exchange does not accept yet.
        log.info("dkim keys not made yet", domain=row.domain_name, error=str(exc))
        return {}
    if not (config.selector1_cname and config.selector2_cname):
        return {}
    return {
        "dkim_selector1_target": config.selector1_cname.lower(),
        "dkim_selector2_target": config.selector2_cname.lower(),
        "dkim_signing_enabled": config.enabled,
    }


async def enable_if_published(
    context: AppContext, tenant_guid: str, row: Domain, dkim_status: DnsStatus
) -> dict[str, Any]:
    """Turn signing on when the records are published as Exchange named them."""
    if row.dkim_signing_enabled or targets(row) is None or dkim_status != DnsStatus.VALID:
        return {}
    try:
        enabled = await context.connector.exchange.enable_dkim_signing(tenant_guid, row.domain_name)
    except MicrosoftError as exc:
        log.warning("dkim signing not turned on", domain=row.domain_name, error=str(exc))
        return {}
    if not enabled:
        log.info("dkim records not seen by Exchange yet", domain=row.domain_name)
        return {}
    log.info("dkim signing on", domain=row.domain_name)
    return {"dkim_signing_enabled": True}
