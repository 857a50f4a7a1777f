"""`/v1/webhooks` (beyond the seed): endpoints, their deliveries, sending one again."""

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
from tenantcore.core.errors import InvalidRequest, responses
from tenantcore.webhooks import service
from tenantcore.webhooks.errors import (
    DeliveryNotFound,
    InvalidWebhookEvents,
    InvalidWebhookUrl,
    WebhookNotFound,
)
from tenantcore.webhooks.models import DeliveryStatus
from tenantcore.webhooks.schemas import (
    CreatedWebhook,
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookList,
)

router = APIRouter(prefix="/v1/webhooks", tags=["Webhooks"])


@router.post(
    "",
    status_code=201,
    responses=responses(
        *WRITE_AUTH_ERRORS, InvalidRequest, InvalidWebhookUrl, InvalidWebhookEvents
    ),
)
async def create_webhook(
    body: WebhookCreate, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> CreatedWebhook:
    """Register an endpoint for events (all types unless `events` names some). Each delivery
    is a signed POST (`TenantCore-Signature`, with the secret shown once here), retried with
    backoff until the endpoint answers 2xx."""
    return await service.create(context, session, principal, body)


@router.get("", responses=responses(*AUTH_ERRORS))
async def list_webhooks(principal: ReadPrincipalDep, session: ReadSessionDep) -> WebhookList:
    """The account's endpoints, oldest first (never their secrets)."""
    return await service.list_endpoints(session, principal)


@router.delete(
    "/{webhook_id}", status_code=204, responses=responses(*WRITE_AUTH_ERRORS, WebhookNotFound)
)
async def delete_webhook(webhook_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Stop sending to the endpoint; deliveries not yet made are dropped."""
    await service.delete(session, principal, webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    responses=responses(*AUTH_ERRORS, InvalidRequest, WebhookNotFound),
)
async def list_deliveries(
    webhook_id: str,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_DELIVERIES_PER_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> DeliveryPage:
    """The endpoint's deliveries, newest first, optionally only `pending`, `delivered` or
    `failed` ones: what was sent, how often, and what the endpoint answered."""
    return await service.deliveries(
        session, principal, webhook_id, status=status, limit=limit, offset=offset
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    responses=responses(*WRITE_AUTH_ERRORS, WebhookNotFound, DeliveryNotFound),
)
async def redeliver(
    webhook_id: str,
    delivery_id: str,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> DeliveryOut:
    """Send a delivery again (a failed one, or a delivered one the receiver lost), with a
    fresh set of attempts, as soon as the dispatcher runs."""
    return await service.redeliver(context, session, principal, webhook_id, delivery_id)
