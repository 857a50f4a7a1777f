"""Connector fixtures: the connector against a real sandbox, over loopback HTTP and in-process.

Both routes run the same connector code; only the transport and base URLs differ, exactly as
in production (DESIGN.md section 3).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tenantcore.microsoft.connector import MicrosoftConnector, build_connector
from tenantcore.sandbox.app import create_sandbox_app
from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.server import ThreadedSandbox
from tenantcore.settings import MicrosoftSettings
from tests.conftest import fast_config

CLIENT_ID = "4f1d7a4e-6c1b-4f63-9a57-0d1e2f3a4b5c"
CLIENT_SECRET = "connector-test-secret"
IN_PROCESS_HOSTS = {
    "login_base_url": "http://login.microsoftonline.com",
    "graph_base_url": "http://graph.microsoft.com",
    "exchange_base_url": "http://outlook.office365.com",
}


@dataclass
class World:
    """A connector wired to a sandbox, and a control-API client for arranging the sandbox."""

    connector: MicrosoftConnector
    control: httpx2.AsyncClient
    route: str
    settings: MicrosoftSettings
    transport: httpx2.AsyncBaseTransport | None = None
    smtp_port: int | None = None
    tenants: list[str] = field(default_factory=list)

    def another_connector(self, **overrides: Any) -> MicrosoftConnector:
        """A second connector on the same route with some settings changed (caller closes)."""
        settings = self.settings.model_copy(update=overrides)
        return build_connector(settings, transport=self.transport)

    async def tenant(self, *, dehydrated: bool = False, **extra: Any) -> str:
        tenant_id = str(uuid.uuid4())
        response = await self.control.post(
            "/_sandbox/tenants",
            json={
                "tenant_id": tenant_id,
                "display_name": extra.pop("display_name", "Contoso"),
                "dehydrated": dehydrated,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                **extra,
            },
        )
        assert response.status_code in (200, 201), response.text
        self.tenants.append(tenant_id)
        return tenant_id

    async def configure(self, **changes: Any) -> None:
        (await self.control.patch("/_sandbox/config", json=changes)).raise_for_status()

    async def faults(self, *rules: dict[str, Any], seed: int = 7) -> None:
        response = await self.control.put(
            "/_sandbox/faults", json={"rules": list(rules), "seed": seed}
        )
        response.raise_for_status()

    async def counters(self) -> dict[str, Any]:
        return dict((await self.control.get("/_sandbox/counters")).json())

    async def publish_dns(self, domain: str, records: list[dict[str, Any]]) -> None:
        response = await self.control.put(f"/_sandbox/dns/{domain}", json={"records": records})
        response.raise_for_status()

    async def advance_clock(self, seconds: float) -> None:
        response = await self.control.post("/_sandbox/clock", json={"advance_seconds": seconds})
        response.raise_for_status()


def connector_settings(**urls: str) -> MicrosoftSettings:
    return MicrosoftSettings(
        mode="sandbox",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,  # type: ignore[arg-type]
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.2,
        call_deadline_seconds=30,
        **urls,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def loopback_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedSandbox]:
    threaded = ThreadedSandbox(tmp_path_factory.mktemp("sandbox"), config=fast_config())
    threaded.start()
    try:
        yield threaded
    finally:
        threaded.stop()


@pytest.fixture(params=["loopback", "in_process"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "loopback":
        threaded: ThreadedSandbox = request.getfixturevalue("loopback_sandbox")
        assert threaded.addresses is not None
        base = threaded.addresses.http_url
        settings = connector_settings(
            login_base_url=base, graph_base_url=base, exchange_base_url=base
        )
        connector = build_connector(settings)
        control = httpx2.AsyncClient(base_url=base, timeout=30)
        world = World(
            connector, control, "loopback", settings, smtp_port=threaded.addresses.smtp_port
        )
        # The sandbox is shared by the module: start each test from clean faults and config.
        await control.delete("/_sandbox/faults")
        await control.delete("/_sandbox/counters")
        await control.put("/_sandbox/config", json=fast_config().model_dump())
        try:
            yield world
        finally:
            await control.delete("/_sandbox/faults")
            await connector.aclose()
            await control.aclose()
        return
    sb = Sandbox(tmp_path / "sandbox", fast_config())
    transport = httpx2.ASGITransport(app=create_sandbox_app(sb))
    settings = connector_settings(**IN_PROCESS_HOSTS)
    connector = build_connector(settings, transport=transport)
    control = httpx2.AsyncClient(transport=transport, base_url="http://sandbox.local", timeout=30)
    try:
        yield World(connector, control, "in_process", settings, transport)
    finally:
        await connector.aclose()
        await control.aclose()
        sb.close()
