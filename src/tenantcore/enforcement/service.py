"""Enforcement policies: save, provision in Exchange, re-provision when caps change, report.

Saving commits the policy first (status `pending`), then provisions Exchange outside any
database transaction, then records the outcome. If Microsoft is unavailable the policy stays
`pending` and the background reconciler finishes the job, so a crash or an outage loses nothing.
"""

from __future__ import annotations

import math
from datetime import timedelta
from enum import Enum
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains.errors import DomainNotFound
from tenantcore.domains.models import Domain
from tenantcore.domains.names import lookup_name
from tenantcore.enforcement import exchange_sync, repository
from tenantcore.enforcement.caps import (
    Ceiling,
    EnforcedMailbox,
    blocked_members,
    cap_groups,
    scope_limit,
)
from tenantcore.enforcement.errors import InvalidRamp, InvalidSendLimit, PolicyNotFound
from tenantcore.enforcement.models import (
    TENANT_WIDE_SCOPE,
    EnforcementPolicy,
    PolicyProvisioningStatus,
)
from tenantcore.enforcement.schemas import PolicyList, PolicyOut, PolicyResponse, Ramp, RampOut
from tenantcore.mailboxes.models import DAILY_SEND_LIMIT_MAX, DAILY_SEND_LIMIT_MIN
from tenantcore.microsoft.errors import MicrosoftError, Throttled, Transient
from tenantcore.tenants.errors import ExchangeBootstrapNotReady
from tenantcore.tenants.models import BootstrapStatus, Tenant
from tenantcore.tenants.service import require_tenant

log = structlog.get_logger(__name__)
RETRY_DELAY = timedelta(seconds=30)


class _Keep(Enum):
    RAMP = "keep"


# `set_policy(ramp=KEEP_RAMP)`: the request left the ramp out, so the saved one stays.
KEEP_RAMP = _Keep.RAMP


