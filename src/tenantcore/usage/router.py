"""`GET /v1/tenants/{tenant_id}/usage` (beyond the seed): the tenant's sending today."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tenantcore.accounts.errors import AUTH_ERRORS
from tenantcore.core.deps import ReaderDep
from tenantcore.core.errors import responses
from tenantcore.tenants.errors import TenantNotFound
from tenantcore.usage import reads
from tenantcore.usage.schemas import TenantUsage

router = APIRouter(tags=["Usage"])


@router.get(
    "/v1/tenants/{tenant_id}/usage",
    response_model=None,
    responses={200: {"model": TenantUsage}, **responses(*AUTH_ERRORS, TenantNotFound)},
)
async def tenant_usage(tenant_id: str, reader: ReaderDep) -> Response:
    """Today's (UTC) sends across the tenant's mailboxes against the caps that apply, with
    how many mailboxes are enforced, blocked or unable to log in; in all and per domain."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.tenant_usage(connection, principal, tenant_id, today)
    )
    return Response(body, media_type="application/json")
