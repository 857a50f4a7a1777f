"""TenantCore as operators run it: real `tenantcore serve`, `tenantcore worker` and
`tenantcore sandbox serve` processes on loopback, which tests start, SIGKILL and restart."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx2

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: Callable[[], T | None], *, timeout: float = 60, what: str = "") -> T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {what}")
        time.sleep(0.2)


@dataclass
class Process:
    """One `tenantcore …` command; start, kill -9 and start again."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self) -> Process:
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "tenantcore", *self.argv],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.port is not None:
            self._wait_for_port(self.port)
        return self

    def _wait_for_port(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                assert self.popen is not None
                if self.popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.tail()}") from None
                time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or an OOM kill."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(30)
        self.kills += 1

    def stop(self) -> None:
        if self.running:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(30)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Deployment:
    """Ports, data directory and settings shared by every process of one deployment."""

    root: Path
    database_url: str | None = None
    embedded_sandbox: bool = True
    settings: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    sandbox_http_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("TENANTCORE_")}
        env.update(
            TENANTCORE_DATA_DIR=str(self.root),
            TENANTCORE_SANDBOX__HTTP_PORT=str(self.sandbox_http_port),
            TENANTCORE_SANDBOX__SMTP_PORT=str(self.smtp_port),
            TENANTCORE_SANDBOX__EMBEDDED=str(self.embedded_sandbox).lower(),
            TENANTCORE_SANDBOX__PROPAGATION_SECONDS="0",
            TENANTCORE_SANDBOX__TRACE_DELAY_SECONDS="0",
            TENANTCORE_WORKER_INTERVAL_SECONDS="0.2",
            TENANTCORE_LOG_LEVEL="warning",
            # Every process must open the passwords the API sealed.
            TENANTCORE_SECRET_KEY="process-tests-secret-key",
        )
        if self.database_url is not None:
            env["TENANTCORE_DATABASE_URL"] = self.database_url
        env.update(self.settings)
        return env

    def _process(self, name: str, argv: list[str], port: int | None) -> Process:
        process = Process(name, argv, self.env, self.root / f"{name}.log", port)
        self.processes.append(process)
        return process

    def create_key(self, account: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "tenantcore", "keys", "create", "--account", account],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return result.stdout.strip().splitlines()[-1]

    def serve(self, *, worker: bool = True) -> Process:
        argv = ["serve", "--port", str(self.api_port)]
        if not worker:
            argv.append("--no-worker")
        return self._process("serve", argv, self.api_port).start()

    def worker(self, number: int) -> Process:
        return self._process(f"worker-{number}", ["worker"], None).start()

    def sandbox(self) -> Process:
        argv = ["sandbox", "serve"]
        return self._process("sandbox", argv, self.sandbox_http_port).start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def api(self, key: str) -> httpx2.Client:
        return httpx2.Client(
            base_url=f"http://127.0.0.1:{self.api_port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )

    def control(self) -> httpx2.Client:
        return httpx2.Client(base_url=f"http://127.0.0.1:{self.sandbox_http_port}", timeout=30)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)


def send(port: int, ca_pem: str, address: str, password: str, to: str = "lead@example.net") -> int:
    """One message over STARTTLS + AUTH LOGIN: 250 when accepted, else the refusal's code."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.starttls(context=ssl.create_default_context(cadata=ca_pem))
        client.ehlo()
        try:
            client.login(address, password)
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = address, to, "Hello"
            message.set_content("Hello from TenantCore.")
            client.send_message(message)
        except smtplib.SMTPResponseException as exc:
            return exc.smtp_code
        except smtplib.SMTPRecipientsRefused as exc:
            return next(iter(exc.recipients.values()))[0]
        return 250


def json_of(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


PASSWORD = "SecureP@ssw0rd!"


def connect_tenant(api: httpx2.Client, tenant_id: str) -> None:
    """Connect a sandbox tenant and wait for its Exchange bootstrap."""
    json_of(api.post("/v1/tenants", json={"tenant_id": tenant_id}), 201)
    wait_for(
        lambda: (
            json_of(api.get(f"/v1/tenants/{tenant_id}"))["exchange_bootstrap_status"] == "ready"
        ),
        what="bootstrap ready",
    )


def add_verified_domain(api: httpx2.Client, tenant_id: str, domain: str) -> None:
    added = api.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": domain})
    assert added.status_code in (200, 201), added.text
    verified = json_of(api.post(f"/v1/tenants/{tenant_id}/domains/{domain}/verify"))
    assert verified["is_verified"] is True


def provision(api: httpx2.Client, tenant_id: str, domain: str, *locals_: str) -> None:
    body = {
        "domain": domain,
        "account_password": PASSWORD,
        "mailboxes": [{"name": local.title(), "email": f"{local}@{domain}"} for local in locals_],
    }
    results = json_of(api.post(f"/v1/tenants/{tenant_id}/mailboxes", json=body))["results"]
    assert {r["status"] for r in results} == {"created"}, results


def mailboxes(api: httpx2.Client, tenant_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = json_of(api.get(f"/v1/tenants/{tenant_id}/mailboxes"))[
        "mailboxes"
    ]
    return listed


def all_ready(api: httpx2.Client, tenant_id: str, count: int) -> bool:
    listed = mailboxes(api, tenant_id)
    return len(listed) == count and all(m["status"] == "ready" for m in listed)
