"""Wire the parts together for one process: database, connector, sandbox control, context.

Entry points (`tenantcore serve`, the CLI, tests) call `open_context`; nothing else builds
these objects, and nothing reads settings from the environment below this point.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx2
from pydantic import SecretStr

from tenantcore.accounts.last_used import KeyUseRecorder
from tenantcore.background import register_tasks
from tenantcore.core.context import AppContext
from tenantcore.core.db import create_engine, create_sessionmaker
from tenantcore.core.jobs import JobQueue, build_job_app
from tenantcore.core.locks import TenantLocks
from tenantcore.core.ratelimit import RateLimiter
from tenantcore.core.reads import ReadPool
from tenantcore.enforcement.exchange_state import ExchangeStateCache
from tenantcore.microsoft.connector import build_connector
from tenantcore.microsoft.sandbox_control import SandboxControl
from tenantcore.settings import Settings

# The sandbox registers TenantCore's app with this secret unless one is configured. It only
# ever unlocks the local sandbox.
SANDBOX_CLIENT_SECRET = "tenantcore-sandbox-secret"  # noqa: S105

# Base URLs under which the sandbox app answers in-process (routed by Host header).
IN_PROCESS_SANDBOX = {
    "login_base_url": "http://login.microsoftonline.com",
    "graph_base_url": "http://graph.microsoft.com",
    "exchange_base_url": "http://outlook.office365.com",
}
IN_PROCESS_CONTROL_URL = "http://sandbox.local"


def loopback_control_url(settings: Settings) -> str:
    """The sandbox's control API when it runs in its own process."""
    return f"http://{settings.sandbox.host}:{settings.sandbox.http_port}"


def sandbox_settings(settings: Settings, *, in_process: bool) -> Settings:
    """Settings pointing the connector at the sandbox (in-process or its loopback URL)."""
    microsoft = settings.microsoft
    updates: dict[str, object] = {}
    if microsoft.client_secret is None:
        updates["client_secret"] = SecretStr(SANDBOX_CLIENT_SECRET)
    # Sending tools reach the sandbox's SMTP side (when it has a fixed port).
    updates.update(smtp_host=settings.sandbox.host, smtp_port=settings.sandbox.smtp_port)
    if in_process:
        updates.update(IN_PROCESS_SANDBOX)
    else:
        base = loopback_control_url(settings)
        updates.update(login_base_url=base, graph_base_url=base, exchange_base_url=base)
    return settings.model_copy(update={"microsoft": microsoft.model_copy(update=updates)})


@asynccontextmanager
async def open_context(
    settings: Settings,
    *,
    microsoft_transport: httpx2.AsyncBaseTransport | None = None,
    sandbox_control_url: str | None = None,
) -> AsyncIterator[AppContext]:
    """Build the context; `sandbox_control_url` is given in sandbox mode only."""
    engine = create_engine(settings.resolved_database_url)
    reads = ReadPool(settings.resolved_database_url, settings.resolved_read_threads)
    connector = build_connector(settings.microsoft, transport=microsoft_transport)
    sandbox = (
        SandboxControl(connector.http, sandbox_control_url)
        if settings.microsoft.mode == "sandbox" and sandbox_control_url
        else None
    )
    jobs = JobQueue(
        build_job_app(settings.resolved_database_url, pool_size=settings.worker_concurrency + 2)
    )
    register_tasks(jobs)
    sessionmaker = create_sessionmaker(engine)
    key_use = KeyUseRecorder(sessionmaker)
    try:
        async with jobs.app.open_async():
            context = AppContext(
                settings=settings,
                engine=engine,
                sessionmaker=sessionmaker,
                reads=reads,
                connector=connector,
                sandbox=sandbox,
                jobs=jobs,
                tenant_locks=TenantLocks(engine),
                rate_limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
                exchange_states=ExchangeStateCache(
                    timedelta(seconds=settings.exchange_state_max_age_seconds)
                ),
                key_use=key_use,
            )
            # Token lifetimes are judged on the issuer's clock, which in sandbox mode is the
            # sandbox's: a clock move past a token's expiry then fetches a new one up front
            # instead of spending a call on a 401.
            connector.tokens.clock = lambda: context.now().timestamp()
            yield context
    finally:
        await key_use.flush()
        await connector.aclose()
        await asyncio.to_thread(reads.close)
        await engine.dispose()
