"""Benchmark 3 — usage sync at scale.

1,000 sandbox tenants x 36 mailboxes (12 domains x 3) x 10 single-recipient sends each, every
Microsoft call delayed 50 ms: the wall time of one full usage-sync cycle (every tenant due,
until every tenant has synced), the Microsoft calls it makes, the process CPU time per trace row
and the peak RSS. Targets: a cycle under 60 s, at most 2 calls per tenant when the trace fits
one page, peak RSS under 300 MB.

The state is seeded directly, not built through the API (36,000 mailboxes would take hours;
see `benchmarks.usage_seed`). The cycle itself is the product's: the worker's
`run_forever` (sweep every `worker_interval_seconds`, a `work_tenant` job per due tenant) as
`tenantcore serve` runs it on SQLite, in one process with the in-process sandbox, so CPU time
and RSS are the whole process's (product and sandbox together).

The first cycle starts with an empty token cache (a worker just started: one token fetch per
tenant); the following ones are the steady state (tokens live ~55 min, a sync every 5 min).

The seeding lives in `benchmarks.usage_seed`; the process measurements (RSS, queued jobs,
cProfile summary) in `benchmarks.usage_measure`.

    .venv/bin/python -m benchmarks.usage_sync [--tenants 1000] [--mailboxes 36] [--sends 10]
        [--latency-ms 50] [--concurrency 4,16,32] [--profile] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks.stack import Stack, emit, open_stack, table
from benchmarks.usage_measure import (
    jobs_queued,
    peak_rss_kb,
    profile_summary,
    reset_peak_rss,
    rss_kb,
)
from benchmarks.usage_seed import Seeded, seed, warm_tokens
from tenantcore.background import Worker
from tenantcore.core.db import unit_of_work
from tenantcore.logging import configure_logging
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.sandbox.timeutil import utc_day
from tenantcore.settings import Settings
from tenantcore.tenants.models import Tenant

TRACE = "exchange:Get-MessageTraceV2"
BLOCKED = "exchange:Get-BlockedSenderAddress"
TOKEN = "login:token"  # noqa: S105 - an operation name
CYCLE_TIMEOUT_SECONDS = 600.0
POLL_SECONDS = 0.25
MB = 1024


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
    emit("usage_sync", text, write=args.write)
    for cycle in cycles:
        if cycle.profile:
            print(f"--- profile: {cycle.label}, concurrency {cycle.concurrency}")  # noqa: T201
            print(cycle.profile)  # noqa: T201


if __name__ == "__main__":
    cli()
