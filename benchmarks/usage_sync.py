"""Benchmark 3 — usage sync at scale.

1,000 sandbox tenants x 36 mailboxes (12 domains x 3) x 10 single-recipient sends each, every
Microsoft call delayed 50 ms: the wall time of one full usage-sync cycle (every tenant due,
until every tenant has synced), the Microsoft calls it makes, the process CPU time per trace row
and the peak RSS. Targets: a cycle under 60 s, at most 2 calls per tenant when the trace fits
one page, peak RSS under 300 MB.

The state is seeded directly, not built through the API (36,000 mailboxes would take hours):
sandbox tenants through the control API (the first, which registers TenantCore's app) and the
sandbox's own `create_tenant` / `grant_consent`; the sandbox's domain, user, mailbox, proxy
address, send-counter and message-trace rows (one per recipient, received today on the sandbox
clock, visible now) with its store's own SQL, `executemany` in one transaction; TenantCore's
tenants (bootstrapped, due for sync), verified domains and ready mailboxes with SQLAlchemy Core
bulk inserts, as provisioning leaves them. The cycle itself is the product's: the worker's
`run_forever` (sweep every `worker_interval_seconds`, a `work_tenant` job per due tenant) as
`tenantcore serve` runs it on SQLite, in one process with the in-process sandbox, so CPU time
and RSS are the whole process's (product and sandbox together).

The first cycle starts with an empty token cache (a worker just started: one token fetch per
tenant); the following ones are the steady state (tokens live ~55 min, a sync every 5 min).

    .venv/bin/python -m benchmarks.usage_sync [--tenants 1000] [--mailboxes 36] [--sends 10]
        [--latency-ms 50] [--concurrency 4,16,32] [--profile] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import random
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from procrastinate.testing import InMemoryConnector

from benchmarks.stack import Stack, open_stack, table, write_result
from tenantcore.accounts.models import Account
from tenantcore.background import Worker
from tenantcore.core.db import unit_of_work
from tenantcore.domains.models import Domain
from tenantcore.logging import configure_logging
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
from tenantcore.settings import Settings
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus
from tenantcore.usage.sync import utc_midnight

PER_DOMAIN = 3
TRACE = "exchange:Get-MessageTraceV2"
BLOCKED = "exchange:Get-BlockedSenderAddress"
TOKEN = "login:token"  # noqa: S105 - an operation name
# Tenants seeded per executemany batch (bounds the seeding's transient memory).
CHUNK = 50
CYCLE_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.25
MB = 1024


@dataclass
class Seeded:
    tenant_ids: list[str]
    tenants: int
    mailboxes: int  # per tenant
    sends: int  # per mailbox
    trace_rows: int
    seconds: float
    rss_kb: int


@dataclass
class Cycle:
    label: str
    concurrency: int
    seconds: float
    synced: int
    calls: dict[str, int]
    cpu_seconds: float
    rss_before_kb: int
    peak_kb: int
    mailboxes_right: int
    mailboxes_total: int
    jobs: int | None = None  # tenant jobs queued during the cycle (embedded queue only)
    throttled: dict[str, int] = field(default_factory=dict)
    profile: str = ""

    def count(self, prefix: str) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith(prefix))


# --- memory -------------------------------------------------------------------------------


def rss_kb() -> int:
    """The process's resident set now (VmRSS), in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    """getrusage's peak RSS (KB on Linux), since the start or since `reset_peak_rss`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0: `5` to /proc/self/clear_refs), so
    each cycle's peak is its own and not the seeding's. False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- seeding ------------------------------------------------------------------------------


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


def jobs_queued(stack: Stack) -> int | None:
    """Jobs queued so far in the embedded (SQLite) queue: procrastinate's in-memory connector
    keeps every job's event list after the job is deleted, one per job ever deferred. None on
    PostgreSQL."""
    connector = stack.context.jobs.app.connector
    if isinstance(connector, InMemoryConnector):
        return len(connector.events)
    return None


# --- one cycle ----------------------------------------------------------------------------


async def _make_due(stack: Stack) -> None:
    """Every tenant due now, every counter back to 0 (so the cycle's result is checkable)."""
    now = stack.context.now()
    async with unit_of_work(stack.context.sessionmaker) as session:
        await session.execute(sa.update(Tenant).values(next_sync_at=now - timedelta(seconds=1)))
        await session.execute(sa.update(Mailbox).values(sends_today=0, usage_day=utc_day(now)))


async def _synced_since(stack: Stack, moment: datetime) -> int:
    async with unit_of_work(stack.context.sessionmaker, read_only=True) as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(Tenant).where(Tenant.last_sync_at >= moment)
        )
    return int(count or 0)


async def _mailboxes_right(stack: Stack, sends: int) -> tuple[int, int]:
    async with unit_of_work(stack.context.sessionmaker, read_only=True) as session:
        total = await session.scalar(sa.select(sa.func.count()).select_from(Mailbox))
        right = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Mailbox)
            .where(Mailbox.sends_today == sends, Mailbox.status == MailboxStatus.READY)
        )
    return int(right or 0), int(total or 0)


