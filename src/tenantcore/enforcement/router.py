"""`/v1/tenants/{tenant_id}/mailbox-limits` (seed) and `/v1/enforcement/events`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenantcore.accounts.errors import AUTH_ERRORS, WRITE_AUTH_ERRORS
from tenantcore.core.deps import ContextDep, ReaderDep, ReadPrincipalDep
from tenantcore.core.errors import ServiceUnavailable, responses
from tenantcore.core.pagination import InvalidCursor, LogCursor
from tenantcore.domains.errors import DomainNotFound, MicrosoftAccessDenied
from tenantcore.enforcement import reads, removal, service
from tenantcore.enforcement.errors import (
    InvalidEventFilter,
    InvalidRamp,
    InvalidSendLimit,
    PolicyNotFound,
)
from tenantcore.enforcement.schemas import EventPage, PolicyList, PolicyResponse, PolicySet
from tenantcore.enforcement.service import KEEP_RAMP
from tenantcore.mailboxes.errors import MailboxNotFound
from tenantcore.tenants.errors import ExchangeBootstrapNotReady, TenantNotFound

router = APIRouter(tags=["Enforcement"])


@router.post(
    "/v1/tenants/{tenant_id}/mailbox-limits",
    responses=responses(
        *WRITE_AUTH_ERRORS,
        InvalidSendLimit,
        InvalidRamp,
        TenantNotFound,
        DomainNotFound,
        ExchangeBootstrapNotReady,
    ),
)
async def set_enforcement(
    tenant_id: str, body: PolicySet, principal: ReadPrincipalDep, context: ContextDep
) -> PolicyResponse:
    """Save the scope's cap and provision it in Exchange: exact per-cap outbound spam policies
    plus the group-and-transport-rule switch. Repeating the call is safe."""
    return await service.set_policy(
        context,
        principal,
        tenant_id,
        daily_send_limit=body.daily_send_limit,
        domain_scope=body.domain_scope,
        ramp=body.ramp if "ramp" in body.model_fields_set else KEEP_RAMP,
    )


@router.get(
    "/v1/tenants/{tenant_id}/mailbox-limits",
    responses=responses(*AUTH_ERRORS, TenantNotFound, DomainNotFound, PolicyNotFound),
)
async def get_enforcement(
    tenant_id: str,
    principal: ReadPrincipalDep,
    context: ContextDep,
    domain_scope: Annotated[str | None, Query(max_length=253)] = None,
) -> PolicyResponse:
    """The policy of a domain (`domain_scope`) or of the whole tenant, and what Exchange holds."""
    return await service.describe(context, principal, tenant_id, domain_scope, fresh=False)


@router.get(
    "/v1/tenants/{tenant_id}/mailbox-limits/policies",
    responses=responses(*AUTH_ERRORS, TenantNotFound),
)
async def list_enforcement(
    tenant_id: str, principal: ReadPrincipalDep, context: ContextDep
) -> PolicyList:
    """Beyond the seed: every saved policy of the tenant (the tenant-wide one first, then by
    domain), with its ramp, provisioning status and how many mailboxes it covers; from
    TenantCore's records (a scope's GET also reads what Exchange holds)."""
    return await service.list_policies(context, principal, tenant_id)


@router.delete(
    "/v1/tenants/{tenant_id}/mailbox-limits",
    status_code=204,
    responses=responses(
        *WRITE_AUTH_ERRORS,
        TenantNotFound,
        DomainNotFound,
        PolicyNotFound,
        MicrosoftAccessDenied,
        ServiceUnavailable,
    ),
)
async def remove_enforcement(
    tenant_id: str,
    principal: ReadPrincipalDep,
    context: ContextDep,
    domain_scope: Annotated[str | None, Query(max_length=253)] = None,
) -> Response:
    """Beyond the seed: stop enforcing the policy of a domain (`domain_scope`) or of the whole
    tenant. Its mailboxes fall back to the tenant-wide policy if there is one, else are no
    longer capped in Exchange; the scope's transport rule and group are removed."""
    await removal.remove_policy(context, principal, tenant_id, domain_scope)
    return Response(status_code=204)


@router.get(
    "/v1/enforcement/events",
    response_model=None,
    responses={
        200: {"model": EventPage},
        **responses(
            *AUTH_ERRORS, TenantNotFound, MailboxNotFound, InvalidEventFilter, InvalidCursor
        ),
    },
)
async def list_events(
    reader: ReaderDep,
    tenant_id: Annotated[str | None, Query()] = None,
    mailbox_id: Annotated[str | None, Query()] = None,
    mailbox_address: Annotated[
        str | None,
        Query(
            description="Only this address's events (case-insensitive); they outlive a "
            "deleted mailbox, whose `mailbox_id` is then null."
        ),
    ] = None,
    action: Annotated[str | None, Query()] = None,
    since: Annotated[
        str | None,
        Query(
            description="Only events recorded at or after this ISO 8601 date-time (UTC "
            "when no offset is given)."
        ),
    ] = None,
    until: Annotated[
        str | None, Query(description="Only events recorded before this ISO 8601 date-time.")
    ] = None,
    limit: Annotated[int, Query()] = 50,
    offset: Annotated[int, Query()] = 0,
    cursor: LogCursor = None,
) -> Response:
    """Blocks and unblocks, newest first (by `created_at`, when TenantCore recorded them).

    To follow new events, poll with `since` set to the newest `created_at` already seen and
    skip the `id`s already seen: `since` is inclusive, so an event recorded in the same
    instant as the last one read is never missed."""
    body = await reader.run(
        lambda connection, principal: reads.event_page(
            connection,
            principal,
            tenant_id=tenant_id,
            mailbox_id=mailbox_id,
            mailbox_address=mailbox_address,
            action=action,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
            cursor=cursor,
        )
    )
    return Response(body, media_type="application/json")
