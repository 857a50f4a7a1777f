"""Shared fixtures: a real sandbox served over loopback HTTP and SMTP from a background thread."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tenantcore.sandbox.runtime import SandboxConfig
from tenantcore.sandbox.server import SandboxAddresses, ThreadedSandbox

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"


def seconds_until_hour(now: datetime, hour: int, minute: int = 0) -> float:
    """Seconds from `now` to the next HH:MM UTC after it (tests move the sandbox clock there so
    their timeline never straddles midnight, whatever the hour the suite runs at)."""
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


# `HH:MM`: every in-process API test starts with the sandbox clock moved to that UTC time, to
# rehearse a run at an awkward hour (e.g. 23:58) whatever the hour it really is.
SANDBOX_START_ENV = "TENANTCORE_TEST_SANDBOX_START"


def sandbox_start() -> tuple[int, int] | None:
    value = os.environ.get(SANDBOX_START_ENV, "").strip()
    if not value:
        return None
    hour, minute = value.split(":")
    return int(hour), int(minute)


@dataclass
class SandboxTenant:
    tenant_id: str
    initial_domain: str
    client_id: str
    client_secret: str


class SandboxHarness:
    """Talks to a running sandbox over HTTP the way any client would."""

    def __init__(self, threaded: ThreadedSandbox, addresses: SandboxAddresses) -> None:
        self.threaded = threaded
        self.addresses = addresses
        self.http = httpx2.Client(base_url=addresses.http_url, timeout=30, verify=False)

    @property
    def url(self) -> str:
        return self.addresses.http_url

    @property
    def smtp_port(self) -> int:
        return self.addresses.smtp_port

    def configure(self, **changes: Any) -> dict[str, Any]:
        response = self.http.patch("/_sandbox/config", json=changes)
        response.raise_for_status()
        return dict(response.json())

    def create_tenant(self, *, dehydrated: bool = False, **extra: Any) -> SandboxTenant:
        tenant_id = str(uuid.uuid4())
        body = {
            "tenant_id": tenant_id,
            "display_name": extra.pop("display_name", "Contoso"),
            "dehydrated": dehydrated,
            "client_id": extra.pop("client_id", "11111111-2222-3333-4444-555555555555"),
            "client_secret": extra.pop("client_secret", "s3cret-value"),
            **extra,
        }
        response = self.http.post("/_sandbox/tenants", json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        return SandboxTenant(
            tenant_id=tenant_id,
            initial_domain=data["initial_domain"],
            client_id=body["client_id"],
            client_secret=body["client_secret"],
        )

    def token(self, tenant: SandboxTenant, scope: str) -> str:
        response = self.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": scope,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def graph(self, tenant: SandboxTenant) -> httpx2.Client:
        """A client for graph.microsoft.com/v1.0 authenticated for `tenant`."""
        return httpx2.Client(
            base_url=f"{self.url}/v1.0",
            headers={"Authorization": f"Bearer {self.token(tenant, GRAPH_SCOPE)}"},
            timeout=30,
            verify=False,
        )

    def exchange(self, tenant: SandboxTenant) -> httpx2.Client:
        """A client for outlook.office365.com/adminapi/beta/{tenant} authenticated for `tenant`."""
        return httpx2.Client(
            base_url=f"{self.url}/adminapi/beta/{tenant.tenant_id}",
            headers={"Authorization": f"Bearer {self.token(tenant, EXCHANGE_SCOPE)}"},
            timeout=30,
            verify=False,
        )

    def invoke(self, client: httpx2.Client, cmdlet: str, **parameters: Any) -> httpx2.Response:
        return client.post(
            "/InvokeCommand",
            json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}},
        )

    def advance_clock(self, seconds: float) -> None:
        self.http.post("/_sandbox/clock", json={"advance_seconds": seconds}).raise_for_status()

    def move_clock_to_hour(self, hour: int) -> None:
        """Advance the sandbox clock to the next HH:00 UTC, so a test's timeline never
        straddles midnight by accident."""
        now = datetime.fromisoformat(self.http.get("/_sandbox/clock").json()["now"])
        self.advance_clock(seconds_until_hour(now, hour))

    def publish_dns(self, domain: str, records: list[dict[str, Any]]) -> None:
        self.http.put(f"/_sandbox/dns/{domain}", json={"records": records}).raise_for_status()

    def close(self) -> None:
        self.http.close()


def fast_config(**overrides: Any) -> SandboxConfig:
    """Timings that let a test walk the whole flow without waiting."""
    values: dict[str, Any] = {
        "propagation_min_seconds": 0,
        "propagation_max_seconds": 0,
        "trace_delay_min_seconds": 0,
        "trace_delay_max_seconds": 0,
        "bootstrap_seconds": 0,
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def sandbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "sandbox"


@pytest.fixture
def sandbox(sandbox_dir: Path) -> Iterator[SandboxHarness]:
    threaded = ThreadedSandbox(sandbox_dir, config=fast_config())
    addresses = threaded.start()
    harness = SandboxHarness(threaded, addresses)
    try:
        yield harness
    finally:
        harness.close()
        threaded.stop()