def validate_limit(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSendLimit
    if isinstance(value, float) and not value.is_integer():
        raise InvalidSendLimit
    limit = int(value)
    if not DAILY_SEND_LIMIT_MIN <= limit <= DAILY_SEND_LIMIT_MAX:
        raise InvalidSendLimit
    return limit


def scope_label(scope_key: str) -> str:
    return "All domains" if scope_key == TENANT_WIDE_SCOPE else scope_key


async def resolve_scope(
    session: AsyncSession, tenant: Tenant, domain_scope: str | None
) -> tuple[str, Domain | None]:
    if domain_scope is None or not domain_scope.strip():
        return TENANT_WIDE_SCOPE, None
    name = lookup_name(domain_scope)
    if name is None:  # not a domain name at all (e.g. control characters): none registered
        raise DomainNotFound("Specified domain_scope is not registered on this tenant.")
    domain = await session.scalar(
        select(Domain).where(Domain.tenant_pk == tenant.id, Domain.domain_name == name)
    )
    if domain is None:
        raise DomainNotFound("Specified domain_scope is not registered on this tenant.")
    return name, domain


async def set_policy(
    context: AppContext,
    principal: Principal,
    tenant_id: str,
    *,
    daily_send_limit: object,
    domain_scope: str | None,
    ramp: Ramp | Literal[_Keep.RAMP] | None = KEEP_RAMP,
) -> PolicyResponse:
    limit = validate_limit(daily_send_limit)
    async with unit_of_work(context.sessionmaker) as session:
        tenant = await require_tenant(session, principal, tenant_id)
        scope_key, domain = await resolve_scope(session, tenant, domain_scope)
        if tenant.exchange_bootstrap_status != BootstrapStatus.READY:
            raise ExchangeBootstrapNotReady
        policy = await repository.policy_for_scope(session, tenant.id, scope_key)
        now = context.now()
        if policy is None:
            policy = EnforcementPolicy(
                tenant_pk=tenant.id,
                domain_pk=None if domain is None else domain.id,
                scope_key=scope_key,
                daily_send_limit=limit,
                created_at=now,
            )
            session.add(policy)
        policy.daily_send_limit = limit
        if ramp is not KEEP_RAMP:
            policy.ramp_start = None if ramp is None else ramp.start
            policy.ramp_daily_increase = None if ramp is None else ramp.daily_increase
        if policy.ramp_start is not None and policy.ramp_start >= limit:
            raise InvalidRamp(
                f"ramp.start ({policy.ramp_start}) must be below daily_send_limit ({limit}); "
                "send a lower start, or ramp: null for none."
            )
        policy.updated_at = now
        await repository.mark_pending(session, tenant.id)
        tenant_pk = tenant.id
    # Provision now, so the answer shows what Exchange holds, unless a worker is busy with the
    # tenant for long: then the policy stays pending and that worker's next job provisions it.
    # Reading Exchange back for the answer is tenant work too, so it happens under the lock.
    async with context.tenant_locks.hold(
        tenant_pk, wait_seconds=context.settings.tenant_lock_wait_seconds
    ) as held:
        if held:
            await provision_tenant(context, tenant_pk)
            return await describe(context, principal, tenant_id, domain_scope, fresh=True)
    await context.jobs.nudge_tenant(tenant_pk)
    return await describe(context, principal, tenant_id, domain_scope, fresh=True)


async def provision_tenant(context: AppContext, tenant_pk: str) -> None:
    """Make Exchange match every policy and cap of the tenant; record the outcome."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await session.get(Tenant, tenant_pk)
        if tenant is None:
            return
        policies = await repository.policies_of(session, tenant_pk)
        mailboxes = await repository.enforceable_mailboxes(session, tenant_pk)
    limits, today = repository.ceilings(policies), context.now().date()
    initial = tenant.tenant_domain or tenant.default_domain or ""
    switches = [exchange_sync.switch_for(p.scope_key, initial) for p in policies]
    status, error, retry_at = PolicyProvisioningStatus.PROVISIONED, None, None
    try:
        await exchange_sync.apply(
            context.connector,
            tenant.tenant_id,
            caps=cap_groups(mailboxes, limits, today),
            switches=switches,
            members=blocked_members(mailboxes, limits, today),
        )
    except (Throttled, Transient) as exc:
        status, error = PolicyProvisioningStatus.PENDING, f"{type(exc).__name__}: {exc}"
        retry_at = context.now() + RETRY_DELAY
    except MicrosoftError as exc:
        status, error = PolicyProvisioningStatus.FAILED, f"{type(exc).__name__}: {exc}"
    if error:
        log.warning("enforcement provisioning failed", tenant_id=tenant.tenant_id, error=error)
    async with unit_of_work(context.sessionmaker) as session:
        for policy in await repository.policies_of(session, tenant_pk):
            policy.provisioning_status = status
            policy.provisioning_error = error
            policy.next_attempt_at = retry_at
            if status == PolicyProvisioningStatus.PROVISIONED:
                policy.provisioned_at = context.now()


async def provision_due_tenants(context: AppContext, limit: int = 20) -> int:
    """Reconciler: finish provisioning left pending (saved, caps changed, or Microsoft down)."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await repository.tenants_due(session, context.now(), limit)
    for tenant_pk in due:
        await provision_tenant(context, tenant_pk)
    return len(due)


def _ramp_out(policy: EnforcementPolicy) -> RampOut | None:
    start, increase = policy.ramp_start, policy.ramp_daily_increase
    if start is None or increase is None:
        return None
    days = math.ceil(max(policy.daily_send_limit - start, 0) / increase)
    return RampOut(start=start, daily_increase=increase, full_after_days=days)


async def describe(
    context: AppContext,
    principal: Principal,
    tenant_id: str,
    domain_scope: str | None,
    *,
    fresh: bool,
) -> PolicyResponse:
    """The saved policy of a scope and what Exchange holds: read now with `fresh` (after a
    save), else a reading still current by `exchange_state.py`'s rule."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await require_tenant(session, principal, tenant_id)
        scope_key, _ = await resolve_scope(session, tenant, domain_scope)
        policy = await repository.policy_for_scope(session, tenant.id, scope_key)
        if policy is None:
            raise PolicyNotFound
        policies = await repository.policies_of(session, tenant.id)
        mailboxes = await repository.enforceable_mailboxes(session, tenant.id)
    limits = repository.ceilings(policies)
    # The last time TenantCore itself may have changed this tenant's enforcement in Exchange.
    changes = [tenant.last_sync_at]
    changes += [moment for p in policies for moment in (p.updated_at, p.provisioned_at)]
    switch = exchange_sync.switch_for(scope_key, tenant.tenant_domain or "")
    provisioning: dict[str, Any] = {"state": policy.provisioning_status}
    try:
        reading = await context.exchange_states.read(
            (tenant.tenant_id, scope_key),
            lambda: exchange_sync.read_state(context.connector, tenant.tenant_id, switch),
            now=context.now(),
            changed_at=max((moment for moment in changes if moment is not None), default=None),
            fresh=fresh,
        )
        provisioning.update(reading.state)
        provisioning["read_at"] = reading.read_at
    except MicrosoftError as exc:
        provisioning["exchange_error"] = f"{type(exc).__name__}: {exc}"
    label = scope_label(scope_key)
    domain_value = None if scope_key == TENANT_WIDE_SCOPE else scope_key
    return PolicyResponse(
        status="success",
        tenant_id=tenant.tenant_id,
        daily_send_limit=policy.daily_send_limit,
        domain_scope=domain_value,
        scope_label=label,
        policy=_policy_out(policy, mailboxes, limits),
        provisioning=provisioning,
    )


async def list_policies(context: AppContext, principal: Principal, tenant_id: str) -> PolicyList:
    """Every saved policy of the tenant, the tenant-wide one first, then by domain; from
    TenantCore's rows only (each scope's GET reads Exchange)."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await require_tenant(session, principal, tenant_id)
        policies = await repository.policies_of(session, tenant.id)
        mailboxes = await repository.enforceable_mailboxes(session, tenant.id)
    limits = repository.ceilings(policies)
    ordered = sorted(policies, key=lambda p: (p.scope_key != TENANT_WIDE_SCOPE, p.scope_key))
    items = [_policy_out(policy, mailboxes, limits) for policy in ordered]
    return PolicyList(tenant_id=tenant.tenant_id, policies=items, count=len(items))


def _policy_out(
    policy: EnforcementPolicy, mailboxes: list[EnforcedMailbox], limits: dict[str, Ceiling]
) -> PolicyOut:
    scope_key = policy.scope_key
    in_scope = [
        m
        for m in mailboxes
        if (m.domain == scope_key if scope_key != TENANT_WIDE_SCOPE else m.domain not in limits)
        and scope_limit(m.domain, limits) is not None
    ]
    return PolicyOut(
        daily_send_limit=policy.daily_send_limit,
        domain_scope=None if scope_key == TENANT_WIDE_SCOPE else scope_key,
        scope_label=scope_label(scope_key),
        ramp=_ramp_out(policy),
        provisioning_status=policy.provisioning_status,
        provisioning_error=policy.provisioning_error,
        provisioned_at=policy.provisioned_at,
        enforced_mailboxes=len(in_scope),
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )
