"""`GET /v1/tenants/{tenant_id}/usage` and `…/usage/history` (beyond the seed): the tenant's
sending today and day by day."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tenantcore.accounts.errors import AUTH_ERRORS
from tenantcore.core.dayrange import FromDay, InvalidDateRange, ToDay
from tenantcore.core.deps import ReaderDep
from tenantcore.core.errors import responses
from tenantcore.tenants.errors import TenantNotFound
from tenantcore.usage import reads
from tenantcore.usage.schemas import TenantUsage, TenantUsageHistory

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


@router.get(
    "/v1/tenants/{tenant_id}/usage/history",
    response_model=None,
    responses={
        200: {"model": TenantUsageHistory},
        **responses(*AUTH_ERRORS, InvalidDateRange, TenantNotFound),
    },
)
async def tenant_usage_history(
    tenant_id: str,
    reader: ReaderDep,
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    """The tenant's sends per UTC day, summed over its mailboxes, over at most 366 days
    (`GET …/mailboxes/{id}/usage/history` has one mailbox's days, with its caps)."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.tenant_usage_history(
            connection, principal, tenant_id, first=first, last=last, today=today
        )
    )
    return Response(body, media_type="application/json")
