"""Setting, reading and removing a tenant's sending application (the API side); the
background step that does the Exchange work is `jobs.py`."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.sending import repository
from tenantcore.sending.errors import InvalidAppId, SendingAppConflict, SendingAppNotFound
from tenantcore.sending.schemas import SendingAppOut
from tenantcore.tenants.errors import ExchangeBootstrapNotReady
from tenantcore.tenants.models import BootstrapStatus, SendingAppStatus, Tenant
from tenantcore.tenants.service import require_tenant


def _app_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise InvalidAppId from None


def admin_consent_url(context: AppContext, tenant_guid: str, app_id: str) -> str:
    """Microsoft's admin-consent address for the app in the tenant."""
    base = context.settings.microsoft.login_base_url.rstrip("/")
    return f"{base}/{tenant_guid}/adminconsent?{urlencode({'client_id': app_id})}"


async def describe(context: AppContext, session: AsyncSession, tenant: Tenant) -> SendingAppOut:
    if tenant.sending_app_id is None or tenant.sending_app_status is None:
        raise SendingAppNotFound
    ready, granted = await repository.counts(session, tenant)
    return SendingAppOut(
        tenant_id=tenant.tenant_id,
        app_id=tenant.sending_app_id,
        status=SendingAppStatus(tenant.sending_app_status).value,
        service_principal_id=tenant.sending_app_object_id,
        error=tenant.sending_app_error,
        ready_mailboxes=ready,
        granted_mailboxes=granted,
        admin_consent_url=admin_consent_url(context, tenant.tenant_id, tenant.sending_app_id),
    )


async def set_app(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    app_id: str,
) -> tuple[SendingAppOut, bool]:
    """Set the tenant's sending app; (its state, whether work was started). Setting the same
    app again is a no-op, or a new attempt when the last one failed; an app that failed was
    never registered in Exchange, so another may take its place."""
    tenant = await require_tenant(session, principal, tenant_id)
    wanted = _app_id(app_id)
    if tenant.exchange_bootstrap_status != BootstrapStatus.READY:
        raise ExchangeBootstrapNotReady
    current = tenant.sending_app_status
    if current == SendingAppStatus.REMOVING or (
        current in (SendingAppStatus.PENDING, SendingAppStatus.READY)
        and tenant.sending_app_id != wanted
    ):
        raise SendingAppConflict
    started = current in (None, SendingAppStatus.FAILED)
    if started:
        tenant.sending_app_id = wanted
        tenant.sending_app_status = SendingAppStatus.PENDING
        tenant.sending_app_object_id = None
        tenant.sending_app_error = None
        tenant.sending_app_next_at = context.now()
        context.jobs.nudge_tenant_after_commit(session, tenant.id)
    await session.flush()
    return await describe(context, session, tenant), started


async def get_app(
    context: AppContext, session: AsyncSession, principal: Principal, tenant_id: str
) -> SendingAppOut:
    return await describe(context, session, await require_tenant(session, principal, tenant_id))


async def remove_app(
    context: AppContext, session: AsyncSession, principal: Principal, tenant_id: str
) -> SendingAppOut:
    """Start taking the app out of Exchange (its service principal and every permission)."""
    tenant = await require_tenant(session, principal, tenant_id)
    if tenant.sending_app_status is None:
        raise SendingAppNotFound
    if tenant.sending_app_status != SendingAppStatus.REMOVING:
        tenant.sending_app_status = SendingAppStatus.REMOVING
        tenant.sending_app_error = None
        tenant.sending_app_next_at = context.now()
        context.jobs.nudge_tenant_after_commit(session, tenant.id)
    await session.flush()
    return await describe(context, session, tenant)
