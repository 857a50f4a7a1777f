"""State seeding for the usage-sync benchmark (`benchmarks.usage_sync`).

The state is seeded directly, not built through the API (36,000 mailboxes would take hours):
sandbox tenants through the control API (the first, which registers TenantCore's app) and the
sandbox's own `create_tenant` / `grant_consent`; the sandbox's domain, user, mailbox, proxy
address, send-counter and message-trace rows (one per recipient, received today on the sandbox
clock, visible now) with its store's own SQL, `executemany` in one transaction; TenantCore's
tenants (bootstrapped, due for sync), verified domains and ready mailboxes with SQLAlchemy Core
bulk inserts, as provisioning leaves them. The rows themselves are built (and the sandbox's
inserted) by `benchmarks.usage_rows`, one chunk of tenants at a time. `warm_tokens` fills the
token cache for runs that skip the cold cycle.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from benchmarks.stack import Stack
from benchmarks.usage_measure import rss_kb
from benchmarks.usage_rows import (
    SeedContext,
    TenantToSeed,
    build_chunk_rows,
    insert_sandbox_rows,
    insert_tenantcore_rows,
)
from tenantcore.accounts.models import Account
from tenantcore.core.db import unit_of_work
from tenantcore.microsoft.tokens import Resource
from tenantcore.sandbox.directory import (
    DEFAULT_EXCHANGE_ROLES,
    DEFAULT_GRAPH_ROLES,
    create_tenant,
    grant_consent,
)
from tenantcore.sandbox.passwords import hash_password
from tenantcore.sandbox.timeutil import iso, utc_day
from tenantcore.usage.sync import utc_midnight

# Tenants seeded per executemany batch (bounds the seeding's transient memory).
CHUNK = 50


@dataclass
class Seeded:
    """What `seed` created, and what it cost."""

    tenant_ids: list[str]
    tenants: int
    mailboxes: int  # per tenant
    sends: int  # per mailbox
    trace_rows: int
    seconds: float
    rss_kb: int


def initial_domain(tenant_id: str) -> str:
    """What the product's sandbox connect names a tenant's initial domain."""
    return f"sandbox{tenant_id.replace('-', '')[:16]}.onmicrosoft.com"


async def seed(stack: Stack, tenants: int, mailboxes: int, sends: int) -> Seeded:
    started = time.perf_counter()
    sb = stack.sandbox
    context = stack.context
    microsoft = context.settings.microsoft
    assert context.sandbox is not None
    assert microsoft.client_secret is not None
    now = sb.now()
    midnight = utc_midnight(now)
    if now - midnight < timedelta(minutes=2):
        raise SystemExit("too close to 00:00 UTC: the trace rows would fall on another day")
    today = utc_day(now)
    earlier = now - timedelta(days=1)
    last_cycle = now - timedelta(seconds=context.settings.usage_sync_seconds)
    rng = random.Random(3)
    # Sends fall over the day so far (at most the last 8 hours), all already visible.
    spread = min((now - midnight).total_seconds(), 8 * 3600.0) - 1
    password_hash = hash_password("SecureP@ssw0rd!")  # one hash for all: PBKDF2 is slow
    guids = [str(uuid.uuid4()) for _ in range(tenants)]

    # Tenants: the first as the product's sandbox connect does it (registers the app), the
    # rest with the sandbox's own code (the same, minus re-checking the app's PBKDF2 secret).
    secret = microsoft.client_secret.get_secret_value()
    for index, guid in enumerate(guids):
        name = f"Sandbox tenant {guid[:8]}"
        if index == 0:
            await context.sandbox.attach_tenant(
                guid, client_id=microsoft.client_id, client_secret=secret, display_name=name
            )
            continue
        create_tenant(
            sb,
            tenant_id=guid,
            display_name=name,
            initial_domain=initial_domain(guid),
            dehydrated=True,
        )
        grant_consent(
            sb,
            tenant_id=guid,
            client_id=microsoft.client_id,
            roles_graph=list(DEFAULT_GRAPH_ROLES),
            roles_exchange=list(DEFAULT_EXCHANGE_ROLES),
        )

    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        account_id = await session.scalar(sa.select(Account.id).where(Account.name == "bench"))
    assert account_id is not None

    seed_context = SeedContext(
        account_id=account_id,
        mailboxes=mailboxes,
        sends=sends,
        password_hash=password_hash,
        now=now,
        earlier=earlier,
        last_cycle=last_cycle,
        today=today,
        spread=spread,
        rng=rng,
    )
    trace_rows = 0
    store = sb.store
    with store.transaction():
        # The bootstrap's effect: Enable-OrganizationCustomization done, SMTP AUTH allowed.
        store.execute(
            "UPDATE tenant SET customization_ready_at = ?, smtp_auth_disabled = 0",
            (iso(earlier),),
        )
        async with context.engine.begin() as tc:
            for first in range(0, tenants, CHUNK):
                chunk = [
                    TenantToSeed(index, guid, initial_domain(guid))
                    for index, guid in enumerate(guids[first : first + CHUNK], start=first)
                ]
                rows = build_chunk_rows(seed_context, chunk)
                trace_rows += insert_sandbox_rows(store.conn, seed_context, rows)
                await insert_tenantcore_rows(tc, rows)
    gc.collect()
    return Seeded(
        guids, tenants, mailboxes, sends, trace_rows, time.perf_counter() - started, rss_kb()
    )


async def warm_tokens(stack: Stack, tenant_ids: list[str]) -> None:
    """Fill the connector's token cache as a worker's earlier cycles would have."""
    tokens = stack.context.connector.tokens
    slots = asyncio.Semaphore(16)

    async def one(tenant_id: str) -> None:
        async with slots:
            await tokens.token(tenant_id, Resource.EXCHANGE)

    await asyncio.gather(*(one(tenant_id) for tenant_id in tenant_ids))
