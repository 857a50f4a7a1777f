"""Exchange provisioning of a mailbox, in the background (DESIGN.md section 4).

Steps, each recorded in `provisioning_step` once done so a crash or a retry resumes after it
(and every call is also safe to repeat):

1. `New-Mailbox -Shared` (an earlier attempt's mailbox is found and adopted). The account's
   UPN is whatever Exchange gave; the alias falls back to one unique per address if the
   local part is taken in the organization.
2. Graph `PATCH /users/{id}`: the password (opened from its seal and erased in the same
   transaction that records the step), `accountEnabled`, and the UPN set to the address when
   Exchange gave another one, because SMTP AUTH logs in with the UPN.
3. `Set-CASMailbox -SmtpClientAuthenticationDisabled $false`.
4. Readiness. Microsoft reports propagation nowhere but in SMTP AUTH itself, so TenantCore
   calls a mailbox `ready` once (a) the longest propagation Microsoft documents (2-5 minutes:
   300 s; in sandbox mode the sandbox's configured maximum; `mailbox_propagation_seconds`
   overrides) has passed since New-Mailbox on Microsoft's clock (the sandbox's in sandbox
   mode), and (b) Exchange (`Get-Mailbox`, `Get-CASMailbox` with SMTP AUTH enabled) and Graph
   (enabled account, UPN = address) both show it; drift found there (SMTP AUTH off, name
   changed meanwhile) is corrected first. Not an SMTP login probe: that would keep the password
   until propagation ends, and failed logins count towards Entra's smart lockout and
   Exchange's continuous-error throttling.

Microsoft calls run outside any database transaction: a step reads the row in a read-only unit
of work and writes its result in a short one. Throttling and transient failures reschedule the
step (`next_check_at`, growing backoff or Microsoft's Retry-After) until the attempt is
`PROVISIONING_TIMEOUT` old; a refused password or a taken address fails the mailbox at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.mailboxes import repository, rules
from tenantcore.mailboxes.models import Mailbox, MailboxStatus, ProvisioningStep
from tenantcore.mailboxes.vault import PasswordUnavailable, vault_for
from tenantcore.microsoft.errors import (
    AlreadyExists,
    InvalidPassword,
    InvalidRequest,
    MicrosoftError,
    NotFound,
    Throttled,
    Transient,
)
from tenantcore.tenants.models import Tenant
from tenantcore.webhooks import events as webhook_events
from tenantcore.webhooks.service import Outbox

log = structlog.get_logger(__name__)

LIVE_PROPAGATION_SECONDS = 300.0
# How soon to look again when Exchange or Graph does not show the mailbox yet.
READINESS_POLL = timedelta(seconds=15)
RETRY_MIN = timedelta(seconds=2)
RETRY_MAX = timedelta(minutes=5)
PROVISIONING_TIMEOUT = timedelta(hours=2)

Changes = dict[str, object]


class _Permanent(Exception):
    """A failure retrying cannot fix; the message is for the customer."""


async def advance_due_mailboxes(context: AppContext, limit: int = 20) -> int:
    """Reconciler: advance every mailbox whose next provisioning step is due."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await repository.due_for_provisioning(session, context.now(), limit)
    for mailbox_pk in due:
        await advance_mailbox(context, mailbox_pk)
    return len(due)


async def advance_mailbox(context: AppContext, mailbox_pk: str) -> None:
    """Run the mailbox's remaining steps until it must wait (propagation, a retry), fails or
    is ready."""
    for _ in range(len(_STEPS) + 1):
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            mailbox = await session.get(Mailbox, mailbox_pk)
            tenant = None if mailbox is None else await session.get(Tenant, mailbox.tenant_pk)
        if mailbox is None or tenant is None or mailbox.status != MailboxStatus.PROVISIONING:
            return
        now = context.now()
        if mailbox.next_check_at is not None and mailbox.next_check_at > now:
            return
        step = mailbox.provisioning_step
        try:
            changes = await _STEPS.get(step, _check_readiness)(context, tenant.tenant_id, mailbox)
        except _Permanent as exc:
            changes = _failed(str(exc))
        except MicrosoftError as exc:
            changes = _after_failure(now, mailbox, exc)
        if changes.get("status") == MailboxStatus.FAILED:
            log.warning(
                "mailbox provisioning failed", mailbox_id=mailbox_pk, error=changes["error"]
            )
        saved = await _save(context, mailbox_pk, step, changes)
        if not saved or changes.get("provisioning_step", step) == step:
            return


