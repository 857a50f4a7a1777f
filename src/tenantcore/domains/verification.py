"""Domain ownership verification with Microsoft 365: on request (`POST …/domains/{domain}/verify`)
and in the background, once the ownership TXT record resolves.

Both take the same steps: the domain as Microsoft has it (added again if it was removed there,
with a new verification code) → Graph `verify` → `supportedServices` Email → the service records
→ a DNS check with its DKIM steps. The background re-check (domains/jobs.py) calls Microsoft
only when the record Microsoft asked for is found in DNS, so a domain whose records are still
unpublished costs DNS lookups and no Graph budget; saving the domain verified sends the
`domain.verified` webhook (domains/service.py:save), so a customer who publishes the records
learns when mailboxes can be provisioned without polling.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.domains import dns_health, records
from tenantcore.domains.errors import DomainVerificationFailed
from tenantcore.domains.models import Domain
from tenantcore.domains.schemas import DomainOut
from tenantcore.domains.service import (
    EMAIL,
    auto_publish,
    checked,
    connected_domain,
    describe,
    enable_email,
    microsoft_failure,
    release,
    save,
)
from tenantcore.microsoft.errors import InvalidRequest, MicrosoftError, NotFound
from tenantcore.microsoft.graph import GraphClient
from tenantcore.microsoft.models import Domain as GraphDomain

log = structlog.get_logger(__name__)


async def verify(
    context: AppContext, session: AsyncSession, principal: Principal, tenant_id: str, raw: str
) -> DomainOut:
    """Verify ownership with Microsoft, enable Email, refresh the service records and check
    DNS health. On a verified domain it re-checks. When Microsoft cannot find the record yet,
    `domain_verification_failed` with Microsoft's reason, and nothing changes."""
    tenant, row = await connected_domain(session, principal, tenant_id, raw)
    await release(session)
    try:
        changes = await _verified(context, tenant.tenant_id, row)
    except MicrosoftError as exc:
        raise microsoft_failure(exc) from exc
    return describe(tenant.tenant_id, await save(context, row.id, changes))


async def verify_if_published(
    context: AppContext, tenant_guid: str, row: Domain
) -> dict[str, Any] | None:
    """The background step for a domain not verified yet: when its ownership record resolves,
    verify it as `verify` does and return the changes to save. None when the record is not
    found, or Microsoft does not verify the domain yet (its resolvers may lag ours; the next
    re-check tries again)."""
    wanted = records.ownership_records(row)
    if not wanted or not await dns_health.ownership_published(context, row.domain_name, wanted):
        return None
    try:
        return await _verified(context, tenant_guid, row, re_add=False)
    except NotFound:
        # Removed in Microsoft 365 meanwhile: adding it back is for the customer to ask
        # (`POST …/verify` does), not for a background pass.
        log.info("domain not in Microsoft 365; not verified", domain=row.domain_name)
    except DomainVerificationFailed as exc:
        log.info("domain not verified yet", domain=row.domain_name, reason=exc.message)
    except MicrosoftError as exc:
        log.info("domain verification deferred", domain=row.domain_name, error=str(exc))
    return None


async def _verified(
    context: AppContext, tenant_guid: str, row: Domain, *, re_add: bool = True
) -> dict[str, Any]:
    """Microsoft's side of verification and the DNS check after it: the changes to save
    (`row` is updated in memory as it goes). `DomainVerificationFailed` when Microsoft cannot
    find the record (a new verification code, if the domain had to be added again, is saved
    first: it is what the customer must now publish); `MicrosoftError` when Microsoft fails
    (`NotFound` for a domain gone from Microsoft 365, unless `re_add`)."""
    graph, name = context.connector.graph, row.domain_name
    changes: dict[str, Any] = {}
    try:
        if re_add:
            remote, re_added = await _microsoft_domain(graph, tenant_guid, name)
        else:
            remote, re_added = await graph.get_domain(tenant_guid, name), False
        if re_added:
            verification = await graph.verification_records(tenant_guid, name)
            changes.update(
                verification_records=records.stored(verification),
                is_verified=remote.is_verified,
                email_enabled=EMAIL in remote.supported_services,
            )
            row.verification_records = changes["verification_records"]
            await auto_publish(context, row)
        if not remote.is_verified:
            remote = await _verify_in_microsoft(graph, tenant_guid, name)
        remote = await enable_email(graph, tenant_guid, remote)
        service = await graph.service_configuration_records(tenant_guid, name)
    except DomainVerificationFailed:
        if changes:
            await save(context, row.id, changes)
        raise
    changes.update(
        is_verified=True,
        email_enabled=True,
        is_default=remote.is_default,
        service_records=records.stored(service),
    )
    mx_hosts = {s.mail_exchange for s in service if s.mail_exchange}
    for field, value in changes.items():
        setattr(row, field, value)
    changes.update(await checked(context, tenant_guid, row, mx_hosts))
    return changes


async def _microsoft_domain(
    graph: GraphClient, tenant_guid: str, name: str
) -> tuple[GraphDomain, bool]:
    """The domain as Microsoft has it; (domain, re-added). If it was removed in Microsoft 365
    (the admin center, PowerShell), add it again: it then has a new verification code."""
    try:
        return await graph.get_domain(tenant_guid, name), False
    except NotFound:
        return await graph.add_domain(tenant_guid, name), True


async def _verify_in_microsoft(graph: GraphClient, tenant_guid: str, name: str) -> GraphDomain:
    try:
        remote = await graph.verify_domain(tenant_guid, name)
    except InvalidRequest as exc:
        if "already verified" not in exc.detail.lower():
            # Microsoft's own reason (the record it looked for) is what the customer needs.
            raise DomainVerificationFailed(exc.detail) from exc
        remote = await graph.get_domain(tenant_guid, name)  # a concurrent verify won
    if not remote.is_verified:
        # Accepted but not completed (e.g. a scheduled takeover from an unmanaged tenant).
        raise DomainVerificationFailed(
            "Microsoft accepted the verification but has not completed it yet; retry shortly."
        )
    return remote