async def run_cycle(
    stack: Stack, seeded: Seeded, concurrency: int, label: str, *, profile: bool
) -> Cycle:
    await _make_due(stack)
    await stack.context.refresh_clock()
    gc.collect()
    await stack.reset_counters()
    reset_peak_rss()
    rss_before = rss_kb()
    start = stack.context.now()
    profiler = cProfile.Profile() if profile else None
    stop = asyncio.Event()
    worker = Worker(stack.context, concurrency=concurrency)
    cpu_started = time.process_time()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    jobs_before = jobs_queued(stack)
    task = asyncio.create_task(worker.run_forever(stop))
    synced = 0
    while synced < seeded.tenants:
        if time.perf_counter() - started > CYCLE_TIMEOUT_SECONDS:
            break
        await asyncio.sleep(POLL_SECONDS)
        synced = await _synced_since(stack, start)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
    peak = peak_rss_kb()
    jobs_after = jobs_queued(stack)
    stop.set()
    await task
    counters = await stack.counters()
    # Jobs a sweep queued for a tenant whose job was still running: let them finish (no-ops).
    await stack.worker.drain(max_passes=5)
    right, total = await _mailboxes_right(stack, seeded.sends)
    text = "" if profiler is None else profile_summary(profiler)
    return Cycle(
        label=label,
        concurrency=concurrency,
        seconds=seconds,
        synced=synced,
        calls={str(k): int(v) for k, v in counters["calls"].items()},
        cpu_seconds=cpu,
        rss_before_kb=rss_before,
        peak_kb=peak,
        mailboxes_right=right,
        mailboxes_total=total,
        jobs=None if jobs_after is None or jobs_before is None else jobs_after - jobs_before,
        throttled={str(k): int(v) for k, v in counters["throttled"].items()},
        profile=text,
    )


# --- profile ------------------------------------------------------------------------------

