"""Process settings, read once from the environment (`TENANTCORE_*`) and passed down.

Nothing reads the environment at import time; entry points build one `Settings` and hand it to
the parts they start, so tests construct settings directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenantcore.core.db import default_database_url, is_sqlite, normalise_database_url


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
    # True: `tenantcore serve` runs the sandbox itself. False: the sandbox is another process
    # (`tenantcore sandbox serve`) at host:http_port, shared by several API and worker
    # processes; `tenantcore worker` always works that way.
    embedded: bool = True


class DnsSettings(BaseModel):
    """Live-mode DNS health checks of customers' domains (sandbox mode reads the sandbox's
    zone instead)."""

    # Per lookup; a check makes five lookups at once, so this bounds a check's duration.
    timeout_seconds: float = Field(default=3.0, gt=0)
    # Resolver addresses to ask instead of the system's (/etc/resolv.conf); all on `port`.
    nameservers: list[str] = Field(default_factory=list)
    port: int = Field(default=53, ge=1, le=65535)
    # How often the background worker re-checks every domain's SPF/DKIM/DMARC/MX.
    recheck_seconds: float = Field(default=21600.0, gt=0)
    # Sooner for a verified domain whose DKIM signing is not on yet (the customer is
    # publishing its records, or Exchange is catching up), during its first days.
    dkim_pending_recheck_seconds: float = Field(default=900.0, gt=0)
    dkim_pending_days: float = Field(default=7.0, ge=0)
    # Sooner too for a domain Microsoft has not verified yet, during its first days: once its
    # ownership TXT record resolves, the re-check verifies it (no Graph call before that).
    verify_pending_recheck_seconds: float = Field(default=300.0, gt=0)
    verify_pending_days: float = Field(default=7.0, ge=0)


class MicrosoftSettings(BaseModel):
    """How TenantCore reaches Microsoft 365 (the connector). Sandbox mode points the same
    clients at the sandbox; nothing else changes."""

    mode: Literal["sandbox", "live"] = "sandbox"
    # The multi-tenant Entra application (live) or the sandbox's registered app.
    client_id: str = "tenantcore-sandbox"
    client_secret: SecretStr | None = None
    # Live certificate credential: a PEM file holding the private key, and the certificate's
    # SHA-1 thumbprint in hex (what Entra shows).
    certificate_path: Path | None = None
    certificate_thumbprint: str | None = None
    login_base_url: str = "https://login.microsoftonline.com"
    graph_base_url: str = "https://graph.microsoft.com"
    exchange_base_url: str = "https://outlook.office365.com"
    # Where sending tools log in to send as a mailbox (SMTP AUTH submission, STARTTLS; wire
    # reference 6): what the mailbox export lists. Sandbox mode lists the sandbox's SMTP side.
    smtp_host: str = "smtp.office365.com"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # Concurrent InvokeCommand requests per tenant (wire reference 3.6: Exchange rejects calls
    # beyond its per-tenant concurrency budget; 3 matches the sandbox's default cap).
    exchange_max_concurrency: int = Field(default=3, ge=1)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    call_deadline_seconds: float = Field(default=180.0, gt=0)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    # Retries of a 404 right after a create (directory replication lag).
    replication_retries: int = Field(default=6, ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TENANTCORE_",
        env_nested_delimiter="__",
        extra="forbid",
        # Validation errors must not echo values: database URLs and secrets live here.
        hide_input_in_errors=True,
    )

    data_dir: Path = Path()
    # Where customers reach this API (the admin-consent redirect comes back here).
    public_base_url: str = "http://127.0.0.1:8000"
    # Discovery + Exchange bootstrap give up (status `failed`) after this long.
    bootstrap_timeout_seconds: float = Field(default=7200.0, gt=0)
    # How often each tenant's usage (message trace, restricted senders) is synced.
    usage_sync_seconds: float = Field(default=300.0, gt=0)
    # How often each tenant's SMTP AUTH switches (the tenant's and its mailboxes') are read
    # again, so a switch turned off in Exchange shows in the API (tenants/smtp_auth.py).
    smtp_auth_check_seconds: float = Field(default=3600.0, gt=0)
    # How long after 00:00 UTC the finished day is counted again from message trace, which is
    # 5-10 minutes behind (wire reference 4.8): sends after the day's last sync, and a cap
    # reached then, are recorded at the first sync this long after midnight.
    usage_settle_seconds: float = Field(default=900.0, ge=0)
    # How long an API call that changes a tenant's Exchange (POST mailbox-limits, a display-name
    # PATCH, a tenant DELETE) waits for that tenant's background work to let go of it.
    tenant_lock_wait_seconds: float = Field(default=20.0, ge=0)
    # How long GET …/mailbox-limits may show a reading of Exchange (per scope and API process)
    # before reading it again; whatever TenantCore itself changes there shows at once.
    exchange_state_max_age_seconds: float = Field(default=60.0, ge=0)
    # Webhook deliveries: how long an endpoint has to answer, how many attempts an event gets
    # (backoff from 30 s doubling to 6 h between them: 12 attempts span about 1.5 days), and
    # whether endpoint URLs may name loopback or private addresses (None: only in sandbox mode,
    # where the receiver is usually on the same machine).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_max_attempts: int = Field(default=12, ge=1, le=50)
    webhook_allow_private_urls: bool | None = None
    # Private networks webhooks may reach even when private URLs are not allowed (an operator's
    # own receivers, say): a JSON list of CIDRs, e.g. '["10.20.0.0/16"]'.
    webhook_allow_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    # Seconds between sweeps of the rows for due work (each queues the due tenants' jobs).
    worker_interval_seconds: float = Field(default=1.0, gt=0)
    # Requests per minute each API key may make (on average; 0 = no limit), and the burst
    # allowed above that rate. Counted per API process.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Days an audit log entry (audit/trail.py) is kept.
    audit_retention_days: int = Field(default=365, ge=1, le=3650)
    # Threads (each with one database connection) that run the read endpoints' queries, per
    # API process (core/reads.py). None: 1 on SQLite, whose reads are all CPU and would only
    # take turns on the GIL; 4 on PostgreSQL, whose reads mostly wait on the network.
    read_threads: int | None = Field(default=None, ge=1)
    # Largest request body accepted (413 payload_too_large beyond it).
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Jobs one worker process runs at once (different tenants; one tenant runs one at a time).
    worker_concurrency: int = Field(default=4, ge=1)
    # Mailboxes one tenant's job advances at once. More than the Exchange cap keeps Exchange's
    # slots busy while other mailboxes wait on Graph; the connector still holds Exchange to it.
    tenant_parallelism: int = Field(default=8, ge=1)
    # Seals mailbox account passwords for the moment between the provisioning request and the
    # background step that sets them in Microsoft (then they are erased). None: a random key
    # generated into `<data_dir>/tenantcore.key` on first use. Processes on several machines
    # must share one value.
    secret_key: SecretStr | None = Field(default=None, repr=False)
    # How long after New-Mailbox a mailbox may still be propagating in Exchange; it is `ready`
    # only after this. None: 300 s live (Microsoft's 2-5 minutes), the sandbox's configured
    # maximum in sandbox mode.
    mailbox_propagation_seconds: float | None = Field(default=None, ge=0)
    # A SQLAlchemy URL. None: the embedded SQLite file `<data_dir>/tenantcore.db`.
    # `postgresql://…` and `postgresql+psycopg://…` both mean psycopg 3. Kept out of repr
    # because it may carry a password.
    database_url: str | None = Field(default=None, repr=False)
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    microsoft: MicrosoftSettings = Field(default_factory=MicrosoftSettings)
    dns: DnsSettings = Field(default_factory=DnsSettings)

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return normalise_database_url(value)

    @property
    def resolved_database_url(self) -> str:
        """The database to use: `database_url`, or the SQLite file in `data_dir`."""
        return self.database_url or default_database_url(self.data_dir)

    @property
    def resolved_read_threads(self) -> int:
        if self.read_threads is not None:
            return self.read_threads
        return 1 if is_sqlite(self.resolved_database_url) else 4
