"""Process settings, read once from the environment (`TENANTCORE_*`) and passed down.

Nothing reads the environment at import time; entry points build one `Settings` and hand it to
the parts they start, so tests construct settings directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseModel):
    """The Microsoft 365 sandbox: where it listens and how slow it pretends Microsoft is."""

    host: str = "127.0.0.1"
    http_port: int = Field(default=8900, ge=0, le=65535)
    smtp_port: int = Field(default=2587, ge=0, le=65535)
    # Mailbox propagation after New-Mailbox. None draws uniformly from 120-300 s per mailbox,
    # the 2-5 minutes TenantCore documents; a number fixes it (0 = ready at once).
    propagation_seconds: float | None = Field(default=None, ge=0)
    # Delay between Enable-OrganizationCustomization and the org becoming customizable.
    bootstrap_seconds: float = Field(default=0.0, ge=0)
    # Message-trace visibility after a send. None draws from 300-600 s (Microsoft's 5-10 min).
    trace_delay_seconds: float | None = Field(default=None, ge=0)
    # Probability that a GET right after a create answers 404 (directory replication lag).
    replication_lag_probability: float = Field(default=0.0, ge=0, le=1)
    exchange_max_concurrency: int = Field(default=3, ge=1)
    auto_publish_dns: bool = True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TENANTCORE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Path()
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