# Where a function's file lives -> the component it is counted under (first match wins).
COMPONENTS = (
    ("/tenantcore/sandbox/", "sandbox (emulated Microsoft)"),
    ("/tenantcore/", "TenantCore"),
    ("/procrastinate/", "procrastinate (job queue)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite"),
    ("/starlette/", "starlette (sandbox's ASGI)"),
    ("/httpx2/", "httpx2"),
    ("/pydantic", "pydantic"),
    ("/structlog/", "structlog"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio"),
    ("/selectors.py", "asyncio"),
    ("/benchmarks/", "benchmark's own polling"),
)


def _component(filename: str) -> str:
    for marker, name in COMPONENTS:
        if marker in filename:
            return name
    return "other"


def profile_summary(profiler: cProfile.Profile) -> str:
    """Own time (tottime) per component, C built-ins charged to their Python callers; then the
    top functions. cProfile sees the event loop's thread only (not aiosqlite's SQLite thread),
    and an async function's `ncalls` counts each resumption."""
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    for (filename, _, function), (_, _, tottime, _, callers) in raw.items():
        if "select.epoll" in function:
            own["idle: waiting in epoll"] = own.get("idle: waiting in epoll", 0.0) + tottime
            continue
        if filename != "~":
            name = _component(filename)
            own[name] = own.get(name, 0.0) + tottime
            continue
        if not callers:
            own["other"] = own.get("other", 0.0) + tottime
            continue
        for (caller_file, _, _), (_, _, caller_tt, _) in callers.items():
            name = _component(caller_file)
            own[name] = own.get(name, 0.0) + caller_tt
    total = sum(own.values()) or 1.0
    lines = ["| component | own CPU s (profiled) | share |", "|---|---|---|"]
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return "\n".join(lines) + "\n\n" + out.getvalue()


# --- report -------------------------------------------------------------------------------


def _mb(kb: int) -> str:
    return f"{kb / MB:.0f}"


def report(args: argparse.Namespace, seeded: Seeded, cycles: list[Cycle], load: str) -> str:
    tenants = seeded.tenants
    header = [
        "cycle",
        "worker concurrency",
        "tenants synced",
        "wall s",
        "< 60 s",
        "tenant jobs queued",
        "Exchange + Graph calls",
        "per tenant",
        "of which trace / blocked-senders",
        "token calls",
        "CPU s",
        "CPU µs per trace row",
        "RSS before MB",
        "peak RSS MB",
        "< 300 MB",
        f"mailboxes with sends_today = {seeded.sends}",
    ]
    rows = []
    for cycle in cycles:
        exchange = cycle.count("exchange:")
        rows.append(
            [
                cycle.label,
                cycle.concurrency,
                f"{cycle.synced}/{tenants}",
                f"{cycle.seconds:.1f}",
                "yes" if cycle.seconds < 60 and cycle.synced == tenants else "**no**",
                "?" if cycle.jobs is None else cycle.jobs,
                exchange + cycle.count("graph:"),
                f"{(exchange + cycle.count('graph:')) / tenants:.2f}",
                f"{cycle.calls.get(TRACE, 0)} / {cycle.calls.get(BLOCKED, 0)}",
                cycle.calls.get(TOKEN, 0),
                f"{cycle.cpu_seconds:.1f}",
                f"{cycle.cpu_seconds / seeded.trace_rows * 1e6:.0f}",
                _mb(cycle.rss_before_kb),
                _mb(cycle.peak_kb),
                "yes" if cycle.peak_kb < 300 * MB else "**no**",
                f"{cycle.mailboxes_right}/{cycle.mailboxes_total}",
            ]
        )
    title = (
        f"Usage sync: {tenants} tenants x {seeded.mailboxes} mailboxes x {seeded.sends} sends "
        f"({seeded.trace_rows:,} trace rows), {args.latency_ms:g} ms per Microsoft call"
    )
    one_page = all(
        c.calls.get(TRACE, 0) == tenants and c.calls.get(BLOCKED, 0) == tenants for c in cycles
    )
    throttled = {k: v for c in cycles for k, v in c.throttled.items()}
    notes = [
        "",
        f"Seeding (not timed in the cycles): {seeded.seconds:.1f} s; RSS after seeding "
        f"{_mb(seeded.rss_kb)} MB. Worker: `Worker.run_forever` (sweep every "
        f"{args.interval:g} s, the `worker_interval_seconds` default), SQLite, in-process "
        "sandbox; the cycle ends when every tenant's `last_sync_at` is past its start "
        f"(polled every {POLL_SECONDS:g} s).",
        "Exchange calls: the sandbox's counters (`host:operation`), Graph included (none "
        "expected); `login:token` counted apart (one per tenant when the token cache is empty, "
        f"then cached ~55 min). Each tenant synced once, so {TRACE} = {BLOCKED} = tenants means "
        f"exactly one of each per tenant: {'yes' if one_page else '**no**'}."
        + (f" Throttled: {throttled}." if throttled else ""),
        "Tenant jobs queued: `work_tenant` jobs deferred during the cycle (the embedded "
        "queue's count); more than one per tenant means a sweep queued a second job while the "
        "first still ran (the queueing lock covers waiting jobs only); the extra ones find "
        "nothing due.",
        "CPU: `time.process_time()` of the whole process over the cycle (event loop and "
        "aiosqlite's thread; TenantCore, the in-process sandbox and the worker's sweeps "
        "together), divided by the trace rows read. Peak RSS: `getrusage` ru_maxrss after "
        "resetting the high-water mark at the cycle's start (so the seeding's peak is not "
        "counted); RSS before = VmRSS at the start.",
        f"Machine: {os.cpu_count()} cores, load average at start {load}; another workload may "
        "share it.",
    ]
    return table(title, header, rows) + "\n".join(notes) + "\n"


async def main(args: argparse.Namespace) -> tuple[str, list[Cycle]]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    concurrencies = [int(x) for x in args.concurrency.split(",") if x.strip()]
    with tempfile.TemporaryDirectory() as scratch:
        async with open_stack(Path(scratch), worker_interval_seconds=args.interval) as stack:
            seeded = await seed(stack, args.tenants, args.mailboxes, args.sends)
            print(  # noqa: T201
                f"seeded {seeded.tenants} tenants, {seeded.trace_rows} trace rows in "
                f"{seeded.seconds:.1f} s (RSS {_mb(seeded.rss_kb)} MB)",
                flush=True,
            )
            if args.skip_cold:
                await warm_tokens(stack, seeded.tenant_ids)
            await stack.faults({"host": "*", "latency_ms": args.latency_ms})
            plan = [] if args.skip_cold else [(concurrencies[0], "first (token cache empty)")]
            plan += [(c, "steady state") for c in concurrencies]
            cycles = []
            for concurrency, label in plan:
                cycle = await run_cycle(stack, seeded, concurrency, label, profile=args.profile)
                print(  # noqa: T201
                    f"{label}, concurrency {concurrency}: {cycle.seconds:.1f} s, "
                    f"{cycle.synced} synced, CPU {cycle.cpu_seconds:.1f} s, "
                    f"peak {_mb(cycle.peak_kb)} MB",
                    flush=True,
                )
                cycles.append(cycle)
    return report(args, seeded, cycles, load), cycles


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--mailboxes", type=int, default=36, help="per tenant (3 per domain)")
    parser.add_argument("--sends", type=int, default=10, help="per mailbox, one recipient each")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument(
        "--concurrency",
        default="4,16,32",
        help="worker concurrencies, comma-separated; the first also runs the cold cycle",
    )
    parser.add_argument(
        "--interval", type=float, default=Settings().worker_interval_seconds, help="sweep s"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each cycle")
    parser.add_argument(
        "--skip-cold", action="store_true", help="no first cycle with an empty token cache"
    )
    parser.add_argument("--write", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args()
    configure_logging("console", "warning")
    text, cycles = asyncio.run(main(args))
    print(text)  # noqa: T201
    for cycle in cycles:
        if cycle.profile:
            print(f"--- profile: {cycle.label}, concurrency {cycle.concurrency}")  # noqa: T201
            print(cycle.profile)  # noqa: T201
    if args.write:
        print(f"written to {write_result('usage_sync', text)}")  # noqa: T201


if __name__ == "__main__":
    cli()
