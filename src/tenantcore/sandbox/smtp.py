"""SMTP submission (smtp.office365.com:587) — placeholder until the full emulator lands."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiosmtpd.smtp import SMTP

if TYPE_CHECKING:
    import ssl

    from tenantcore.sandbox.context import Sandbox


class _Handler:
    def __init__(self, sb: Sandbox) -> None:
        self.sandbox = sb


async def start_smtp_server(
    sb: Sandbox, host: str, port: int, tls_context: ssl.SSLContext
) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(_Handler(sb), tls_context=tls_context, require_starttls=True),
        host=host,
        port=port,
    )
