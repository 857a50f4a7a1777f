"""Everything a request or a background step needs, built once per process and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tenantcore.microsoft.connector import MicrosoftConnector
from tenantcore.microsoft.sandbox_control import SandboxControl
from tenantcore.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    connector: MicrosoftConnector
    # The sandbox's control API in sandbox mode; None when talking to Microsoft.
    sandbox: SandboxControl | None

    @property
    def sandbox_mode(self) -> bool:
        return self.sandbox is not None

    def now(self) -> datetime:
        return datetime.now(UTC)