async def _create(context: AppContext, tenant_guid: str, mailbox: Mailbox) -> Changes:
    # Read the bound first: a failure here must not follow an unrecorded New-Mailbox.
    propagation = await _propagation_seconds(context)
    exchange = context.connector.exchange
    try:
        created = await exchange.new_shared_mailbox(
            tenant_guid,
            primary_smtp_address=mailbox.primary_smtp,
            display_name=mailbox.display_name,
            alias=mailbox.alias,
        )
    except AlreadyExists as exc:
        fallback = rules.fallback_alias(mailbox.primary_smtp)
        if mailbox.alias == fallback:
            raise _Permanent(_taken_message(exc)) from exc
        try:
            created = await exchange.new_shared_mailbox(
                tenant_guid,
                primary_smtp_address=mailbox.primary_smtp,
                display_name=mailbox.display_name,
                alias=fallback,
            )
        except AlreadyExists as again:
            raise _Permanent(_taken_message(again)) from again
    now = context.now()
    return {
        "provisioning_step": ProvisioningStep.MAILBOX_CREATED,
        "exchange_guid": created.guid,
        "external_directory_object_id": created.external_directory_object_id,
        "user_principal_name": created.user_principal_name,
        "alias": created.alias,
        "mail_nickname": created.alias,
        "propagation_ends_at": now + timedelta(seconds=propagation),
        "error": None,
        "next_check_at": now,
    }


def _taken_message(exc: MicrosoftError) -> str:
    return (
        "The address or name is already used by another recipient in Exchange Online; remove "
        f"it there or choose another address. Microsoft said: {exc.detail}"
    )


async def _set_password(context: AppContext, tenant_guid: str, mailbox: Mailbox) -> Changes:
    if mailbox.sealed_password is None or mailbox.external_directory_object_id is None:
        raise _Permanent(
            "The account password is no longer available; provision the mailbox again with "
            "account_password."
        )
    try:
        password = vault_for(context.settings).open(mailbox.sealed_password)
    except PasswordUnavailable:
        raise _Permanent(
            "The account password was sealed with another secret key than this process's "
            "(TENANTCORE_SECRET_KEY must be the same everywhere); provision the mailbox again."
        ) from None
    upn = mailbox.primary_smtp
    try:
        await context.connector.graph.update_user(
            tenant_guid,
            mailbox.external_directory_object_id,
            account_enabled=True,
            password=password,
            user_principal_name=upn if mailbox.user_principal_name.lower() != upn else None,
            fresh=True,  # the account may not have replicated to Graph yet
        )
    except InvalidPassword as exc:
        raise _Permanent(
            "Microsoft rejected account_password (complexity or banned-password rules): "
            f"{exc.detail} Provision the mailbox again with another password."
        ) from exc
    return {
        "provisioning_step": ProvisioningStep.USER_UPDATED,
        "sealed_password": None,
        "account_enabled": True,
        "user_principal_name": upn,
        "error": None,
    }


async def _enable_smtp_auth(context: AppContext, tenant_guid: str, mailbox: Mailbox) -> Changes:
    await context.connector.exchange.set_mailbox_smtp_auth(
        tenant_guid, mailbox.primary_smtp, disabled=False
    )
    now = context.now()
    return {
        "provisioning_step": ProvisioningStep.SMTP_AUTH_ENABLED,
        "error": None,
        "next_check_at": max(now, mailbox.propagation_ends_at or now),
    }


