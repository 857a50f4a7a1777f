"""Run the sandbox: HTTP (all emulated Microsoft hosts + control API) and SMTP on one event loop.

One loop for both sides means every store access is serialized by the loop itself (see
`store.py`). `SandboxServer` runs inside an existing loop (`tenantcore sandbox serve`, or
`tenantcore serve` later); `ThreadedSandbox` runs one in a background thread for callers that
are synchronous (tests using smtplib, MSAL or requests).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
import uvicorn

from tenantcore.sandbox.app import create_sandbox_app
from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.smtp import start_smtp_server
from tenantcore.sandbox.tls import TlsMaterial, generate

if TYPE_CHECKING:
    from tenantcore.sandbox.runtime import SandboxConfig

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SandboxAddresses:
    host: str
    http_port: int
    smtp_port: int
    https: bool

    @property
    def http_url(self) -> str:
        scheme = "https" if self.https else "http"
        return f"{scheme}://{self.host}:{self.http_port}"


class SandboxServer:
    def __init__(
        self,
        sb: Sandbox,
        *,
        host: str = "127.0.0.1",
        http_port: int = 8900,
        smtp_port: int = 2587,
        https: bool = False,
        tls: TlsMaterial | None = None,
    ) -> None:
        self.sandbox = sb
        self.host = host
        self.http_port = http_port
        self.smtp_port = smtp_port
        self.https = https
        self.tls = tls or generate()
        sb.tls_ca_pem = self.tls.ca_pem
        self._http: uvicorn.Server | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._smtp: asyncio.Server | None = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self.addresses: SandboxAddresses | None = None

    async def start(self) -> SandboxAddresses:
        ssl_options: dict[str, str] = {}
        if self.https:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="tenantcore-sandbox-tls-")
            cert, key, _ = self.tls.write(Path(self._tls_dir.name))
            ssl_options = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
        config = uvicorn.Config(
            create_sandbox_app(self.sandbox),
            host=self.host,
            port=self.http_port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            **ssl_options,  # type: ignore[arg-type]
        )
        self._http = uvicorn.Server(config)
        self._http_task = asyncio.create_task(self._http.serve())
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise RuntimeError("sandbox HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        http_port = self._http.servers[0].sockets[0].getsockname()[1]
        self._smtp = await start_smtp_server(
            self.sandbox, self.host, self.smtp_port, self.tls.server_context()
        )
        smtp_port = self._smtp.sockets[0].getsockname()[1]
        self.addresses = SandboxAddresses(self.host, http_port, smtp_port, self.https)
        log.info(
            "sandbox started",
            http=self.addresses.http_url,
            smtp=f"{self.host}:{smtp_port}",
            data=str(self.sandbox.store.path or ":memory:"),
        )
        return self.addresses

    async def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._smtp.wait_closed(), 2)
            self._smtp = None
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await self._http_task
            self._http = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    async def serve_forever(self) -> None:
        await self.start()
        try:
            assert self._http_task is not None
            await self._http_task
        finally:
            await self.stop()


class ThreadedSandbox:
    """A sandbox served from a background thread, for synchronous callers."""

    def __init__(
        self,
        data_dir: Path | None,
        *,
        config: SandboxConfig | None = None,
        https: bool = False,
        host: str = "127.0.0.1",
        http_port: int = 0,
        smtp_port: int = 0,
    ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.https = https
        self.host = host
        self.http_port = http_port
        self.smtp_port = smtp_port
        self.sandbox: Sandbox | None = None
        self.server: SandboxServer | None = None
        self.addresses: SandboxAddresses | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> SandboxAddresses:
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._stopped = asyncio.Event()
            self.sandbox = Sandbox(self.data_dir, self.config)
            self.server = SandboxServer(
                self.sandbox,
                host=self.host,
                http_port=self.http_port,
                smtp_port=self.smtp_port,
                https=self.https,
            )
            try:
                self.addresses = await self.server.start()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(exc)
                ready.set()
                self.sandbox.close()
                return
            ready.set()
            await self._stopped.wait()
            await self.server.stop()
            self.sandbox.close()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(main())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="tenantcore-sandbox", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        assert self.addresses is not None
        return self.addresses

    def stop(self) -> None:
        if self._loop is None or self._stopped is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(30)
        self._thread = None

    def __enter__(self) -> ThreadedSandbox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
