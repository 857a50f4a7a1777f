"""Row building for the usage-sync benchmark's seeding (`benchmarks.usage_seed`).

One chunk of tenants at a time: TenantCore's tenant, domain and mailbox rows (dicts for
SQLAlchemy Core bulk inserts, as provisioning leaves them) and the sandbox's domain, user,
mailbox, proxy address, send-counter and message-trace rows (tuples for its store's own SQL,
`executemany`). Both sides describe the same mailboxes, so each is built once as a `_Box` and
written to both.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tenantcore.domains.models import Domain
from tenantcore.mailboxes.models import Mailbox, MailboxStatus, ProvisioningStep
from tenantcore.sandbox.directory import new_verification_code
from tenantcore.sandbox.store import dumps
from tenantcore.sandbox.timeutil import iso
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus

PER_DOMAIN = 3


@dataclass(frozen=True)
class SeedContext:
    """What every row of one seeding shares."""

    account_id: str
    mailboxes: int  # per tenant
    sends: int  # per mailbox
    password_hash: str
    now: datetime  # the sandbox clock's
    earlier: datetime  # a day ago: connected, bootstrapped and provisioned by then
    last_cycle: datetime  # the previous usage sync
    today: str
    spread: float  # seconds before `now` the sends fall over
    rng: random.Random  # the trace timestamps'

    @property
    def domains_per_tenant(self) -> int:
        return -(-self.mailboxes // PER_DOMAIN)


@dataclass(frozen=True)
class TenantToSeed:
    index: int  # its place in the run, which names its domains
    guid: str
    initial_domain: str


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


@dataclass
class ChunkRows:
    """One chunk's rows: TenantCore's as dicts, the sandbox's as tuples in column order."""

    tc_tenants: list[dict[str, Any]] = field(default_factory=list)
    tc_domains: list[dict[str, Any]] = field(default_factory=list)
    tc_mailboxes: list[dict[str, Any]] = field(default_factory=list)
    sb_domains: list[tuple[Any, ...]] = field(default_factory=list)
    sb_users: list[tuple[Any, ...]] = field(default_factory=list)
    sb_mailboxes: list[tuple[Any, ...]] = field(default_factory=list)
    sb_proxies: list[tuple[Any, ...]] = field(default_factory=list)
    sb_counters: list[tuple[Any, ...]] = field(default_factory=list)
    # Kept for the trace rows, generated only while inserting (the largest table by far).
    boxes_of: list[tuple[str, list[_Box]]] = field(default_factory=list)


def build_chunk_rows(context: SeedContext, tenants: Sequence[TenantToSeed]) -> ChunkRows:
    rows = ChunkRows()
    for tenant in tenants:
        tenant_pk = str(uuid.uuid4())
        rows.tc_tenants.append(_tc_tenant(context, tenant, tenant_pk))
        boxes = _add_domains(rows, context, tenant, tenant_pk)
        for box in boxes:
            _add_mailbox(rows, context, tenant, tenant_pk, box)
        rows.boxes_of.append((tenant.guid, boxes))
    return rows


def insert_sandbox_rows(conn: sqlite3.Connection, context: SeedContext, rows: ChunkRows) -> int:
    """Insert the chunk's sandbox rows; returns how many trace rows went in."""
    conn.executemany(
        "INSERT INTO domain(tenant_id, name, is_verified, is_initial, is_default,"
        " supported_services, verification_code, created_at)"
        " VALUES (?, ?, 1, 0, 0, ?, ?, ?)",
        rows.sb_domains,
    )
    conn.executemany(
        "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
        " mail_nickname, mail, account_enabled, password_hash, password_policies,"
        " force_change_password, created_at, profile)"
        " VALUES (?, ?, ?, ?, ?, ?, 1, ?, 'DisablePasswordExpiration', 0, ?, '{}')",
        rows.sb_users,
    )
    conn.executemany(
        "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias,"
        " display_name, primary_smtp_address, email_addresses, recipient_type_details,"
        " smtp_auth_disabled, recipient_limits, created_at, changed_at, ready_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SharedMailbox', 0, 500, ?, ?, ?)",
        rows.sb_mailboxes,
    )
    conn.executemany(
        "INSERT INTO proxy_address(tenant_id, address, owner_kind, owner_guid)"
        " VALUES (?, ?, 'mailbox', ?)",
        rows.sb_proxies,
    )
    conn.executemany(
        "INSERT INTO send_counter(tenant_id, sender_address, day, recipients,"
        " messages) VALUES (?, ?, ?, ?, ?)",
        rows.sb_counters,
    )
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
        " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'Delivered', ?, '203.0.113.10', '', ?, ?)",
        _trace_rows(rows.boxes_of, context.sends, context.now, context.spread, context.rng),
    )
    return conn.total_changes - before


