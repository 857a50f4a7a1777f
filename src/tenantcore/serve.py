"""`tenantcore serve`: migrations, then the API, the background worker and, in sandbox mode,
the sandbox (its own HTTP and SMTP ports, and in-process for TenantCore's own calls)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx2
import structlog
import uvicorn

from tenantcore import migrations
from tenantcore.app import create_app
from tenantcore.assembly import IN_PROCESS_CONTROL_URL, open_context, sandbox_settings
from tenantcore.core.worker import Worker, default_reconcilers
from tenantcore.settings import Settings

log = structlog.get_logger(__name__)


async def run_service(settings: Settings, *, host: str, port: int) -> None:
    await asyncio.to_thread(migrations.upgrade, settings.resolved_database_url)
    async with contextlib.AsyncExitStack() as stack:
        transport: httpx2.AsyncBaseTransport | None = None
        control_url: str | None = None
        if settings.microsoft.mode == "sandbox":
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
        context = await stack.enter_async_context(
            open_context(settings, microsoft_transport=transport, sandbox_control_url=control_url)
        )
        worker = Worker(context, default_reconcilers())
        stop = asyncio.Event()
        worker_task = asyncio.create_task(worker.run_forever(stop))
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
        log.info("TenantCore API listening", url=f"http://{host}:{port}", docs="/docs")
        try:
            await api.serve()
        finally:
            stop.set()
            await worker_task
