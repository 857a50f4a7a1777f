"""`/v1/tenants/{tenant_id}/sending-app`: the customer's own app that sends with OAuth."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tenantcore.accounts.errors import AUTH_ERRORS, WRITE_AUTH_ERRORS
from tenantcore.core.deps import (
    ContextDep,
    PrincipalDep,
    ReadPrincipalDep,
    ReadSessionDep,
    SessionDep,
)
from tenantcore.core.errors import responses
from tenantcore.sending import service
from tenantcore.sending.errors import InvalidAppId, SendingAppConflict, SendingAppNotFound
from tenantcore.sending.schemas import SendingAppOut, SendingAppSet
from tenantcore.tenants.errors import ExchangeBootstrapNotReady, TenantNotFound

router = APIRouter(prefix="/v1/tenants/{tenant_id}/sending-app", tags=["OAuth sending"])


@router.put(
    "",
    status_code=202,
    responses={
        200: {"model": SendingAppOut, "description": "This app was set already"},
        **responses(
            *WRITE_AUTH_ERRORS,
            TenantNotFound,
            InvalidAppId,
            ExchangeBootstrapNotReady,
            SendingAppConflict,
        ),
    },
)
async def set_sending_app(
    tenant_id: str,
    body: SendingAppSet,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
    response: Response,
) -> SendingAppOut:
    """Let the customer's own Entra app send as the tenant's mailboxes over SMTP with OAuth
    (AUTH XOAUTH2), which keeps working where Basic authentication is off. TenantCore
    registers the app's service principal in Exchange and gives it FullAccess on every ready
    mailbox, and on each mailbox that becomes ready later; `status` turns `ready`. The app
    needs the Exchange application permission SMTP.SendAsApp, admin-consented in the tenant.
    Setting the same app again answers 200 (or, after `failed`, tries again)."""
    state, started = await service.set_app(context, session, principal, tenant_id, body.app_id)
    if not started:
        response.status_code = 200
    return state


@router.get("", responses=responses(*AUTH_ERRORS, TenantNotFound, SendingAppNotFound))
async def get_sending_app(
    tenant_id: str, principal: ReadPrincipalDep, session: ReadSessionDep, context: ContextDep
) -> SendingAppOut:
    """The sending app and how many ready mailboxes it may send as."""
    return await service.get_app(context, session, principal, tenant_id)


@router.delete(
    "",
    status_code=202,
    responses=responses(*WRITE_AUTH_ERRORS, TenantNotFound, SendingAppNotFound),
)
async def remove_sending_app(
    tenant_id: str, principal: PrincipalDep, session: SessionDep, context: ContextDep
) -> SendingAppOut:
    """Take the app out of Exchange (its service principal, and with it every mailbox
    permission); `status` is `removing` until it is gone, then GET answers 404."""
    return await service.remove_app(context, session, principal, tenant_id)