async def insert_tenantcore_rows(tc: AsyncConnection, rows: ChunkRows) -> None:
    await tc.execute(sa.insert(Tenant), rows.tc_tenants)
    await tc.execute(sa.insert(Domain), rows.tc_domains)
    await tc.execute(sa.insert(Mailbox), rows.tc_mailboxes)


def _tc_tenant(context: SeedContext, tenant: TenantToSeed, tenant_pk: str) -> dict[str, Any]:
    """Bootstrapped, synced one cycle ago and due again now."""
    return {
        "id": tenant_pk,
        "account_id": context.account_id,
        "tenant_id": tenant.guid,
        "tenant_name": f"Sandbox tenant {tenant.guid[:8]}",
        "tenant_domain": tenant.initial_domain,
        "default_domain": tenant.initial_domain,
        "status": TenantStatus.CONNECTED,
        "discovery_completed": True,
        "exchange_bootstrap_status": BootstrapStatus.READY,
        "bootstrap_started_at": context.earlier,
        "next_attempt_at": None,
        "consented_at": context.earlier,
        "last_sync_at": context.last_cycle,
        "next_sync_at": context.now,
        "trace_window_started_at": context.last_cycle,
        "trace_queries_in_window": 1,
        # The hourly SMTP AUTH check (tenants/smtp_auth.py) ran with the last cycle: it is
        # not part of a usage-sync cycle.
        "smtp_auth_enabled": True,
        "smtp_auth_checked_at": context.last_cycle,
        "smtp_auth_next_check_at": context.last_cycle + timedelta(hours=1),
        "created_at": context.earlier,
        "updated_at": context.last_cycle,
    }


def _add_domains(
    rows: ChunkRows, context: SeedContext, tenant: TenantToSeed, tenant_pk: str
) -> list[_Box]:
    """Add the tenant's verified domains to both sides; returns its mailboxes, PER_DOMAIN each."""
    boxes: list[_Box] = []
    for d in range(context.domains_per_tenant):
        domain = f"d{d}.t{tenant.index}.bench-usage.com"
        domain_pk = str(uuid.uuid4())
        code = new_verification_code()
        rows.tc_domains.append(
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
                "last_checked": context.now,
                "created_at": context.earlier,
                "updated_at": context.earlier,
            }
        )
        rows.sb_domains.append(
            (tenant.guid, domain, dumps(["Email"]), code, iso(context.earlier)),
        )
        for slot in range(1, PER_DOMAIN + 1):
            number = d * PER_DOMAIN + slot - 1
            if number >= context.mailboxes:
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
    return boxes


def _add_mailbox(
    rows: ChunkRows, context: SeedContext, tenant: TenantToSeed, tenant_pk: str, box: _Box
) -> None:
    """Add one ready mailbox to both sides, with today's sends already counted."""
    guid = tenant.guid
    initial = tenant.initial_domain
    earlier = context.earlier
    address = box.address
    display = f"Sender {box.local} of {box.domain}"
    rows.tc_mailboxes.append(
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
            "smtp_auth_enabled": True,
            "next_check_at": None,
            "provisioning_started_at": earlier,
            "propagation_ends_at": earlier,
            "sends_today": 0,
            "usage_day": context.today,
            "usage_synced_at": context.last_cycle,
            "blocked_at": None,
            "created_at": earlier,
            "updated_at": context.last_cycle,
        }
    )
    rows.sb_users.append(
        (
            box.user_id,
            guid,
            address,
            display,
            box.local,
            address,
            context.password_hash,
            iso(earlier),
        )
    )
    rows.sb_mailboxes.append(
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
    rows.sb_proxies.append((guid, address, box.guid))
    rows.sb_proxies.append((guid, f"{box.local}@{initial}", box.guid))
    rows.sb_counters.append((guid, address, context.today, context.sends, context.sends))


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
