"""Removing a scope's limit policy (beyond the seed): its mailboxes stop being capped, or fall
back to the tenant-wide policy when there is one.

Under the tenant's lock: Exchange is brought in line with the policies that remain (the
mailboxes of the scope move to the tenant-wide caps, or leave TenantCore's cap rules), then the
scope's switch (transport rule and group) is removed, then TenantCore forgets the policy. If
Microsoft fails on the way, the policy stays and the tenant's enforcement is marked for
provisioning again, so the reconciler puts Exchange back to what TenantCore holds; the call
can be repeated. A block Exchange itself applied today (the cap policy's BlockUserForToday)
lasts until 00:00 UTC whatever TenantCore does, and so does a block TenantCore recorded today:
the mailbox moves to the blocking group of the tenant-wide policy, when there is one.
"""

from __future__ import annotations

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains.service import microsoft_failure
from tenantcore.enforcement import exchange_sync, repository
from tenantcore.enforcement.caps import blocked_members, cap_groups
from tenantcore.enforcement.errors import PolicyNotFound
from tenantcore.enforcement.models import PolicyProvisioningStatus
from tenantcore.enforcement.service import resolve_scope
from tenantcore.microsoft.errors import MicrosoftError
from tenantcore.tenants.service import require_tenant


async def remove_policy(
    context: AppContext, principal: Principal, tenant_id: str, domain_scope: str | None
) -> None:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await require_tenant(session, principal, tenant_id)
        scope_key, _ = await resolve_scope(session, tenant, domain_scope)
    async with context.tenant_exclusive(tenant.id):
        # Read under the lock: what the background work and other requests left.
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            policies = await repository.policies_of(session, tenant.id)
            mailboxes = await repository.enforceable_mailboxes(session, tenant.id)
        removed = next((p for p in policies if p.scope_key == scope_key), None)
        if removed is None:
            raise PolicyNotFound
        remaining = [p for p in policies if p.scope_key != scope_key]
        limits, today = repository.ceilings(remaining), context.now().date()
        initial = tenant.tenant_domain or tenant.default_domain or ""
        try:
            await exchange_sync.apply(
                context.connector,
                tenant.tenant_id,
                caps=cap_groups(mailboxes, limits, today),
                switches=[exchange_sync.switch_for(p.scope_key, initial) for p in remaining],
                members=blocked_members(mailboxes, limits, today),
            )
            await exchange_sync.remove_switch(
                context.connector, tenant.tenant_id, exchange_sync.switch_for(scope_key, initial)
            )
        except MicrosoftError as exc:
            async with unit_of_work(context.sessionmaker) as session:
                await repository.mark_pending(session, tenant.id)
            raise microsoft_failure(exc) from exc
        async with unit_of_work(context.sessionmaker) as session:
            for policy in await repository.policies_of(session, tenant.id):
                if policy.scope_key == scope_key:
                    await session.delete(policy)
                else:  # Exchange now holds these as saved; no earlier reading of it stands
                    policy.provisioning_status = PolicyProvisioningStatus.PROVISIONED
                    policy.provisioning_error = None
                    policy.next_attempt_at = None
                    policy.provisioned_at = context.now()
