"""Watching SMTP AUTH: whether sending tools can still log in as each mailbox with its
password (wire reference 4.2).

TenantCore turns SMTP AUTH on for the tenant at bootstrap and for each mailbox (explicitly,
so the mailbox's own switch wins over the tenant's) before calling it ready. Either can be
turned off later in Exchange: by an admin, or by Microsoft, which turns Basic authentication
for SMTP AUTH off by default for existing tenants after December 2026 (wire reference 7.2).
Entra security defaults, and Conditional Access policies that block legacy authentication,
refuse Basic authentication outright, before Exchange is asked. Sending tools then fail to log
in with `535 5.7.139`, and nothing in TenantCore would say why. So every
`smtp_auth_check_seconds` per tenant, one `Get-TransportConfig`, one (paged) `Get-CASMailbox`
list and three Graph reads, the security-defaults policy, the Conditional Access policies
and the subscriptions (whose licenses set the tenant's external recipient rate limit,
tenants/sending_limit.py): cost per tenant, not per mailbox. The tenant gets `smtp_auth_enabled` (its switch),
`security_defaults_enabled` and `legacy_auth_blocked_by` (both None when the app lacks
Policy.Read.All); each mailbox `smtp_auth_enabled`: no security defaults, no policy certainly
refusing its account (tenants/conditional_access.py), and its own switch on (or, unset, the
tenant's). TenantCore reports a login turned off, logs it and sends the
`mailbox.smtp_auth_disabled` webhook with the reason; it does not turn anything back on by
itself, because an admin may have meant it.

Limits: a policy that covers users through groups or roles is listed on the tenant but not
resolved per mailbox; `true` means nothing TenantCore can resolve refuses the login.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.microsoft.errors import AuthenticationFailed, Forbidden, MicrosoftError
from tenantcore.microsoft.models import CasMailbox, ConditionalAccessPolicy
from tenantcore.tenants.conditional_access import refuses, refusing_names
from tenantcore.tenants.models import Tenant
from tenantcore.tenants.sending_limit import (
    Licenses,
    exchange_licenses,
    external_recipient_limit,
)
from tenantcore.usage.reads import capacity_today
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

# How soon to try again when Microsoft did not answer.
RETRY_AFTER_FAILURE = timedelta(minutes=5)


def mailbox_switches(cas_mailboxes: list[CasMailbox]) -> dict[str, bool | None]:
    """Each mailbox's own switch by lowercase address: True = SMTP AUTH disabled, None =
    inherits the tenant's."""
    return {
        cas.primary_smtp_address.lower(): cas.smtp_client_authentication_disabled
        for cas in cas_mailboxes
        if cas.primary_smtp_address
    }


def login_block(
    security_defaults: bool | None,
    conditional_access: bool,
    tenant_enabled: bool,
    own: bool | None,
) -> str | None:
    """Why SMTP AUTH refuses the mailbox's logins, or None when nothing TenantCore can see
    does: security defaults, then a Conditional Access policy (Entra refuses both before
    Exchange is asked), then the mailbox's own switch when set (`own`: True = disabled), else
    the tenant's."""
    if security_defaults:
        return "security_defaults"
    if conditional_access:
        return "conditional_access"
    if own is not None:
        return "mailbox_switch" if own else None
    return None if tenant_enabled else "tenant_switch"


async def _security_defaults(context: AppContext, tenant: Tenant) -> bool | None:
    """Whether the tenant's security defaults are on; None when TenantCore may not read them
    (the app lacks Policy.Read.All)."""
    try:
        return await context.connector.graph.security_defaults_enabled(tenant.tenant_id)
    except (Forbidden, AuthenticationFailed) as exc:
        log.info("security defaults not readable", tenant_id=tenant.tenant_id, error=str(exc))
        return None


async def _conditional_access(
    context: AppContext, tenant: Tenant
) -> list[ConditionalAccessPolicy] | None:
    """The tenant's Conditional Access policies; None when TenantCore may not read them."""
    try:
        return await context.connector.graph.conditional_access_policies(tenant.tenant_id)
    except (Forbidden, AuthenticationFailed) as exc:
        log.info("conditional access not readable", tenant_id=tenant.tenant_id, error=str(exc))
        return None


async def _licenses(context: AppContext, tenant: Tenant) -> Licenses | None:
    """The tenant's Exchange licenses (its external recipient rate limit follows); None when
    TenantCore may not read its subscriptions (the app lacks Organization.Read.All)."""
    try:
        return exchange_licenses(await context.connector.graph.subscriptions(tenant.tenant_id))
    except (Forbidden, AuthenticationFailed) as exc:
        log.info("subscriptions not readable", tenant_id=tenant.tenant_id, error=str(exc))
        return None


