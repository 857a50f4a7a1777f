"""`/v1/tenants/{tenant_id}/mailbox-limits` (seed) and `/v1/enforcement/events`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tenantcore.accounts.errors import AUTH_ERRORS
from tenantcore.core.deps import ContextDep, ReadPrincipalDep, ReadSessionDep
from tenantcore.core.errors import responses
from tenantcore.domains.errors import DomainNotFound
from tenantcore.enforcement import repository, service
from tenantcore.enforcement.errors import InvalidEventFilter, InvalidSendLimit, PolicyNotFound
from tenantcore.enforcement.models import EnforcementAction
from tenantcore.enforcement.schemas import EventOut, EventPage, PolicyResponse, PolicySet
from tenantcore.tenants.errors import ExchangeBootstrapNotReady, TenantNotFound
from tenantcore.tenants.service import require_tenant

router = APIRouter(tags=["Enforcement"])


@router.post(
    "/v1/tenants/{tenant_id}/mailbox-limits",
    responses=responses(
        *AUTH_ERRORS, InvalidSendLimit, TenantNotFound, DomainNotFound, ExchangeBootstrapNotReady
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
    return await service.describe(context, principal, tenant_id, domain_scope, live=True)


# Deeper than any account's history; keeps the value inside every database's integer.
MAX_OFFSET = 2**31 - 1


@router.get(
    "/v1/enforcement/events",
    responses=responses(*AUTH_ERRORS, TenantNotFound, InvalidEventFilter),
)
async def list_events(
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    tenant_id: Annotated[str | None, Query()] = None,
    action: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query()] = 50,
    offset: Annotated[int, Query()] = 0,
) -> EventPage:
    """Blocks and unblocks, newest first."""
    if action is not None and action not in {a.value for a in EnforcementAction}:
        raise InvalidEventFilter
    if not 1 <= limit <= 500 or not 0 <= offset <= MAX_OFFSET:
        raise InvalidEventFilter
    tenant_pk = None
    if tenant_id is not None:
        tenant_pk = (await require_tenant(session, principal, tenant_id)).id
    rows, total = await repository.events_page(
        session,
        principal.account_id,
        tenant_pk=tenant_pk,
        action=action,
        limit=limit,
        offset=offset,
    )
    events = [
        EventOut(
            tenant_id=guid,
            mailbox_address=event.mailbox_address,
            action_taken=event.action,
            sent_count=event.sent_count,
            limit_value=event.limit_value,
            message=event.message,
            created_at=event.created_at,
        )
        for event, guid in rows
    ]
    return EventPage(events=events, count=len(events), total=total, limit=limit, offset=offset)
