"""`POST /v1/tenants/{tenant_id}/domains/batch` (beyond the seed): many domains in one request,
with a result per name, as mailbox provisioning answers per mailbox.

Each name gets what the single add would do — validated, found on this tenant (`exists`),
refused when another tenant holds it, else added in Microsoft 365 and stored — and a failure of
one (a name Microsoft refuses, Microsoft unavailable for it) fails that name only. The checks
against TenantCore's rows run first, in the request's session, so no name registered elsewhere
reaches Microsoft; the Microsoft calls then run a few names at a time, outside any transaction.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.errors import AppError, InvalidRequest
from tenantcore.core.tally import tally
from tenantcore.domains import repository
from tenantcore.domains.errors import DomainAlreadyRegistered, TenantNotConnected
from tenantcore.domains.names import normalise_domain
from tenantcore.domains.schemas import DomainBatchResponse, DomainBatchResult, DomainOut
from tenantcore.domains.service import describe, register, release
from tenantcore.tenants.models import Tenant, TenantStatus
from tenantcore.tenants.service import require_tenant

# Names added in Microsoft 365 at once: each add is a handful of Graph calls, which Graph
# throttles per tenant and app; a few in flight keep a batch quick without provoking it.
CONCURRENT_ADDS = 4


async def add_many(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    raws: list[str],
) -> DomainBatchResponse:
    tenant = await require_tenant(session, principal, tenant_id)
    if tenant.status != TenantStatus.CONNECTED:
        raise TenantNotConnected
    results: list[DomainBatchResult | None] = [None] * len(raws)
    to_add: dict[int, str] = {}
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        try:
            name = normalise_domain(raw)
        except AppError as exc:
            results[index] = _failed(raw, exc)
            continue
        if name in seen:
            raise InvalidRequest(f"domains lists '{name}' more than once.")
        seen.add(name)
        existing = await repository.by_name(session, tenant.id, name)
        if existing is not None:
            results[index] = _done(raw, "exists", describe(tenant.tenant_id, existing))
        elif await repository.registered_elsewhere(session, name, tenant.id):
            results[index] = _failed(raw, DomainAlreadyRegistered())
        else:
            to_add[index] = name
    await release(session)
    slots = asyncio.Semaphore(CONCURRENT_ADDS)
    added = await asyncio.gather(
        *(_add_one(context, tenant, raws[index], name, slots) for index, name in to_add.items())
    )
    for index, result in zip(to_add, added, strict=True):
        results[index] = result
    done = [result for result in results if result is not None]
    return DomainBatchResponse(tenant_id=tenant.tenant_id, **tally(done), results=done)


async def _add_one(
    context: AppContext, tenant: Tenant, raw: str, name: str, slots: asyncio.Semaphore
) -> DomainBatchResult:
    async with slots:
        try:
            domain, created = await register(context, tenant, name)
        except AppError as exc:
            return _failed(raw, exc)
    return _done(raw, "created" if created else "exists", domain)


def _done(raw: str, status: Literal["created", "exists"], domain: DomainOut) -> DomainBatchResult:
    return DomainBatchResult(
        name=raw, status=status, domain=domain, error=None, message=None, retryable=None
    )


def _failed(raw: str, exc: AppError) -> DomainBatchResult:
    return DomainBatchResult(
        name=raw,
        status="failed",
        domain=None,
        error=exc.code,
        message=exc.message,
        retryable=exc.retryable,
    )
