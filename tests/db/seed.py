"""Minimal valid rows, each under fresh unique names so tests can share one database."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.models import Account
from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox
from tenantcore.tenants.models import Tenant


async def add_domain(session: AsyncSession) -> Domain:
    """An account, a tenant and one domain on it, flushed (ids assigned)."""
    account = Account(name=f"account-{uuid.uuid4().hex}")
    session.add(account)
    await session.flush()
    tenant = Tenant(account_id=account.id, tenant_id=str(uuid.uuid4()))
    session.add(tenant)
    await session.flush()
    domain = Domain(tenant_pk=tenant.id, domain_name=f"mail-{uuid.uuid4().hex[:8]}.example")
    session.add(domain)
    await session.flush()
    return domain


def new_mailbox(domain: Domain, slot: int, **overrides: Any) -> Mailbox:
    local = overrides.pop("local", f"user{slot}-{uuid.uuid4().hex[:6]}")
    address = f"{local}@{domain.domain_name}"
    values: dict[str, Any] = {
        "tenant_pk": domain.tenant_pk,
        "domain_pk": domain.id,
        "slot": slot,
        "display_name": local.title(),
        "primary_smtp": address,
        "user_principal_name": address,
        "mail_nickname": local,
        "alias": local,
    }
    values.update(overrides)
    return Mailbox(**values)
