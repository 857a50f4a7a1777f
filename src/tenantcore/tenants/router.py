"""`/v1/tenants`: connect, list, inspect, disconnect; the live admin-consent callback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenantcore.accounts.errors import AUTH_ERRORS, WRITE_AUTH_ERRORS
from tenantcore.core.deps import (
    ContextDep,
    PrincipalDep,
    ReadPrincipalDep,
    ReadSessionDep,
    SessionDep,
)
from tenantcore.core.errors import ServiceUnavailable, responses
from tenantcore.core.pagination import InvalidCursor, PageCursor, PageLimit
from tenantcore.tenants import service
from tenantcore.tenants.errors import (
    ConsentFailed,
    InvalidTenantId,
    TenantAlreadyConnected,
    TenantNotFound,
)
from tenantcore.tenants.schemas import TenantConnect, TenantList, TenantOut

router = APIRouter(prefix="/v1/tenants", tags=["Tenants"])


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": TenantOut, "description": "Already connected to this account"},
        **responses(
            *WRITE_AUTH_ERRORS, InvalidTenantId, TenantAlreadyConnected, ServiceUnavailable
        ),
    },
)
async def connect_tenant(
    body: TenantConnect,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
    response: Response,
) -> TenantOut:
    """Connect a Microsoft 365 tenant. Sandbox mode: consent is immediate. Live mode: the
    response's `admin_consent_url` is where a Global Administrator grants access. Connecting
    a tenant already on the account answers 200 with it; if its Exchange bootstrap `failed`,
    that starts the bootstrap again (fix the cause first, e.g. the app's Exchange role)."""
    tenant, created = await service.connect(context, session, principal, body.tenant_id)
    if not created:
        response.status_code = 200
    return (await service.describe(context, session, [tenant]))[0]


@router.get("", responses=responses(*AUTH_ERRORS, InvalidCursor))
async def list_tenants(
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> TenantList:
    """The account's tenants, newest connection first (with `limit`, a page of them)."""
    tenants, next_cursor = await service.list_tenants(
        session, principal, limit=limit, cursor=cursor
    )
    described = await service.describe(context, session, list(tenants))
    return TenantList(tenants=described, count=len(described), next_cursor=next_cursor)


@router.get("/consent/callback", responses=responses(TenantNotFound, ConsentFailed))
async def consent_callback(
    session: SessionDep,
    context: ContextDep,
    state: Annotated[str, Query(min_length=1, max_length=200)],
    tenant: Annotated[str | None, Query()] = None,
    admin_consent: Annotated[str | None, Query()] = None,
    error: Annotated[str | None, Query()] = None,
) -> TenantOut:
    """Where Microsoft sends the administrator after the admin-consent prompt (live mode)."""
    connected = await service.complete_consent(
        context, session, state=state, tenant_id=tenant, admin_consent=admin_consent, error=error
    )
    return (await service.describe(context, session, [connected]))[0]


@router.get("/{tenant_id}", responses=responses(*AUTH_ERRORS, TenantNotFound))
async def get_tenant(
    tenant_id: str, principal: ReadPrincipalDep, session: ReadSessionDep, context: ContextDep
) -> TenantOut:
    tenant = await service.require_tenant(session, principal, tenant_id)
    return (await service.describe(context, session, [tenant]))[0]


@router.delete(
    "/{tenant_id}",
    status_code=204,
    responses=responses(*WRITE_AUTH_ERRORS, TenantNotFound, ServiceUnavailable),
)
async def disconnect_tenant(
    tenant_id: str, principal: ReadPrincipalDep, context: ContextDep
) -> Response:
    """Disconnect: TenantCore removes its enforcement from the tenant's Exchange (its cap
    policies and rules, its blocking groups and transport rules) and forgets the tenant. The
    mailboxes, users and domains stay in Microsoft 365. A 503 means Microsoft did not answer;
    the tenant stays connected, and the call is safe to repeat."""
    await service.disconnect(context, principal, tenant_id)
    return Response(status_code=204)
