"""The background step that registers the customer's sending application in Exchange and
gives it the tenant's ready mailboxes, or takes it out again (wire reference 1.4, 7.1).

Registering: Graph finds the app's service principal in the tenant (it exists once the
tenant's admin consented the app; TenantCore's own app reads it with Application.Read.All),
then `New-ServicePrincipal` registers it in Exchange. Then every ready mailbox gets
`Add-MailboxPermission … -AccessRights FullAccess` for it, up to `GRANTS_PER_STEP` per step,
each recorded as it succeeds, so a crash repeats at most one (harmless: Exchange accepts a
grant that exists). Mailboxes that become ready later are given to the app by the next step
(the sweep finds them). An app Graph does not know in the tenant, or one TenantCore may not
read, fails with the reason; Microsoft being unavailable only delays the step. Becoming
`ready` and failing send the `tenant.sending_app.ready` / `.failed` webhooks.

Removing: `Remove-ServicePrincipal`, which takes its permissions with it, then TenantCore
forgets the app.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.microsoft.errors import (
    AuthenticationFailed,
    Forbidden,
    MicrosoftError,
    NotFound,
)
from tenantcore.sending import repository
from tenantcore.tenants.models import SendingAppStatus, Tenant
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

GRANTS_PER_STEP = 50
RETRY_AFTER_FAILURE = timedelta(minutes=5)
NOT_CONSENTED = (
    "The app is not consented in this tenant: a Global Administrator grants it admin consent "
    "(with the Office 365 Exchange Online application permission SMTP.SendAsApp; see "
    "`admin_consent_url`), then PUT the sending app again."
)
NOT_READABLE = (
    "TenantCore may not read the tenant's service principals: its app needs the Microsoft "
    "Graph permission Application.Read.All (or Directory.Read.All) in this tenant."
)


async def advance_sending_app(context: AppContext, tenant_pk: str) -> None:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await session.get(Tenant, tenant_pk)
    if tenant is None or tenant.sending_app_id is None:
        return
    if tenant.sending_app_status == SendingAppStatus.REMOVING:
        await _remove(context, tenant)
    elif tenant.sending_app_status in (SendingAppStatus.PENDING, SendingAppStatus.READY):
        await _register_and_grant(context, tenant)


async def _remove(context: AppContext, tenant: Tenant) -> None:
    app_id = tenant.sending_app_id
    assert app_id is not None
    try:
        await context.connector.exchange.remove_service_principal(tenant.tenant_id, app_id)
    except MicrosoftError as exc:
        log.warning("removing the sending app failed", tenant_id=tenant.tenant_id, error=str(exc))
        await _later(context, tenant.id)
        return
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant.id)
        if row is None or row.sending_app_status != SendingAppStatus.REMOVING:
            return
        row.sending_app_id = row.sending_app_object_id = row.sending_app_error = None
        row.sending_app_status = row.sending_app_next_at = None
        await repository.forget_grants(session, row.id)
    log.info("sending app removed", tenant_id=tenant.tenant_id, app_id=app_id)


async def _register_and_grant(context: AppContext, tenant: Tenant) -> None:
    app_id = tenant.sending_app_id
    assert app_id is not None
    object_id = tenant.sending_app_object_id
    try:
        if object_id is None:
            object_id = await _register(context, tenant, app_id)
            if object_id is None:
                return
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            waiting = await repository.ungranted_mailboxes(session, tenant, GRANTS_PER_STEP)
        for mailbox_pk, address in waiting:
            await context.connector.exchange.grant_full_access(tenant.tenant_id, address, object_id)
            async with unit_of_work(context.sessionmaker) as session:
                await repository.mark_granted(session, mailbox_pk, app_id)
    except MicrosoftError as exc:
        log.warning(
            "giving the sending app its mailboxes failed",
            tenant_id=tenant.tenant_id,
            error=str(exc),
        )
        await _later(context, tenant.id)
        return
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant.id)
        if row is None or row.sending_app_id != app_id:
            return
        if row.sending_app_status not in (SendingAppStatus.PENDING, SendingAppStatus.READY):
            return
        row.sending_app_next_at = None
        if row.sending_app_status == SendingAppStatus.READY:
            return  # mailboxes that became ready since; any left wait for the next step
        if await repository.ungranted_mailboxes(session, row, 1):
            return  # more than one step's worth: the next step goes on
        row.sending_app_status = SendingAppStatus.READY
        log.info("sending app ready", tenant_id=row.tenant_id, app_id=app_id)
        await webhook_events.sending_app_settled(
            Outbox(session, row.account_id), row, context.now()
        )


async def _register(context: AppContext, tenant: Tenant, app_id: str) -> str | None:
    """The app's object id once Exchange knows it; None when it failed for good (recorded)."""
    try:
        principal = await context.connector.graph.service_principal(tenant.tenant_id, app_id)
    except NotFound:
        await _failed(context, tenant.id, app_id, NOT_CONSENTED)
        return None
    except (Forbidden, AuthenticationFailed):
        await _failed(context, tenant.id, app_id, NOT_READABLE)
        return None
    registered = await context.connector.exchange.ensure_service_principal(
        tenant.tenant_id, app_id, principal.id, principal.display_name or f"Sending app {app_id}"
    )
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant.id)
        if row is not None and row.sending_app_id == app_id:
            row.sending_app_object_id = registered.object_id
    return registered.object_id


async def _failed(context: AppContext, tenant_pk: str, app_id: str, reason: str) -> None:
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant_pk)
        if row is None or row.sending_app_id != app_id:
            return
        row.sending_app_status = SendingAppStatus.FAILED
        row.sending_app_error = reason
        row.sending_app_next_at = None
        await webhook_events.sending_app_settled(
            Outbox(session, row.account_id), row, context.now()
        )
    log.warning("sending app failed", tenant_pk=tenant_pk, app_id=app_id, reason=reason)


async def _later(context: AppContext, tenant_pk: str) -> None:
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant_pk)
        if row is not None:
            row.sending_app_next_at = context.now() + RETRY_AFTER_FAILURE
