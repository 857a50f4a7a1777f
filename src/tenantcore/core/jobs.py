"""Background jobs on procrastinate (DESIGN.md section 5).

Jobs are nudges, never the truth: the rows say what is unfinished (a tenant's
`next_attempt_at`, a mailbox's `next_check_at`, a pending policy, `next_sync_at`), a sweep
re-enqueues whatever is due, and a lost job costs one sweep interval, nothing more.

- PostgreSQL: procrastinate's own tables (created by TenantCore's migrations) hold the queue, so
  any number of `tenantcore worker` processes on any machines share it.
- SQLite (the embedded default): procrastinate's in-memory connector, worked by the in-process
  worker of `tenantcore serve`; a restart empties it and the first sweep refills it.

One job per tenant at a time is queued (procrastinate's queueing lock); running it takes the
tenant lock (`tenantcore.core.locks`) so no two workers touch one tenant's Exchange at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Literal

import procrastinate
import structlog
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from procrastinate.testing import InMemoryConnector
from procrastinate.utils import utcnow
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tenantcore.core.db import is_sqlite

log = structlog.get_logger(__name__)

TENANT_TASK = "tenantcore.work_tenant"
DOMAINS_TASK = "tenantcore.recheck_domains"
WEBHOOKS_TASK = "tenantcore.deliver_webhooks"
# The key under which a running job finds the process's AppContext (procrastinate's
# `additional_context`), so tasks need no module-level state.
CONTEXT_KEY = "tenantcore"

TaskBody = Callable[..., Awaitable[None]]


def _conninfo(database_url: str) -> str:
    """libpq connection string from the SQLAlchemy URL (`postgresql+psycopg://…`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class EmbeddedConnector(InMemoryConnector):
    """procrastinate's in-memory queue, fit to run for months in `tenantcore serve`.

    The stock connector is built for tests: it records every query and every job's events
    forever, and each fetch rebuilds the set of held locks once per waiting job (cubic in the
    jobs of a sweep: at 1,000 tenants the queue alone took most of a usage-sync cycle's CPU,
    see benchmarks/results/usage_sync.md). This keeps only live jobs and fetches in one pass.
    """

    async def generic_execute(
        self, query: str, suffix: Literal["run", "one", "all"], **arguments: Any
    ) -> Any:
        handler = getattr(self, f"{self.reverse_queries[query]}_{suffix}")
        return await handler(**arguments)

    async def fetch_job_one(self, queues: Iterable[str] | None, worker_id: int) -> dict[str, Any]:
        held = {job["lock"] for job in self.jobs.values() if job["status"] == "doing"}
        now = utcnow()
        best: dict[str, Any] | None = None
        for job in self.jobs.values():
            if (
                job["status"] == "todo"
                and (queues is None or job["queue_name"] in queues)
                and (not job["scheduled_at"] or job["scheduled_at"] <= now)
                and (job["lock"] is None or job["lock"] not in held)
                and (
                    best is None or (-job["priority"], job["id"]) < (-best["priority"], best["id"])
                )
            ):
                best = job
        if best is None:
            return {"id": None}
        best["status"] = "doing"
        best["worker_id"] = worker_id
        return best

    async def finish_job_run(self, job_id: int, status: str, delete_job: bool) -> None:
        await super().finish_job_run(job_id, status, delete_job)
        if delete_job:
            self.events.pop(job_id, None)


def build_job_app(database_url: str, pool_size: int = 4) -> procrastinate.App:
    connector: procrastinate.BaseConnector
    if is_sqlite(database_url):
        connector = EmbeddedConnector()
    else:
        connector = procrastinate.PsycopgConnector(
            conninfo=_conninfo(database_url), min_size=1, max_size=pool_size
        )
    return procrastinate.App(connector=connector)


class JobQueue:
    """What services use to ask for background work; the procrastinate app behind it."""

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app
        self._in_flight: set[asyncio.Task[bool]] = set()

    @property
    def shared(self) -> bool:
        """True when the queue lives in PostgreSQL and other processes may work it."""
        return not isinstance(self.app.connector, InMemoryConnector)

    def register(self, name: str, body: TaskBody) -> None:
        """Register a task. `body(context, **kwargs)` runs with the worker's AppContext."""

        async def run(job_context: procrastinate.JobContext, /, **kwargs: Any) -> None:
            await body(job_context.additional_context[CONTEXT_KEY], **kwargs)

        run.__name__ = name.rsplit(".", 1)[-1]
        # No retries here: a failed job is simply redone by the next sweep if the rows say so.
        self.app.task(name=name, pass_context=True)(run)

    async def nudge(self, name: str, lock: str, **kwargs: Any) -> bool:
        """Queue a job unless one with the same `lock` is already waiting. Never raises: the
        rows keep the work, and the next sweep queues it if this fails."""
        try:
            await self.app.configure_task(name, queueing_lock=lock).defer_async(**kwargs)
        except AlreadyEnqueued:
            return False
        except Exception as exc:  # noqa: BLE001 - see docstring
            log.warning("could not queue background job", task=name, error=repr(exc))
            return False
        return True

    async def nudge_tenant(self, tenant_pk: str) -> bool:
        return await self.nudge(TENANT_TASK, f"tenant:{tenant_pk}", tenant_pk=tenant_pk)

    def nudge_tenant_after_commit(self, session: AsyncSession, tenant_pk: str) -> None:
        """Queue the tenant's job once `session` commits (a job started earlier might not see
        the new rows yet; a rollback queues nothing)."""
        self._after_commit(session, lambda: self.nudge_tenant(tenant_pk))

    def nudge_webhooks_after_commit(self, session: AsyncSession) -> None:
        """Queue the webhook dispatcher once `session` commits."""
        self._after_commit(session, self.nudge_webhooks)

    def _after_commit(
        self, session: AsyncSession, nudge: Callable[[], Coroutine[Any, Any, bool]]
    ) -> None:
        def queue(_: Session) -> None:
            task = asyncio.get_running_loop().create_task(nudge())
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

        event.listen(session.sync_session, "after_commit", queue, once=True)

    async def nudge_domain_rechecks(self) -> bool:
        return await self.nudge(DOMAINS_TASK, "domains")

    async def nudge_webhooks(self) -> bool:
        return await self.nudge(WEBHOOKS_TASK, "webhooks")

    async def retry_stalled(self, seconds_since_heartbeat: float) -> int:
        """Put back the jobs of workers that died (no heartbeat) so their queueing locks and
        rows do not linger. PostgreSQL only: the in-memory queue dies with its worker."""
        if not self.shared:
            return 0
        stalled = list(
            await self.app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=seconds_since_heartbeat
            )
        )
        for job in stalled:
            try:
                await self.app.job_manager.retry_job(job)
            except Exception as exc:  # noqa: BLE001 - a job of the same lock may be waiting
                log.info("stalled job not retried", job_id=job.id, error=repr(exc))
                if job.id is not None:
                    await self.app.job_manager.finish_job_by_id_async(
                        job.id, status=Status.FAILED, delete_job=True
                    )
        return len(stalled)

    async def pending(self) -> int:
        """Jobs waiting or running (tests and `drain` use it to settle)."""
        manager = self.app.job_manager
        waiting = await manager.list_jobs_async(status=Status.TODO.value)
        running = await manager.list_jobs_async(status=Status.DOING.value)
        return len(list(waiting)) + len(list(running))
