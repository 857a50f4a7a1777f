"""`/v1/tenants/{tenant_id}/domains`: register, list, inspect, verify, remove.

The routes authenticate in a read-only session: the ones that call Microsoft write in a short
unit of work of their own afterwards (see `domains.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenantcore.accounts.errors import AUTH_ERRORS, WRITE_AUTH_ERRORS
from tenantcore.core.deps import ContextDep, ReadPrincipalDep, ReadSessionDep
from tenantcore.core.errors import InvalidRequest, ServiceUnavailable, responses
from tenantcore.core.pagination import InvalidCursor, PageCursor, PageLimit
from tenantcore.domains import batch, removal, service, verification
from tenantcore.domains.errors import (
    DomainAlreadyRegistered,
    DomainHasMailboxes,
    DomainInUse,
    DomainNotFound,
    DomainVerificationFailed,
    InvalidDomain,
    MicrosoftAccessDenied,
    TenantNotConnected,
)
from tenantcore.domains.schemas import (
    DomainAdd,
    DomainBatchAdd,
    DomainBatchResponse,
    DomainList,
    DomainOut,
)
from tenantcore.tenants.errors import TenantNotFound

router = APIRouter(prefix="/v1/tenants/{tenant_id}/domains", tags=["Domains"])

MICROSOFT_ERRORS = (TenantNotConnected, MicrosoftAccessDenied, ServiceUnavailable)


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": DomainOut, "description": "Already registered on this tenant"},
        **responses(
            *WRITE_AUTH_ERRORS,
            InvalidDomain,
            InvalidRequest,
            TenantNotFound,
            DomainAlreadyRegistered,
            *MICROSOFT_ERRORS,
        ),
    },
)
async def add_domain(
    tenant_id: str,
    body: DomainAdd,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
    response: Response,
) -> DomainOut:
    """Register a custom domain on the tenant in Microsoft 365 and return the DNS records to
    publish (`dns_records`). In sandbox mode they are published in the sandbox's DNS zone
    at once (unless `TENANTCORE_SANDBOX__AUTO_PUBLISH_DNS=false`), so the domain can be
    verified right away. Safe to repeat: 200 with the domain as it is."""
    domain, created = await service.add(context, session, principal, tenant_id, body.domain)
    if not created:
        response.status_code = 200
    return domain


@router.post(
    "/batch",
    responses=responses(*WRITE_AUTH_ERRORS, InvalidRequest, TenantNotFound, TenantNotConnected),
)
async def add_domains(
    tenant_id: str,
    body: DomainBatchAdd,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
) -> DomainBatchResponse:
    """Register up to 50 domains at once: per name `created`, `exists` or `failed` (with the
    code the single add would answer), in the order sent. One name failing does not stop the
    others; send the failed ones again when their `retryable` is true."""
    return await batch.add_many(context, session, principal, tenant_id, body.domains)


@router.get("", responses=responses(*AUTH_ERRORS, InvalidCursor, TenantNotFound))
async def list_domains(
    tenant_id: str,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> DomainList:
    """The tenant's domains, by name (with `limit`, a page of them)."""
    return await service.list_domains(session, principal, tenant_id, limit=limit, cursor=cursor)


@router.get(
    "/{domain}",
    responses=responses(*AUTH_ERRORS, InvalidRequest, TenantNotFound, DomainNotFound),
)
async def get_domain(
    tenant_id: str,
    domain: str,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
    refresh: Annotated[
        bool,
        Query(
            description="Re-check SPF, DKIM, DMARC and MX now instead of returning the last "
            "verdicts (DNS is also re-checked on add, on verify and periodically)."
        ),
    ] = False,
) -> DomainOut:
    return await service.get(context, session, principal, tenant_id, domain, refresh=refresh)


@router.post(
    "/{domain}/verify",
    responses=responses(
        *WRITE_AUTH_ERRORS,
        TenantNotFound,
        DomainNotFound,
        DomainVerificationFailed,
        *MICROSOFT_ERRORS,
    ),
)
async def verify_domain(
    tenant_id: str,
    domain: str,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
) -> DomainOut:
    """Ask Microsoft to verify ownership (the verification TXT must be published), then enable
    Email on the domain and check its DNS health. On a verified domain this re-checks."""
    return await verification.verify(context, session, principal, tenant_id, domain)


@router.delete(
    "/{domain}",
    status_code=204,
    responses=responses(
        *WRITE_AUTH_ERRORS,
        TenantNotFound,
        DomainNotFound,
        DomainHasMailboxes,
        DomainInUse,
        *MICROSOFT_ERRORS,
    ),
)
async def remove_domain(
    tenant_id: str, domain: str, principal: ReadPrincipalDep, context: ContextDep
) -> Response:
    """Remove a domain with no mailboxes left (delete them first): its mailbox-limits switch
    leaves Exchange, the domain leaves Microsoft 365 (409 `domain_in_use` while anything there
    still uses it), and TenantCore forgets it and its policy."""
    await removal.remove(context, principal, tenant_id, domain)
    return Response(status_code=204)