async def check_smtp_auth(context: AppContext, tenant_pk: str) -> None:
    """Read the tenant's SMTP AUTH switches, security defaults, Conditional Access policies
    and licenses, and record what they allow."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await session.get(Tenant, tenant_pk)
    if tenant is None:
        return
    exchange = context.connector.exchange
    try:
        transport = await exchange.get_transport_config(tenant.tenant_id)
        switches = mailbox_switches(await exchange.list_cas_mailboxes(tenant.tenant_id))
        security_defaults = await _security_defaults(context, tenant)
        policies = await _conditional_access(context, tenant)
        licenses = await _licenses(context, tenant)
    except MicrosoftError as exc:
        log.warning("reading SMTP AUTH failed", tenant_id=tenant.tenant_id, error=str(exc))
        await _next_check(context, tenant_pk, context.now() + RETRY_AFTER_FAILURE)
        return
    tenant_enabled = not transport.smtp_client_authentication_disabled
    now = context.now()
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant_pk)
        if row is None:
            return
        if row.smtp_auth_enabled and not tenant_enabled:
            log.warning("SMTP AUTH turned off for the tenant", tenant_id=row.tenant_id)
        if security_defaults and row.security_defaults_enabled is not True:
            log.warning("security defaults on: SMTP AUTH logins refused", tenant_id=row.tenant_id)
        row.smtp_auth_enabled = tenant_enabled
        row.security_defaults_enabled = security_defaults
        blocked_by = None if policies is None else refusing_names(policies)
        if blocked_by and blocked_by != row.legacy_auth_blocked_by:
            log.warning(
                "conditional access blocks legacy authentication: SMTP AUTH logins refused",
                tenant_id=row.tenant_id,
                policies=blocked_by,
            )
        row.legacy_auth_blocked_by = blocked_by
        row.exchange_licenses = None if licenses is None else licenses.exchange_licenses
        row.trial_only = None if licenses is None else licenses.trial_only
        outbox = Outbox(session, row.account_id)
        await _compare_capacity(session, outbox, row, now)
        row.smtp_auth_checked_at = now
        row.smtp_auth_next_check_at = now + timedelta(
            seconds=context.settings.smtp_auth_check_seconds
        )
        mailboxes = await session.scalars(
            select(Mailbox).where(
                Mailbox.tenant_pk == tenant_pk, Mailbox.status == MailboxStatus.READY
            )
        )
        for mailbox in mailboxes:
            address = mailbox.primary_smtp.lower()
            if address not in switches:
                continue  # not in the list (removed in Exchange, or replicating): unknown
            refused = any(
                refuses(policy, mailbox.external_directory_object_id) for policy in policies or []
            )
            block = login_block(security_defaults, refused, tenant_enabled, switches[address])
            if mailbox.smtp_auth_enabled and block is not None:
                log.warning(
                    "SMTP AUTH turned off for a mailbox",
                    tenant_id=row.tenant_id,
                    mailbox=mailbox.primary_smtp,
                    reason=block,
                )
                await webhook_events.smtp_auth_disabled(
                    outbox, mailbox, row.tenant_id, now, reason=block
                )
            mailbox.smtp_auth_enabled = block is None


async def _compare_capacity(
    session: AsyncSession, outbox: Outbox, tenant: Tenant, now: datetime
) -> None:
    """Record whether the caps of the tenant's ready mailboxes exceed its estimated external
    recipient rate limit; warn (log and webhook) when a check first finds they do."""
    limit = external_recipient_limit(tenant.exchange_licenses, tenant.trial_only)
    if limit is None:
        tenant.capacity_over_limit = None
        return
    capacity = await session.run_sync(
        lambda sync_session: capacity_today(
            sync_session.connection(), tenant.id, now.date().isoformat()
        )
    )
    over = capacity > limit
    if over and tenant.capacity_over_limit is not True:
        log.warning(
            "mailbox caps exceed the tenant's external recipient limit",
            tenant_id=tenant.tenant_id,
            capacity=capacity,
            limit=limit,
        )
        await webhook_events.capacity_exceeds_limit(outbox, tenant, capacity, limit, now)
    tenant.capacity_over_limit = over


async def _next_check(context: AppContext, tenant_pk: str, at: datetime) -> None:
    async with unit_of_work(context.sessionmaker) as session:
        row = await session.get(Tenant, tenant_pk)
        if row is not None:
            row.smtp_auth_next_check_at = at
