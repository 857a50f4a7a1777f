"""The long-running entry points.

`tenantcore serve`: migrations, then the API, the background worker (unless `--no-worker`) and,
in sandbox mode, the sandbox — its own HTTP and SMTP ports for customers, and in-process for
TenantCore's own calls — unless the sandbox runs as a process of its own
(`TENANTCORE_SANDBOX__EMBEDDED=false`).

`tenantcore worker`: a worker process (sweep + jobs) against PostgreSQL; run any number.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import AsyncIterator

import httpx2
import structlog
import uvicorn

from tenantcore import migrations
from tenantcore.app import create_app
from tenantcore.assembly import (
    IN_PROCESS_CONTROL_URL,
    loopback_control_url,
    open_context,
    sandbox_settings,
)
from tenantcore.background import Worker
from tenantcore.core.context import AppContext
from tenantcore.core.db import is_sqlite
from tenantcore.settings import Settings

log = structlog.get_logger(__name__)


def tune_garbage_collection() -> None:
    """Once everything is imported and built: move it out of the collector's sight
    (`gc.freeze`) and let the young generation grow before a collection. A request allocates
    many short-lived objects and almost no cycles, so the default threshold of 700 spends
    time re-scanning objects that live for the whole process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


class WorkerNeedsPostgres(Exception):
    """`tenantcore worker` shares its queue with other processes: SQLite cannot."""


@contextlib.asynccontextmanager
async def _service_context(
    settings: Settings, stack: contextlib.AsyncExitStack, *, embed_sandbox: bool
) -> AsyncIterator[AppContext]:
    transport: httpx2.AsyncBaseTransport | None = None
    control_url: str | None = None
    if settings.microsoft.mode == "sandbox" and embed_sandbox:
        # The product reaches the sandbox through the sandbox's own ASGI app (no sockets),
        # while customers' SMTP clients and curl reach it on its ports.
        from tenantcore.sandbox.app import create_sandbox_app
        from tenantcore.sandbox.bootstrap import config_from_settings
        from tenantcore.sandbox.context import Sandbox
        from tenantcore.sandbox.server import SandboxServer

        sandbox = Sandbox(settings.data_dir, config_from_settings(settings.sandbox))
        stack.callback(sandbox.close)
        server = SandboxServer(
            sandbox,
            host=settings.sandbox.host,
            http_port=settings.sandbox.http_port,
            smtp_port=settings.sandbox.smtp_port,
        )
        addresses = await server.start()
        stack.push_async_callback(server.stop)
        transport = httpx2.ASGITransport(app=create_sandbox_app(sandbox))
        control_url = IN_PROCESS_CONTROL_URL
        settings = sandbox_settings(settings, in_process=True)
        log.info(
            "sandbox listening",
            http=addresses.http_url,
            smtp=f"{addresses.host}:{addresses.smtp_port}",
        )
    elif settings.microsoft.mode == "sandbox":
        control_url = loopback_control_url(settings)
        settings = sandbox_settings(settings, in_process=False)
        log.info("using the sandbox at", url=control_url)
    async with open_context(
        settings, microsoft_transport=transport, sandbox_control_url=control_url
    ) as context:
        yield context


async def run_service(settings: Settings, *, host: str, port: int, worker: bool = True) -> None:
    await asyncio.to_thread(migrations.upgrade, settings.resolved_database_url)
    async with contextlib.AsyncExitStack() as stack:
        context = await stack.enter_async_context(
            _service_context(settings, stack, embed_sandbox=settings.sandbox.embedded)
        )
        stop = asyncio.Event()
        worker_task = None
        if worker:
            worker_task = asyncio.create_task(Worker(context).run_forever(stop))
        elif not context.jobs.shared:
            log.warning("no worker: with SQLite the jobs queue lives in this process only")
        api = uvicorn.Server(
            uvicorn.Config(
                create_app(context),
                host=host,
                port=port,
                lifespan="off",
                access_log=False,
                log_level=settings.log_level,
                timeout_graceful_shutdown=5,
            )
        )
        tune_garbage_collection()
        log.info("TenantCore API listening", url=f"http://{host}:{port}", docs="/docs")
        try:
            await api.serve()
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task


async def run_worker(settings: Settings, *, concurrency: int | None = None) -> None:
    """A worker process: migrations are the API's job, but running them here too is harmless
    (they are serialized and idempotent) and lets workers start first."""
    if is_sqlite(settings.resolved_database_url):
        raise WorkerNeedsPostgres
    await asyncio.to_thread(migrations.upgrade, settings.resolved_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        context = await stack.enter_async_context(
            _service_context(settings, stack, embed_sandbox=False)
        )
        worker = Worker(context, concurrency=concurrency)
        log.info("TenantCore worker running", name=worker.name, concurrency=worker.concurrency)
        await worker.run_forever(stop)