async def _check_readiness(context: AppContext, tenant_guid: str, mailbox: Mailbox) -> Changes:
    now = context.now()
    if mailbox.propagation_ends_at is not None and now < mailbox.propagation_ends_at:
        return {"next_check_at": mailbox.propagation_ends_at}
    exchange, graph = context.connector.exchange, context.connector.graph
    address = mailbox.primary_smtp
    try:
        found = await exchange.get_mailbox(tenant_guid, address)
        cas = await exchange.get_cas_mailbox(tenant_guid, address)
        user = await graph.get_user(tenant_guid, mailbox.external_directory_object_id or address)
    except NotFound:
        # Still replicating: Exchange and Graph answer for it after a while.
        return {"next_check_at": now + READINESS_POLL}
    # Correct drift before calling it ready (each call is idempotent).
    if cas.smtp_client_authentication_disabled is not False:
        await exchange.set_mailbox_smtp_auth(tenant_guid, address, disabled=False)
    if user.account_enabled is not True or user.user_principal_name.lower() != address:
        await graph.update_user(
            tenant_guid,
            user.id,
            account_enabled=True,
            user_principal_name=address if user.user_principal_name.lower() != address else None,
        )
    if found.display_name != mailbox.display_name:  # renamed while provisioning
        await exchange.set_mailbox(tenant_guid, address, display_name=mailbox.display_name)
    log.info("mailbox ready", mailbox_id=mailbox.id, address=address)
    return {
        "provisioning_step": ProvisioningStep.PROPAGATED,
        "status": MailboxStatus.READY,
        "ready_at": now,
        "account_enabled": True,
        "smtp_auth_enabled": True,
        "user_principal_name": address,
        "error": None,
        "next_check_at": None,
    }


_STEPS: dict[str, Callable[[AppContext, str, Mailbox], Awaitable[Changes]]] = {
    ProvisioningStep.NONE: _create,
    ProvisioningStep.MAILBOX_CREATED: _set_password,
    ProvisioningStep.USER_UPDATED: _enable_smtp_auth,
    ProvisioningStep.SMTP_AUTH_ENABLED: _check_readiness,
}


async def _propagation_seconds(context: AppContext) -> float:
    configured = context.settings.mailbox_propagation_seconds
    if configured is not None:
        return configured
    if context.sandbox is not None:
        return await context.sandbox.propagation_bound()
    return LIVE_PROPAGATION_SECONDS


def _failed(message: str) -> Changes:
    # The sealed password goes with the attempt: a new request brings a new one.
    return {
        "status": MailboxStatus.FAILED,
        "error": message,
        "sealed_password": None,
        "next_check_at": None,
    }


def _after_failure(now: datetime, mailbox: Mailbox, exc: MicrosoftError) -> Changes:
    reason = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, InvalidRequest | AlreadyExists | InvalidPassword):
        return _failed(f"Microsoft 365 refused the request: {reason}")
    started = mailbox.provisioning_started_at or mailbox.created_at
    if now - started >= PROVISIONING_TIMEOUT:
        return _failed(f"Gave up after {PROVISIONING_TIMEOUT}; last error: {reason}")
    log.info("mailbox provisioning step will be retried", mailbox_id=mailbox.id, error=reason)
    retry_after = exc.retry_after if isinstance(exc, Throttled | Transient) else None
    delay = (
        timedelta(seconds=retry_after)
        if retry_after
        else min(max(now - started, RETRY_MIN), RETRY_MAX)
    )
    return {"error": reason, "next_check_at": now + delay}


async def _save(context: AppContext, mailbox_pk: str, step: str, changes: Changes) -> bool:
    """Record a step's outcome unless the mailbox moved on meanwhile (another worker did the
    same step, or the tenant was disconnected). A mailbox turning ready has its tenant's
    enforcement re-provisioned so its cap holds in Exchange."""
    async with unit_of_work(context.sessionmaker) as session:
        mailbox = await session.get(Mailbox, mailbox_pk)
        if (
            mailbox is None
            or mailbox.status != MailboxStatus.PROVISIONING
            or mailbox.provisioning_step != step
        ):
            return False
        for name, value in changes.items():
            setattr(mailbox, name, value)
        mailbox.updated_at = context.now()
        if mailbox.status == MailboxStatus.READY:
            await enforcement_repository.mark_pending(session, mailbox.tenant_pk)
        if mailbox.status != MailboxStatus.PROVISIONING:
            tenant = await session.get(Tenant, mailbox.tenant_pk)
            if tenant is not None:
                outbox = Outbox(session, tenant.account_id)
                await webhook_events.mailbox_settled(
                    outbox, mailbox, tenant.tenant_id, context.now()
                )
    return True
