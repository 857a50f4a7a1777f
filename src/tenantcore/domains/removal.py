"""Removing a domain from a tenant (beyond the seed): the last step of replacing a burned
sending domain, after its mailboxes are deleted.

Under the tenant's lock: the domain's mailbox-limits switch (transport rule and group) is
removed from Exchange when it has a policy, then the domain from Microsoft 365 (Graph `DELETE
/domains/{id}`), then TenantCore forgets the domain and its policy. Microsoft refuses while
anything in the organization still uses the domain (a user's sign-in name or an address, the
initial or default domain): that is 409 `domain_in_use` with Microsoft's words, and nothing
changes. A domain already gone from Microsoft is simply forgotten. DNS records stay where the
customer published them.
"""

from __future__ import annotations

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains.errors import DomainHasMailboxes, DomainInUse
from tenantcore.domains.models import Domain
from tenantcore.domains.service import connected_domain, microsoft_failure
from tenantcore.enforcement import exchange_sync
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.mailboxes import repository as mailboxes_repository
from tenantcore.microsoft.errors import InvalidRequest, MicrosoftError, NotFound
from tenantcore.tenants.models import BootstrapStatus


async def remove(context: AppContext, principal: Principal, tenant_id: str, domain: str) -> None:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant, row = await connected_domain(session, principal, tenant_id, domain)
    async with context.tenant_exclusive(tenant.id):
        # Read under the lock: what the background work and other requests left.
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            if await mailboxes_repository.of_domain(session, row.id):
                raise DomainHasMailboxes
            policy = await enforcement_repository.policy_for_scope(
                session, tenant.id, row.domain_name
            )
        try:
            if policy is not None and tenant.exchange_bootstrap_status == BootstrapStatus.READY:
                switch = exchange_sync.switch_for(row.domain_name, tenant.tenant_domain or "")
                await exchange_sync.remove_switch(context.connector, tenant.tenant_id, switch)
            await context.connector.graph.delete_domain(tenant.tenant_id, row.domain_name)
        except NotFound:
            pass  # already gone from Microsoft 365
        except InvalidRequest as exc:
            raise DomainInUse(
                f"{DomainInUse.default_message} Microsoft said: {exc.detail}"
            ) from exc
        except MicrosoftError as exc:
            raise microsoft_failure(exc) from exc
        async with unit_of_work(context.sessionmaker) as session:
            current = await session.get(Domain, row.id)
            if current is not None:
                await session.delete(current)  # its policy goes with it
