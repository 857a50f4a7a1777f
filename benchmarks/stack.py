"""TenantCore and its sandbox in one process for benchmarks: the real app, connector, worker
and sandbox, wired as `tenantcore serve` wires them (sandbox reached in-process), on a scratch
SQLite database or PostgreSQL. Shared by the benchmark scripts; not a test fixture."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from tenantcore import migrations
from tenantcore.accounts.service import issue_key
from tenantcore.app import create_app
from tenantcore.assembly import IN_PROCESS_CONTROL_URL, open_context, sandbox_settings
from tenantcore.background import Worker
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.sandbox.app import create_sandbox_app
from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.runtime import SandboxConfig
from tenantcore.settings import MicrosoftSettings, Settings

PASSWORD = "SecureP@ssw0rd!"  # noqa: S105 - a sandbox mailbox password


@dataclass
class Stack:
    context: AppContext
    sandbox: Sandbox
    api: httpx2.AsyncClient
    control: httpx2.AsyncClient
    worker: Worker

    async def faults(self, *rules: dict[str, Any]) -> None:
        response = await self.control.put("/_sandbox/faults", json={"rules": list(rules)})
        response.raise_for_status()

    async def counters(self) -> dict[str, Any]:
        counters: dict[str, Any] = (await self.control.get("/_sandbox/counters")).json()
        return counters

    async def reset_counters(self) -> None:
        (await self.control.delete("/_sandbox/counters")).raise_for_status()

    async def connect_tenant(self) -> str:
        tenant_id = str(uuid.uuid4())
        response = await self.api.post("/v1/tenants", json={"tenant_id": tenant_id})
        response.raise_for_status()
        await self.worker.drain()
        return tenant_id

    async def add_domain(self, tenant_id: str, domain: str) -> None:
        added = await self.api.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": domain})
        added.raise_for_status()
        verified = await self.api.post(f"/v1/tenants/{tenant_id}/domains/{domain}/verify")
        verified.raise_for_status()


@contextlib.asynccontextmanager
async def open_stack(
    directory: Path,
    *,
    sandbox_config: SandboxConfig | None = None,
    database_url: str | None = None,
    exchange_max_concurrency: int = 3,
    worker_concurrency: int = 4,
    worker_interval_seconds: float = 0.05,
) -> AsyncIterator[Stack]:
    database_url = database_url or f"sqlite+aiosqlite:///{directory / 'tenantcore.db'}"
    migrations.upgrade(database_url)
    settings = sandbox_settings(
        Settings(
            data_dir=directory,
            database_url=database_url,
            rate_limit_per_minute=0,
            worker_concurrency=worker_concurrency,
            worker_interval_seconds=worker_interval_seconds,
            mailbox_propagation_seconds=0,
            microsoft=MicrosoftSettings(exchange_max_concurrency=exchange_max_concurrency),
        ),
        in_process=True,
    )
    config = sandbox_config or SandboxConfig(
        propagation_min_seconds=0,
        propagation_max_seconds=0,
        trace_delay_min_seconds=0,
        trace_delay_max_seconds=0,
        exchange_max_concurrency=exchange_max_concurrency,
    )
    sandbox = Sandbox(directory / "sandbox", config)
    transport = httpx2.ASGITransport(app=create_sandbox_app(sandbox))
    try:
        async with open_context(
            settings, microsoft_transport=transport, sandbox_control_url=IN_PROCESS_CONTROL_URL
        ) as context:
            async with unit_of_work(context.sessionmaker) as session:
                key = (await issue_key(session, "bench")).key
            api = httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=create_app(context)),
                base_url="http://api.bench",
                headers={"Authorization": f"Bearer {key}"},
                timeout=600,
            )
            control = httpx2.AsyncClient(
                transport=transport, base_url=IN_PROCESS_CONTROL_URL, timeout=60
            )
            try:
                yield Stack(context, sandbox, api, control, Worker(context))
            finally:
                await api.aclose()
                await control.aclose()
    finally:
        sandbox.close()


def table(title: str, header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (printed, and written to benchmarks/results/)."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def emit(name: str, text: str, *, write: bool) -> None:
    """Print a benchmark's result and, with `write`, keep it in benchmarks/results/."""
    print(text)  # noqa: T201
    if write:
        print(f"written to {write_result(name, text)}")  # noqa: T201


def write_result(name: str, text: str) -> Path:
    path = Path(__file__).parent / "results" / f"{name}.md"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    path.write_text(f"<!-- written by benchmarks/{name}.py on {stamp} -->\n\n{text}")
    return path
