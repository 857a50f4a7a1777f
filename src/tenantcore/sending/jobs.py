"""The background step that registers the customer's sending application in Exchange and
gives it the tenant's ready mailboxes, or takes it out again (wire reference 1.4, 7.1).

Registering: Graph finds the app's service principal in the tenant (it exists once the
tenant's admin consented the app; TenantCore's own app reads it with Application.Read.All),
then `New-ServicePrincipal` registers it in Exchange. Then every ready mailbox gets
`Add-MailboxPermission … -AccessRights FullAccess` for it, up to `GRANTS_PER_STEP` per step,
each recorded as it succeeds, so a crash repeats at most one (harmless: Exchange accepts a
grant that exists). Mailboxes that become ready later are given to the app by the next step
(the sweep finds them). An app Graph does not know in the tenant, or one TenantCore may not
read, fails with the reason; Microsoft being unavailable only delays the step. A ready mailbox
Exchange no longer has (removed outside TenantCore) does not hold the others up: it is named in
`error` and tried again every few minutes; an app Exchange no longer has is registered again. Becoming
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
        missing: list[str] = []
        for mailbox_pk, address in waiting:
            try:
                await context.connector.exchange.grant_full_access(
                    tenant.tenant_id, address, object_id
                )
            except NotFound:
                if await context.connector.exchange.find_mailbox(tenant.tenant_id, address):
                    await _registration_lost(context, tenant, app_id)
                    return
                missing.append(address)  # the others must not wait for it
                continue
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
    if missing:
        log.warning(
            "mailboxes missing in Exchange: not given to the sending app",
            tenant_id=tenant.tenant_id,
            mailboxes=missing,
        )
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant.id)
        if row is None or row.sending_app_id != app_id:
            return
        if row.sending_app_status not in (SendingAppStatus.PENDING, SendingAppStatus.READY):
            return
        row.sending_app_error = _missing_error(missing)
        left = await repository.ungranted_mailboxes(session, row, len(missing) + 1)
        more = any(address not in missing for _, address in left)
        # Mailboxes Exchange no longer has are tried again later, not at every sweep; the
        # others (more than one step's worth, or ready since) go on at once.
        retry_later = missing and not more
        row.sending_app_next_at = context.now() + RETRY_AFTER_FAILURE if retry_later else None
        if row.sending_app_status == SendingAppStatus.READY or more:
            return
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


def _missing_error(missing: list[str]) -> str | None:
    if not missing:
        return None
    return (
        f"Exchange has no mailbox {', '.join(missing)} (removed outside TenantCore?): the app "
        "holds every other ready mailbox; these are tried again every few minutes. Delete "
        "them in TenantCore if they are gone for good."
    )


async def _registration_lost(context: AppContext, tenant: Tenant, app_id: str) -> None:
    """Exchange has the mailbox but not the app's service principal (removed outside
    TenantCore): register it again at the next step."""
    log.warning("sending app missing in Exchange; registering it again", tenant_id=tenant.tenant_id)
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant.id)
        if row is not None and row.sending_app_id == app_id:
            row.sending_app_status = SendingAppStatus.PENDING  # it holds no mailbox now
            row.sending_app_object_id = None
            row.sending_app_next_at = None
            await repository.forget_grants(session, row.id)


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
