"""`POST /v1/tenants/{tenant_id}/mailboxes/batch` (beyond the seed): mailboxes on many domains
in one request, e.g. three on each of 50 new domains.

Each domain's mailboxes are provisioned exactly as the seed's request for that domain would
provision them (mailboxes/service.py: validation, the 3-per-domain slots, `exists` for an
address already there), in the request's one transaction; a domain that cannot take them
fails its mailboxes with the code the single request would answer, and the others go on.
What concerns the whole request — the tenant, its Exchange bootstrap, the password — is
checked once, first.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.errors import AppError, InvalidRequest
from tenantcore.core.tally import tally
from tenantcore.domains.names import lookup_name
from tenantcore.mailboxes import rules
from tenantcore.mailboxes.schemas import (
    BatchProvisionRequest,
    BatchProvisionResponse,
    BatchProvisionResult,
    DomainMailboxes,
)
from tenantcore.mailboxes.service import (
    provision_on,
    validated_mailboxes,
    verified_domain,
)
from tenantcore.tenants.errors import ExchangeBootstrapNotReady
from tenantcore.tenants.models import BootstrapStatus, Tenant
from tenantcore.tenants.service import require_tenant


async def provision_many(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    body: BatchProvisionRequest,
) -> BatchProvisionResponse:
    tenant = await require_tenant(session, principal, tenant_id)
    names = [lookup_name(group.domain) or group.domain.strip().lower() for group in body.domains]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequest(f"domains lists {', '.join(repeated)} more than once.")
    password = body.account_password.get_secret_value()
    rules.require_strong_password(password)
    if tenant.exchange_bootstrap_status != BootstrapStatus.READY:
        raise ExchangeBootstrapNotReady
    results: list[BatchProvisionResult] = []
    for group in body.domains:
        results.extend(await _provision_domain(context, session, tenant, group, password))
    if any(result.status == "created" for result in results):
        context.jobs.nudge_tenant_after_commit(session, tenant.id)
    return BatchProvisionResponse(**tally(results), results=results)


async def _provision_domain(
    context: AppContext,
    session: AsyncSession,
    tenant: Tenant,
    group: DomainMailboxes,
    password: str,
) -> list[BatchProvisionResult]:
    try:
        domain_name, requested = validated_mailboxes(group.domain, group.mailboxes)
        domain = await verified_domain(session, tenant, domain_name)
    except AppError as exc:  # raised before anything of this domain is written
        return [
            BatchProvisionResult(
                domain=group.domain,
                status="failed",
                name=item.name,
                email=item.email,
                details=None,
                mailbox_id=None,
                mailbox_status=None,
                error=exc.code,
                message=exc.message,
            )
            for item in group.mailboxes
        ]
    done = await provision_on(context, session, tenant, domain, requested, password)
    return [BatchProvisionResult(domain=group.domain, **result.model_dump()) for result in done]
