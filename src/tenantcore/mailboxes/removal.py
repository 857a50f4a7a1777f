"""Deleting a mailbox (beyond the seed): removed from Exchange, then forgotten.

`Remove-Mailbox` also deletes the mailbox's Entra account (wire reference 4.3.5); Microsoft
keeps both soft-deleted for 30 days, where a Microsoft 365 admin can still restore them.
TenantCore calls it first and forgets the mailbox only once Exchange has answered, so a
failure leaves everything as it was and the call is safe to repeat. It names the mailbox by the
GUID `New-Mailbox` returned, never by address: a `failed` mailbox that Exchange never created
may share its address with a recipient that is not TenantCore's, and that one is left alone.
A mailbox already gone from Exchange (removed by an admin) is simply forgotten. Forgetting it frees its slot on the domain;
its enforcement events stay (they copy the address), its usage history goes with it.

It runs under the tenant's lock, so no background step works on the mailbox meanwhile, and a
mailbox still `provisioning` is refused: its `New-Mailbox` may be on its way and would leave an
object in Exchange that TenantCore no longer knows. Enforcement is then provisioned again
without the mailbox (its address leaves the per-cap rules).
"""

from __future__ import annotations

import structlog

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains.service import microsoft_failure
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.mailboxes import repository
from tenantcore.mailboxes.errors import MailboxNotFound, MailboxProvisioning
from tenantcore.mailboxes.models import MailboxStatus
from tenantcore.mailboxes.updates import require_mailbox
from tenantcore.microsoft.errors import MicrosoftError
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)


async def delete(
    context: AppContext, principal: Principal, tenant_id: str, mailbox_id: str
) -> None:
    """Remove the mailbox from the tenant's Exchange and forget it."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant, _ = await require_mailbox(session, principal, tenant_id, mailbox_id)
    async with context.tenant_exclusive(tenant.id):
        # Read under the lock: what the background work left is what is decided on.
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            mailbox = await repository.by_id(session, tenant.id, mailbox_id)
        if mailbox is None:
            raise MailboxNotFound
        if mailbox.status == MailboxStatus.PROVISIONING:
            raise MailboxProvisioning
        if mailbox.exchange_guid is not None:
            await _remove_from_exchange(context, tenant.tenant_id, mailbox.exchange_guid)
        async with unit_of_work(context.sessionmaker) as session:
            row = await repository.by_id(session, tenant.id, mailbox_id)
            if row is None:
                return  # the tenant was disconnected meanwhile
            await session.delete(row)
            outbox = Outbox(session, tenant.account_id)
            await webhook_events.mailbox_deleted(outbox, row, tenant.tenant_id, context.now())
            if mailbox.status == MailboxStatus.READY:
                await enforcement_repository.mark_pending(session, tenant.id)
                context.jobs.nudge_tenant_after_commit(session, tenant.id)


async def _remove_from_exchange(context: AppContext, tenant_guid: str, exchange_guid: str) -> None:
    try:
        removed = await context.connector.exchange.remove_mailbox(tenant_guid, exchange_guid)
    except MicrosoftError as exc:
        raise microsoft_failure(exc) from exc
    if not removed:
        log.info("mailbox already gone from Exchange", tenant_id=tenant_guid, guid=exchange_guid)
