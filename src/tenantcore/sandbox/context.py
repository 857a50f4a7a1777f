"""The `Sandbox`: one emulated Microsoft cloud (store, clock, runtime), shared by every host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantcore.sandbox.runtime import Runtime, SandboxConfig
from tenantcore.sandbox.store import SandboxClock, SandboxStore
from tenantcore.sandbox.tokens import new_signing_key

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path


class Sandbox:
    def __init__(self, data_dir: Path | None, config: SandboxConfig | None = None) -> None:
        self.store = SandboxStore(None if data_dir is None else data_dir / "sandbox.db")
        self.clock = SandboxClock(self.store)
        self.runtime = Runtime(config or SandboxConfig())
        key = self.store.get_meta("token_signing_key")
        if key is None:
            key = new_signing_key()
            with self.store.transaction():
                self.store.set_meta("token_signing_key", key)
        self.signing_key = key
        # PEM of the CA that signed the SMTP (and, when enabled, HTTPS) certificate.
        self.tls_ca_pem: str | None = None

    @property
    def config(self) -> SandboxConfig:
        return self.runtime.config

    def now(self) -> datetime:
        return self.clock.now()

    def close(self) -> None:
        self.store.close()
