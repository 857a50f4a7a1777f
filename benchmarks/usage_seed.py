"""State seeding for the usage-sync benchmark (`benchmarks.usage_sync`).

The state is seeded directly, not built through the API (36,000 mailboxes would take hours):
sandbox tenants through the control API (the first, which registers TenantCore's app) and the
sandbox's own `create_tenant` / `grant_consent`; the sandbox's domain, user, mailbox, proxy
address, send-counter and message-trace rows (one per recipient, received today on the sandbox
clock, visible now) with its store's own SQL, `executemany` in one transaction; TenantCore's
tenants (bootstrapped, due for sync), verified domains and ready mailboxes with SQLAlchemy Core
bulk inserts, as provisioning leaves them. `warm_tokens` fills the token cache for runs that
skip the cold cycle.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from benchmarks.stack import Stack
from benchmarks.usage_measure import rss_kb
from tenantcore.accounts.models import Account
from tenantcore.core.db import unit_of_work
from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox, MailboxStatus, ProvisioningStep
from tenantcore.microsoft.tokens import Resource
from tenantcore.sandbox.directory import (
    DEFAULT_EXCHANGE_ROLES,
    DEFAULT_GRAPH_ROLES,
    create_tenant,
    grant_consent,
    new_verification_code,
)
from tenantcore.sandbox.passwords import hash_password
from tenantcore.sandbox.store import dumps
from tenantcore.sandbox.timeutil import iso, utc_day
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus
from tenantcore.usage.sync import utc_midnight

PER_DOMAIN = 3
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


@dataclass
class _Box:
    """One mailbox as both sides know it."""

    local: str
    domain: str
    domain_pk: str
    slot: int
    user_id: str
    guid: str

    @property
    def address(self) -> str:
        return f"{self.local}@{self.domain}"


def _verification_records(domain: str, code: str) -> list[dict[str, Any]]:
    return [
        {
            "recordType": "Txt",
            "label": domain,
            "ttl": 3600,
            "text": f"MS={code}",
            "isOptional": False,
        },
        {
            "recordType": "Mx",
            "label": domain,
            "ttl": 3600,
            "mailExchange": f"{code}.msv1.invalid",
            "preference": 32767,
            "isOptional": False,
        },
    ]


def _service_records(domain: str) -> list[dict[str, Any]]:
    return [
        {
            "recordType": "Mx",
            "label": domain,
            "ttl": 3600,
            "mailExchange": f"{domain.replace('.', '-')}.mail.protection.outlook.com",
            "preference": 0,
            "supportedService": "Email",
            "isOptional": False,
        },
        {
            "recordType": "Txt",
            "label": domain,
            "ttl": 3600,
            "text": "v=spf1 include:spf.protection.outlook.com -all",
            "supportedService": "Email",
            "isOptional": False,
        },
        {
            "recordType": "CName",
            "label": f"autodiscover.{domain}",
            "ttl": 3600,
            "canonicalName": "autodiscover.outlook.com",
            "supportedService": "Email",
            "isOptional": False,
        },
    ]


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
    domains_per_tenant = -(-mailboxes // PER_DOMAIN)
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
                chunk = list(enumerate(guids))[first : first + CHUNK]
                tc_tenants: list[dict[str, Any]] = []
                tc_domains: list[dict[str, Any]] = []
                tc_mailboxes: list[dict[str, Any]] = []
                sb_domains: list[tuple[Any, ...]] = []
                sb_users: list[tuple[Any, ...]] = []
                sb_mailboxes: list[tuple[Any, ...]] = []
                sb_proxies: list[tuple[Any, ...]] = []
                sb_counters: list[tuple[Any, ...]] = []
                boxes_of: list[tuple[str, list[_Box]]] = []
                for index, guid in chunk:
                    tenant_pk = str(uuid.uuid4())
                    initial = initial_domain(guid)
                    tc_tenants.append(
                        {
                            "id": tenant_pk,
                            "account_id": account_id,
                            "tenant_id": guid,
                            "tenant_name": f"Sandbox tenant {guid[:8]}",
                            "tenant_domain": initial,
                            "default_domain": initial,
                            "status": TenantStatus.CONNECTED,
                            "discovery_completed": True,
                            "exchange_bootstrap_status": BootstrapStatus.READY,
                            "bootstrap_started_at": earlier,
                            "next_attempt_at": None,
                            "consented_at": earlier,
                            "last_sync_at": last_cycle,
                            "next_sync_at": now,
                            "trace_window_started_at": last_cycle,
                            "trace_queries_in_window": 1,
                            "created_at": earlier,
                            "updated_at": last_cycle,
                        }
                    )
                    boxes: list[_Box] = []
                    for d in range(domains_per_tenant):
                        domain = f"d{d}.t{index}.bench-usage.com"
                        domain_pk = str(uuid.uuid4())
                        code = new_verification_code()
                        tc_domains.append(
                            {
                                "id": domain_pk,
                                "tenant_pk": tenant_pk,
                                "domain_name": domain,
                                "is_default": False,
                                "is_verified": True,
                                "email_enabled": True,
                                "verification_records": _verification_records(domain, code),
                                "service_records": _service_records(domain),
                                "spf_status": "valid",
                                "dkim_status": "missing",
                                "dmarc_status": "valid",
                                "mx_status": "valid",
                                # Checked just now: the DNS re-check is not part of this cycle.
                                "last_checked": now,
                                "created_at": earlier,
                                "updated_at": earlier,
                            }
                        )
                        sb_domains.append(
                            (guid, domain, dumps(["Email"]), code, iso(earlier)),
                        )
                        for slot in range(1, PER_DOMAIN + 1):
                            number = d * PER_DOMAIN + slot - 1
                            if number >= mailboxes:
                                break
                            boxes.append(
                                _Box(
                                    f"sender{number}",
                                    domain,
                                    domain_pk,
                                    slot,
                                    str(uuid.uuid4()),
                                    str(uuid.uuid4()),
                                )
                            )
                    for box in boxes:
                        address = box.address
                        display = f"Sender {box.local} of {box.domain}"
                        tc_mailboxes.append(
                            {
                                "id": str(uuid.uuid4()),
                                "tenant_pk": tenant_pk,
                                "domain_pk": box.domain_pk,
                                "slot": box.slot,
                                "display_name": display,
                                "primary_smtp": address,
                                "user_principal_name": address,
                                "mail_nickname": box.local,
                                "alias": box.local,
                                "exchange_guid": box.guid,
                                "external_directory_object_id": box.user_id,
                                "account_enabled": True,
                                "daily_send_limit": None,
                                "status": MailboxStatus.READY,
                                "provisioning_step": ProvisioningStep.PROPAGATED,
                                "ready_at": earlier,
                                "next_check_at": None,
                                "provisioning_started_at": earlier,
                                "propagation_ends_at": earlier,
                                "sends_today": 0,
                                "usage_day": today,
                                "usage_synced_at": last_cycle,
                                "blocked_at": None,
                                "created_at": earlier,
                                "updated_at": last_cycle,
                            }
                        )
                        sb_users.append(
                            (
                                box.user_id,
                                guid,
                                address,
                                display,
                                box.local,
                                address,
                                password_hash,
                                iso(earlier),
                            )
                        )
                        sb_mailboxes.append(
                            (
                                box.guid,
                                guid,
                                box.user_id,
                                str(uuid.uuid4()),
                                f"{box.local}-{box.domain.replace('.', '-')}",
                                box.local,
                                display,
                                address,
                                dumps([f"SMTP:{address}", f"smtp:{box.local}@{initial}"]),
                                iso(earlier),
                                iso(earlier),
                                iso(earlier),
                            )
                        )
                        sb_proxies.append((guid, address, box.guid))
                        sb_proxies.append((guid, f"{box.local}@{initial}", box.guid))
                        sb_counters.append((guid, address, today, sends, sends))
                    boxes_of.append((guid, boxes))

                store.conn.executemany(
                    "INSERT INTO domain(tenant_id, name, is_verified, is_initial, is_default,"
                    " supported_services, verification_code, created_at)"
                    " VALUES (?, ?, 1, 0, 0, ?, ?, ?)",
                    sb_domains,
                )
                store.conn.executemany(
                    "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
                    " mail_nickname, mail, account_enabled, password_hash, password_policies,"
                    " force_change_password, created_at, profile)"
                    " VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'DisablePasswordExpiration', 0, ?, '{}')",
                    sb_users,
                )
                store.conn.executemany(
                    "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias,"
                    " display_name, primary_smtp_address, email_addresses, recipient_type_details,"
                    " smtp_auth_disabled, recipient_limits, created_at, changed_at, ready_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SharedMailbox', 0, 500, ?, ?, ?)",
                    sb_mailboxes,
                )
                store.conn.executemany(
                    "INSERT INTO proxy_address(tenant_id, address, owner_kind, owner_guid)"
                    " VALUES (?, ?, 'mailbox', ?)",
                    sb_proxies,
                )
                store.conn.executemany(
                    "INSERT INTO send_counter(tenant_id, sender_address, day, recipients,"
                    " messages) VALUES (?, ?, ?, ?, ?)",
                    sb_counters,
                )
                before = store.conn.total_changes
                store.conn.executemany(
                    "INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
                    " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'Delivered', ?, '203.0.113.10', '', ?, ?)",
                    _trace_rows(boxes_of, sends, now, spread, rng),
                )
                trace_rows += store.conn.total_changes - before
                await tc.execute(sa.insert(Tenant), tc_tenants)
                await tc.execute(sa.insert(Domain), tc_domains)
                await tc.execute(sa.insert(Mailbox), tc_mailboxes)
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


def _trace_rows(
    boxes_of: list[tuple[str, list[_Box]]],
    sends: int,
    now: datetime,
    spread: float,
    rng: random.Random,
) -> Iterator[tuple[Any, ...]]:
    """One accepted single-recipient message per send, as `mailflow._trace` records it."""
    for guid, boxes in boxes_of:
        for box in boxes:
            for n in range(sends):
                trace_id = str(uuid.uuid4())
                received = iso(now - timedelta(seconds=1 + rng.random() * spread))
                yield (
                    trace_id,
                    f"contact{n}@customer{box.slot}.example.net",
                    guid,
                    f"<{trace_id}@{box.domain}>",
                    box.address,
                    f"Hello from {box.local} ({n})",
                    2048 + n,
                    received,
                    received,
                )
