"""Background work: the sweep that finds due work in the rows, the per-tenant job that does it,
and the worker that runs both (inside `tenantcore serve`, or as `tenantcore worker`).

All of a tenant's Exchange work (bootstrap, mailbox provisioning and readiness, enforcement
provisioning, usage sync, SMTP AUTH check) is one job, `work_tenant`, run under the tenant lock: two workers
never work one tenant at once, while different tenants run in parallel on every worker. Inside
the job, mailboxes advance in parallel, each call within the tenant's Exchange concurrency
budget. The sweep
runs in every worker process; procrastinate's queueing lock keeps one waiting job per tenant
however many sweeps find it due.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable

import structlog

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.jobs import CONTEXT_KEY, DOMAINS_TASK, TENANT_TASK, WEBHOOKS_TASK, JobQueue
from tenantcore.domains.jobs import due_domains, recheck_due_domains
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.enforcement.service import provision_tenant
from tenantcore.mailboxes import repository as mailboxes_repository
from tenantcore.mailboxes.provisioning import advance_mailbox
from tenantcore.sending import repository as sending_repository
from tenantcore.sending.jobs import advance_sending_app
from tenantcore.tenants import repository as tenants_repository
from tenantcore.tenants.bootstrap import advance_tenant
from tenantcore.tenants.smtp_auth import check_smtp_auth
from tenantcore.usage import repository as usage_repository
from tenantcore.usage.sync import sync_tenant
from tenantcore.webhooks import repository as webhooks_repository
from tenantcore.webhooks.delivery import deliver_due

log = structlog.get_logger(__name__)

# Tenants queued per sweep; the rest wait for the next one (a sweep is one interval).
SWEEP_LIMIT = 1000
# Mailboxes advanced per tenant job; more are picked up by the next job of the tenant.
MAILBOXES_PER_JOB = 50
# A worker silent for this long is dead; its running jobs are put back.
STALLED_WORKER_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0


def register_tasks(jobs: JobQueue) -> None:
    jobs.register(TENANT_TASK, work_tenant)
    jobs.register(DOMAINS_TASK, _recheck_domains)
    jobs.register(WEBHOOKS_TASK, _deliver_webhooks)


async def due_tenants(context: AppContext, limit: int = SWEEP_LIMIT) -> list[str]:
    """Tenants with any due work, as the rows say."""
    now = context.now()
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        found = [
            *await tenants_repository.due_for_bootstrap(session, now, limit),
            *await mailboxes_repository.tenants_with_due_provisioning(session, now, limit),
            *await enforcement_repository.tenants_due(session, now, limit),
            *await usage_repository.tenants_due(session, now, limit),
            *await tenants_repository.due_for_smtp_auth_check(session, now, limit),
            *await sending_repository.tenants_due(session, now, limit),
        ]
    return list(dict.fromkeys(found))[:limit]


async def sweep(context: AppContext) -> int:
    """Queue a job for every tenant with due work (and the DNS re-checks when due); put back
    jobs of dead workers. Returns how many things were due."""
    try:
        await context.refresh_clock()
    except Exception as exc:  # noqa: BLE001 - a sandbox hiccup must not stop the sweep
        log.warning("could not read the sandbox clock", error=repr(exc))
    tenants = await due_tenants(context)
    for tenant_pk in tenants:
        await context.jobs.nudge_tenant(tenant_pk)
    due = len(tenants)
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        stale_domains = await due_domains(context, session, 1)
        webhooks_due = await webhooks_repository.any_due(session, context.now())
    if stale_domains:
        await context.jobs.nudge_domain_rechecks()
        due += 1
    if webhooks_due:
        await context.jobs.nudge_webhooks()
        due += 1
    await context.jobs.retry_stalled(STALLED_WORKER_SECONDS)
    return due


async def work_tenant(context: AppContext, tenant_pk: str) -> None:
    """Everything due for one tenant, in order: bootstrap, mailboxes (a mailbox turning ready
    re-provisions enforcement), enforcement, usage, the SMTP AUTH check. Skipped if another worker holds the
    tenant: that one does the work, and the next sweep brings back anything left."""
    async with context.tenant_locks.hold(tenant_pk) as held:
        if not held:
            log.debug("tenant busy elsewhere", tenant_pk=tenant_pk)
            return
        now = context.now()
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            bootstrap_due = await tenants_repository.due_for_bootstrap(session, now, 1, tenant_pk)
            mailboxes = await mailboxes_repository.due_for_provisioning(
                session, now, MAILBOXES_PER_JOB, tenant_pk
            )
        if bootstrap_due:
            await _step("bootstrap", advance_tenant(context, tenant_pk), tenant_pk)
        # Mailboxes move in parallel (`tenant_parallelism`); the connector holds each call to
        # the tenant's Exchange concurrency budget, and the lock keeps other workers out.
        slots = asyncio.Semaphore(context.settings.tenant_parallelism)

        async def advance(mailbox_pk: str) -> None:
            async with slots:
                await _step("mailbox", advance_mailbox(context, mailbox_pk), tenant_pk)

        await asyncio.gather(*(advance(mailbox_pk) for mailbox_pk in mailboxes))
        now = context.now()
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            enforcement_due = await enforcement_repository.tenants_due(session, now, 1, tenant_pk)
            sync_due = await usage_repository.tenants_due(session, now, 1, tenant_pk)
            smtp_auth_due = await tenants_repository.due_for_smtp_auth_check(
                session, now, 1, tenant_pk
            )
            sending_app_due = await sending_repository.tenants_due(session, now, 1, tenant_pk)
        if enforcement_due:
            await _step("enforcement", provision_tenant(context, tenant_pk), tenant_pk)
        if sync_due:
            await _step("usage sync", sync_tenant(context, tenant_pk), tenant_pk)
        if smtp_auth_due:
            await _step("SMTP AUTH check", check_smtp_auth(context, tenant_pk), tenant_pk)
        if sending_app_due:
            await _step("sending app", advance_sending_app(context, tenant_pk), tenant_pk)


async def _step(name: str, work: Awaitable[None], tenant_pk: str) -> None:
    """A failing step is logged and does not stop the tenant's other steps; its row keeps it
    due, so a later job retries it."""
    try:
        await work
    except Exception as exc:
        log.error("background step failed", step=name, tenant_pk=tenant_pk, exc_info=exc)


async def _recheck_domains(context: AppContext) -> None:
    while await recheck_due_domains(context):
        pass


async def _deliver_webhooks(context: AppContext) -> None:
    await deliver_due(context)


class Worker:
    """Runs queued jobs and the sweep, for one process."""

    def __init__(self, context: AppContext, *, concurrency: int | None = None) -> None:
        self.context = context
        self.concurrency = concurrency or context.settings.worker_concurrency
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    async def drain(self, max_passes: int = 100) -> int:
        """Sweep and run jobs until nothing is due and the queue is empty (tests and one-shot
        runs use it to settle). Returns how many things were found due."""
        total = 0
        for _ in range(max_passes):
            due = await sweep(self.context)
            await self._run_jobs(wait=False)
            total += due
            if due == 0 and await self.context.jobs.pending() == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        jobs = asyncio.create_task(self._run_jobs(wait=True), name="procrastinate worker")
        try:
            await _every(self.context.settings.worker_interval_seconds, stop, self._sweep)
        finally:
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs

    async def _sweep(self) -> None:
        try:
            await sweep(self.context)
        except Exception as exc:
            log.error("sweep failed", exc_info=exc)

    async def _run_jobs(self, *, wait: bool) -> None:
        await self.context.jobs.app.run_worker_async(
            name=self.name,
            concurrency=self.concurrency,
            wait=wait,
            install_signal_handlers=False,
            additional_context={CONTEXT_KEY: self.context},
            delete_jobs="always",
            listen_notify=wait,
            fetch_job_polling_interval=self.context.settings.worker_interval_seconds,
            update_heartbeat_interval=HEARTBEAT_SECONDS,
            stalled_worker_timeout=STALLED_WORKER_SECONDS,
            shutdown_graceful_timeout=10,
        )


async def _every(
    seconds: float, stop: asyncio.Event, action: Callable[[], Awaitable[None]]
) -> None:
    while not stop.is_set():
        await action()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
