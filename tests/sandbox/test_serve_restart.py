"""`tenantcore sandbox serve` as a process: it serves, and a restart keeps the state on disk."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.conftest import GRAPH_SCOPE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(data_dir: Path, http_port: int, smtp_port: int) -> Iterator[httpx2.Client]:
    env = {**os.environ, "TENANTCORE_SANDBOX__PROPAGATION_SECONDS": "0"}
    process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [
            sys.executable,
            "-m",
            "tenantcore",
            "sandbox",
            "serve",
            "--http-port",
            str(http_port),
            "--smtp-port",
            str(smtp_port),
            "--data",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = httpx2.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/_sandbox/health").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=5) as smtp:
            assert smtp.recv(512).startswith(b"220 ")
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def test_restart_keeps_tenants_dns_clock_and_tokens(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    http_port, smtp_port = _free_port(), _free_port()
    tenant_id = str(uuid.uuid4())
    with serve(data_dir, http_port, smtp_port) as client:
        created = client.post(
            "/_sandbox/tenants",
            json={
                "tenant_id": tenant_id,
                "display_name": "Acme",
                "client_id": "app",
                "client_secret": "secret",
                "dehydrated": True,
            },
        )
        assert created.status_code == 201
        client.put(
            "/_sandbox/dns/mail.acme.com",
            json={"records": [{"type": "TXT", "value": "MS=ms42"}]},
        ).raise_for_status()
        clock = client.post("/_sandbox/clock", json={"advance_seconds": 3600}).json()
        client.post(
            f"/{tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "app",
                "client_secret": "secret",
                "scope": GRAPH_SCOPE,
            },
        ).json()["access_token"]
    assert (data_dir / "sandbox.db").exists()

    with serve(data_dir, http_port, smtp_port) as client:
        tenant = client.get(f"/_sandbox/tenants/{tenant_id}").json()
        assert tenant["display_name"] == "Acme"
        assert tenant["dehydrated"] is True
        records = client.get("/_sandbox/dns/mail.acme.com").json()["records"]
        assert [r["value"] for r in records] == ["MS=ms42"]
        assert client.get("/_sandbox/clock").json()["offset_seconds"] >= clock["offset_seconds"]
        again = client.post(
            f"/{tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "app",
                "client_secret": "secret",
                "scope": GRAPH_SCOPE,
            },
        )
        assert again.status_code == 200
