"""Turn process settings into the sandbox's runtime configuration."""

from __future__ import annotations

from tenantcore.sandbox.runtime import SandboxConfig
from tenantcore.settings import SandboxSettings


def config_from_settings(settings: SandboxSettings) -> SandboxConfig:
    config = SandboxConfig(
        bootstrap_seconds=settings.bootstrap_seconds,
        replication_lag_probability=settings.replication_lag_probability,
        exchange_max_concurrency=settings.exchange_max_concurrency,
    )
    if settings.propagation_seconds is not None:
        config.propagation_min_seconds = settings.propagation_seconds
        config.propagation_max_seconds = settings.propagation_seconds
    if settings.trace_delay_seconds is not None:
        config.trace_delay_min_seconds = settings.trace_delay_seconds
        config.trace_delay_max_seconds = settings.trace_delay_seconds
    return config
