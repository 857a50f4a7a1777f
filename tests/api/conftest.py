"""The API under test: a real app on a scratch database (SQLite, or PostgreSQL when
`TENANTCORE_TEST_DATABASE_URL` is set), talking to an in-process sandbox through the connector,
and called over HTTP semantics through an ASGI transport."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tenantcore.accounts.service import issue_key
from tenantcore.app import create_app
from tenantcore.assembly import IN_PROCESS_CONTROL_URL, open_context, sandbox_settings
from tenantcore.background import Worker
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.sandbox.app import create_sandbox_app
from tenantcore.sandbox.context import Sandbox
from tenantcore.settings import MicrosoftSettings, Settings
from tests.conftest import fast_config, sandbox_start, seconds_until_hour
from tests.databases import migrated_database


@dataclass
class Api:
    context: AppContext
    worker: Worker
    transport: httpx2.ASGITransport
    control: httpx2.AsyncClient
    key: str
    clients: list[httpx2.AsyncClient]
    # The in-process sandbox itself, e.g. to serve its SMTP side on a port for smtplib.
    sandbox: Sandbox

    def client(self, key: str | None = None, **headers: str) -> httpx2.AsyncClient:
        """An HTTP client for the API; authenticated with `key` (default: the account's)."""
        all_headers = dict(headers)
        if key is not None or not headers:
            all_headers.setdefault("Authorization", f"Bearer {key or self.key}")
        client = httpx2.AsyncClient(
            transport=self.transport, base_url="http://api.test", headers=all_headers
        )
        self.clients.append(client)
        return client

    @property
    def http(self) -> httpx2.AsyncClient:
        return self.client()

    async def new_key(self, account: str) -> str:
        async with unit_of_work(self.context.sessionmaker) as session:
            return (await issue_key(session, account)).key

    async def connect_tenant(self, key: str | None = None) -> str:
        """Connect a new sandbox tenant and let discovery and bootstrap finish."""
        tenant_id = str(uuid.uuid4())
        response = await self.client(key).post("/v1/tenants", json={"tenant_id": tenant_id})
        assert response.status_code == 201, response.text
        await self.worker.drain()
        return tenant_id

    async def sandbox_config(self, **changes: Any) -> None:
        (await self.control.patch("/_sandbox/config", json=changes)).raise_for_status()

    async def advance_sandbox_clock(self, seconds: float) -> None:
        response = await self.control.post("/_sandbox/clock", json={"advance_seconds": seconds})
        response.raise_for_status()

    async def sandbox_now(self) -> datetime:
        return datetime.fromisoformat((await self.control.get("/_sandbox/clock")).json()["now"])

    async def move_sandbox_clock_to_hour(self, hour: int) -> None:
        """Advance the sandbox clock to the next HH:00 UTC (`seconds_until_hour`)."""
        await self.advance_sandbox_clock(seconds_until_hour(await self.sandbox_now(), hour))


@contextlib.asynccontextmanager
async def open_api(tmp_path: Path, **microsoft: Any) -> AsyncIterator[Api]:
    """The harness; `microsoft` overrides connector settings (retries, timeouts)."""
    with migrated_database(tmp_path) as database_url:
        settings = sandbox_settings(
            Settings(
                data_dir=tmp_path,
                database_url=database_url,
                microsoft=MicrosoftSettings(
                    **{"backoff_base_seconds": 0.01, "backoff_max_seconds": 0.1, **microsoft}
                ),
            ),
            in_process=True,
        )
        sandbox = Sandbox(tmp_path / "sandbox", fast_config())
        sandbox_transport = httpx2.ASGITransport(app=create_sandbox_app(sandbox))
        async with open_context(
            settings,
            microsoft_transport=sandbox_transport,
            sandbox_control_url=IN_PROCESS_CONTROL_URL,
        ) as context:
            control = httpx2.AsyncClient(
                transport=sandbox_transport, base_url=IN_PROCESS_CONTROL_URL
            )
            harness = Api(
                context=context,
                worker=Worker(context),
                transport=httpx2.ASGITransport(app=create_app(context)),
                control=control,
                key="",
                clients=[control],
                sandbox=sandbox,
            )
            harness.key = await harness.new_key("acme")
            start = sandbox_start()
            if start is not None:
                now = await harness.sandbox_now()
                await harness.advance_sandbox_clock(seconds_until_hour(now, *start))
                await context.refresh_clock()
            try:
                yield harness
            finally:
                for client in harness.clients:
                    await client.aclose()
        sandbox.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(tmp_path) as harness:
        yield harness
