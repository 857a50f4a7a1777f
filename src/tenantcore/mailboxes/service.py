"""Provisioning mailboxes and describing them (seed; DESIGN.md section 4); changes are in
`updates.py`, deletion in `removal.py`.

Provisioning answers at once: it validates, claims a slot per new mailbox (at most 3 per
domain, held by UNIQUE(domain_pk, slot), so concurrent requests cannot over-fill a domain),
stores the rows as `provisioning` with the password sealed (`vault.py`), and commits. The
Exchange work runs in the background (`provisioning.py`).

A request whose new mailboxes don't all fit creates those that fit (lowest free slots, in
address order) and reports the rest as `failed` with `mailbox_limit_reached`; when nothing in
the request could be created or was already there, the whole request is refused with 400
`mailbox_limit_reached` and nothing changes. Asking again for a mailbox whose provisioning
`failed` starts it again (with the new password and name) and reports it `created`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.tally import tally
from tenantcore.domains import repository as domains_repository
from tenantcore.domains.errors import DomainNotFound
from tenantcore.domains.models import Domain
from tenantcore.domains.names import lookup_name
from tenantcore.mailboxes import repository, rules
from tenantcore.mailboxes.errors import (
    DomainNotVerified,
    DuplicateEmail,
    MailboxLimitReached,
)
from tenantcore.mailboxes.models import (
    MAX_MAILBOXES_PER_DOMAIN,
    Mailbox,
    MailboxStatus,
    ProvisioningStep,
)
from tenantcore.mailboxes.reads import todays_count
from tenantcore.mailboxes.schemas import (
    MailboxDetails,
    MailboxOut,
    MailboxRequest,
    ProvisionRequest,
    ProvisionResponse,
    ProvisionResult,
)
from tenantcore.mailboxes.vault import vault_for
from tenantcore.tenants.errors import ExchangeBootstrapNotReady
from tenantcore.tenants.models import BootstrapStatus, Tenant
from tenantcore.tenants.service import require_tenant

# Slot claims retried after the database refused one (each refusal means another request
# committed a slot or the same address, which the next read sees); bounded all the same.
_CLAIM_ATTEMPTS = 2 * MAX_MAILBOXES_PER_DOMAIN + 2


def counted_sends(mailbox: Mailbox, today: str) -> int:
    return todays_count(mailbox.sends_today, mailbox.usage_day, today)


def describe(
    mailbox: Mailbox, domain_name: str, tenant: Tenant, today: str, effective: int | None
) -> MailboxOut:
    """The mailbox as the list shows it; `effective`: its `effective_send_limit`."""
    return MailboxOut(
        id=mailbox.id,
        display_name=mailbox.display_name,
        primary_smtp=mailbox.primary_smtp,
        user_principal_name=mailbox.user_principal_name,
        mail_nickname=mailbox.mail_nickname,
        account_enabled=mailbox.account_enabled,
        daily_send_limit=mailbox.daily_send_limit,
        sends_today=counted_sends(mailbox, today),
        blocked_at=mailbox.blocked_at,
        created_at=mailbox.created_at,
        domain_name=domain_name,
        tenant_name=tenant.tenant_name,
        status=mailbox.status,
        ready_at=mailbox.ready_at,
        usage_synced_at=mailbox.usage_synced_at,
        error=mailbox.error,
        smtp_auth_enabled=mailbox.smtp_auth_enabled,
        effective_send_limit=effective,
    )


def _details(mailbox: Mailbox) -> MailboxDetails:
    # A new mailbox's UPN is the address: the background step changes whatever Exchange
    # assigns to it, because SMTP AUTH logs in with the UPN. An existing one shows the UPN
    # as last read from Microsoft.
    return MailboxDetails(
        display_name=mailbox.display_name,
        primary_smtp=mailbox.primary_smtp,
        user_principal_name=mailbox.user_principal_name,
        alias=mailbox.alias,
    )


def _result(
    status: Literal["created", "exists"], name: str, email: str, mailbox: Mailbox
) -> ProvisionResult:
    return ProvisionResult(
        status=status,
        name=name,
        email=email,
        details=_details(mailbox),
        mailbox_id=mailbox.id,
        mailbox_status=mailbox.status,
        error=None,
        message=None,
    )


def _limit_failure(name: str, email: str) -> ProvisionResult:
    return ProvisionResult(
        status="failed",
        name=name,
        email=email,
        details=None,
        mailbox_id=None,
        mailbox_status=None,
        error=MailboxLimitReached.code,
        message=MailboxLimitReached.default_message,
    )


def _validated(body: ProvisionRequest) -> tuple[str, list[tuple[str, str]], str]:
    """(domain name, [(display name, address)], password), or the first 400 that applies."""
    domain_name, requested = validated_mailboxes(body.domain, body.mailboxes)
    password = body.account_password.get_secret_value()
    rules.require_strong_password(password)
    return domain_name, requested, password


def validated_mailboxes(
    raw_domain: str, mailboxes: list[MailboxRequest]
) -> tuple[str, list[tuple[str, str]]]:
    """(domain name, [(display name, address)]) of one domain's requested mailboxes, or the
    first 400 (or `domain_not_found`) that applies."""
    domain_name = lookup_name(raw_domain)
    if domain_name is None:
        raise DomainNotFound
    if len(mailboxes) > MAX_MAILBOXES_PER_DOMAIN:
        raise MailboxLimitReached(
            f"A domain holds at most {MAX_MAILBOXES_PER_DOMAIN} mailboxes; the request lists "
            f"{len(mailboxes)}."
        )
    requested = [
        (
            rules.display_name(item.name, f"mailboxes[{index}].name"),
            rules.normalise_email(item.email, domain_name),
        )
        for index, item in enumerate(mailboxes)
    ]
    addresses = [address for _, address in requested]
    repeated = sorted({a for a in addresses if addresses.count(a) > 1})
    if repeated:
        raise DuplicateEmail(f"The request lists {', '.join(repeated)} more than once.")
    return domain_name, requested


async def verified_domain(session: AsyncSession, tenant: Tenant, domain_name: str) -> Domain:
    domain = await domains_repository.by_name(session, tenant.id, domain_name)
    if domain is None:
        raise DomainNotFound
    if not (domain.is_verified and domain.email_enabled):
        raise DomainNotVerified
    return domain


async def provision(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    body: ProvisionRequest,
) -> ProvisionResponse:
    """Store the mailboxes and hand them to the background provisioning; see the module doc."""
    tenant = await require_tenant(session, principal, tenant_id)
    domain_name, requested, password = _validated(body)
    domain = await verified_domain(session, tenant, domain_name)
    if tenant.exchange_bootstrap_status != BootstrapStatus.READY:
        raise ExchangeBootstrapNotReady
    ordered = await provision_on(context, session, tenant, domain, requested, password)
    if all(result.status == "failed" for result in ordered):
        raise MailboxLimitReached  # nothing was written: the transaction rolls back
    context.jobs.nudge_tenant_after_commit(session, tenant.id)
    return ProvisionResponse(**tally(ordered), results=ordered)


async def provision_on(
    context: AppContext,
    session: AsyncSession,
    tenant: Tenant,
    domain: Domain,
    requested: list[tuple[str, str]],
    password: str,
) -> list[ProvisionResult]:
    """Store one domain's requested mailboxes in the request's session: a result per mailbox,
    in the order requested (`failed` with `mailbox_limit_reached` for those that don't fit;
    nothing is written for them)."""
    vault = vault_for(context.settings)
    now = context.now()
    results: dict[str, ProvisionResult] = {}
    new: list[tuple[str, str]] = []
    for name, address in requested:
        existing = await repository.by_address(session, tenant.id, address)
        if existing is None:
            new.append((name, address))
        elif existing.status == MailboxStatus.FAILED:
            _start(existing, name, vault.seal(password), now)
            if existing.provisioning_step != ProvisioningStep.NONE:
                # The mailbox exists in Exchange: resume at the password, so the new one is set.
                existing.provisioning_step = ProvisioningStep.MAILBOX_CREATED
            results[address] = _result("created", name, address, existing)
        else:
            results[address] = _result("exists", name, address, existing)
    taken_aliases = await repository.aliases_in_tenant(session, tenant.id)
    # Claims go in address order and lowest slot first, so concurrent requests wait on each
    # other in one order (no deadlock cycles on PostgreSQL).
    for name, address in sorted(new, key=lambda item: item[1]):
        alias = rules.preferred_alias(address, taken_aliases)
        draft = _Draft(tenant.id, domain.id, name, address, alias, vault.seal(password), now)
        outcome = await _claim_slot(session, draft)
        if outcome is None:
            results[address] = _limit_failure(name, address)
            continue
        claimed, created = outcome
        taken_aliases.add(claimed.alias)
        results[address] = _result("created" if created else "exists", name, address, claimed)
    return [results[address] for _, address in requested]


def _start(mailbox: Mailbox, name: str, sealed_password: str, now: datetime) -> None:
    """(Re)start provisioning: due at once for the background step."""
    mailbox.display_name = name
    mailbox.status = MailboxStatus.PROVISIONING
    mailbox.error = None
    mailbox.sealed_password = sealed_password
    mailbox.provisioning_started_at = now
    mailbox.next_check_at = now


@dataclass(frozen=True)
class _Draft:
    """A new mailbox before it has a slot."""

    tenant_pk: str
    domain_pk: str
    name: str
    address: str
    alias: str
    sealed_password: str
    now: datetime

    def row(self, slot: int) -> Mailbox:
        mailbox = Mailbox(
            tenant_pk=self.tenant_pk,
            domain_pk=self.domain_pk,
            slot=slot,
            primary_smtp=self.address,
            user_principal_name=self.address,
            alias=self.alias,
            mail_nickname=self.alias,
            provisioning_step=ProvisioningStep.NONE,
            created_at=self.now,
        )
        _start(mailbox, self.name, self.sealed_password, self.now)
        return mailbox


async def _claim_slot(session: AsyncSession, draft: _Draft) -> tuple[Mailbox, bool] | None:
    """Insert the draft in the lowest free slot; (mailbox, created). None when the domain is
    full. A refused insert means a concurrent request committed that slot (or this address),
    which the next read sees: re-read and go on with a fresh row."""
    for _ in range(_CLAIM_ATTEMPTS):
        used = await repository.used_slots(session, draft.domain_pk)
        free = [s for s in range(1, MAX_MAILBOXES_PER_DOMAIN + 1) if s not in used]
        if not free:
            return None
        mailbox = draft.row(free[0])
        if await repository.insert_in_slot(session, mailbox):
            return mailbox, True
        existing = await repository.by_address(session, draft.tenant_pk, draft.address)
        if existing is not None:
            return existing, False
    return None
