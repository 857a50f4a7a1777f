"""Changing a mailbox (seed: PATCH display name and cap; beyond it: the SMTP AUTH switch and
the account's password).

What Microsoft holds (a `ready` mailbox's password with Graph, its display name with
`Set-Mailbox`, its own SMTP AUTH switch with `Set-CASMailbox`) is applied there, under the tenant's lock, before anything is
saved, so the answer is the truth: if Microsoft fails, nothing changes and the caller gets the
error to retry. A mailbox still provisioning gets a new name from the background step, which
compares Exchange's name with the row's; its SMTP AUTH switch and password cannot be set yet
(the readiness step turns SMTP AUTH on; the password is the one it was provisioned with). A
new password is never stored or logged. A changed cap asks enforcement to re-provision (the effective caps in
Exchange follow it).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.errors import InvalidRequest
from tenantcore.domains.service import microsoft_failure
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.enforcement.caps import mailbox_cap
from tenantcore.enforcement.repository import ceilings
from tenantcore.enforcement.service import validate_limit
from tenantcore.mailboxes import repository, rules
from tenantcore.mailboxes.errors import MailboxNotFound, MailboxNotReady, NoUpdates, WeakPassword
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.mailboxes.schemas import MailboxUpdate, UpdateResponse
from tenantcore.mailboxes.service import describe
from tenantcore.microsoft.errors import InvalidPassword, MicrosoftError
from tenantcore.tenants.models import Tenant
from tenantcore.tenants.service import require_tenant


async def require_mailbox(
    session: AsyncSession, principal: Principal, tenant_id: str, mailbox_id: str
) -> tuple[Tenant, Mailbox]:
    tenant = await require_tenant(session, principal, tenant_id)
    mailbox = await repository.by_id(session, tenant.id, mailbox_id)
    if mailbox is None:
        raise MailboxNotFound
    return tenant, mailbox


_FIELDS = {"display_name", "daily_send_limit", "smtp_auth_enabled", "account_password"}


def _requested_changes(body: MailboxUpdate) -> tuple[dict[str, object], str | None]:
    """The row's changes, and a new password (sent to Microsoft, never kept)."""
    fields = body.model_fields_set & _FIELDS
    if not fields:
        raise NoUpdates
    changes: dict[str, object] = {}
    if "daily_send_limit" in fields:
        limit = body.daily_send_limit
        changes["daily_send_limit"] = None if limit is None else validate_limit(limit)
    if "display_name" in fields:
        changes["display_name"] = rules.display_name(body.display_name, "display_name")
    if "smtp_auth_enabled" in fields:
        if not isinstance(body.smtp_auth_enabled, bool):
            raise InvalidRequest("smtp_auth_enabled must be true or false.")
        changes["smtp_auth_enabled"] = body.smtp_auth_enabled
    password = None
    if "account_password" in fields:
        if body.account_password is None:
            raise WeakPassword
        password = body.account_password.get_secret_value()
        rules.require_strong_password(password)
    return changes, password


async def _apply_in_microsoft(
    context: AppContext,
    tenant: Tenant,
    mailbox: Mailbox,
    changes: dict[str, object],
    password: str | None,
) -> None:
    """Apply what Microsoft holds of the request, under the tenant's lock, before anything is
    saved, in this order (a failure stops there; repeating the request is safe): a new
    password (Graph), a ready mailbox's new display name and its SMTP AUTH switch (Exchange)."""
    new_name = changes.get("display_name")
    rename = (
        isinstance(new_name, str)
        and new_name != mailbox.display_name
        and mailbox.status == MailboxStatus.READY
    )
    smtp_auth = changes.get("smtp_auth_enabled")
    if (smtp_auth is not None or password is not None) and mailbox.status != MailboxStatus.READY:
        raise MailboxNotReady
    if not rename and smtp_auth is None and password is None:
        return
    exchange = context.connector.exchange
    async with context.tenant_exclusive(tenant.id):
        try:
            if password is not None:
                await context.connector.graph.update_user(
                    tenant.tenant_id,
                    mailbox.external_directory_object_id or mailbox.primary_smtp,
                    password=password,
                )
            if rename:
                await exchange.set_mailbox(
                    tenant.tenant_id, mailbox.primary_smtp, display_name=str(new_name)
                )
            if smtp_auth is not None:
                # The mailbox's own switch, which wins over the tenant's (wire reference 4.2).
                await exchange.set_mailbox_smtp_auth(
                    tenant.tenant_id, mailbox.primary_smtp, disabled=not smtp_auth
                )
        except InvalidPassword as exc:
            raise WeakPassword(
                f"Microsoft rejected account_password (complexity or banned-password rules): "
                f"{exc.detail}"
            ) from exc
        except MicrosoftError as exc:
            raise microsoft_failure(exc) from exc


async def update(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    mailbox_id: str,
    body: MailboxUpdate,
) -> UpdateResponse:
    """Change the display name, the mailbox's own cap, its SMTP AUTH switch and/or its
    account's password."""
    tenant, mailbox = await require_mailbox(session, principal, tenant_id, mailbox_id)
    changes, password = _requested_changes(body)
    # Give the read-only session back before talking to Microsoft (it may take a while).
    await session.close()
    await _apply_in_microsoft(context, tenant, mailbox, changes, password)
    async with unit_of_work(context.sessionmaker) as write:
        row = await repository.by_id(write, tenant.id, mailbox.id)
        if row is None:  # the tenant was disconnected meanwhile
            raise MailboxNotFound
        cap_changed = (
            "daily_send_limit" in changes and changes["daily_send_limit"] != row.daily_send_limit
        )
        for field, value in changes.items():
            setattr(row, field, value)
        row.updated_at = context.now()
        if cap_changed and row.status == MailboxStatus.READY:
            await enforcement_repository.mark_pending(write, tenant.id)
            context.jobs.nudge_tenant_after_commit(write, tenant.id)
        domain_name = await repository.domain_name_of(write, row.domain_pk)
        policies = ceilings(await enforcement_repository.policies_of(write, tenant.id))
    today = context.now().date()
    effective = mailbox_cap(row.daily_send_limit, domain_name, row.ready_at, policies, today)
    described = describe(row, domain_name, tenant, today.isoformat(), effective)
    return UpdateResponse(status="updated", mailbox=described)
