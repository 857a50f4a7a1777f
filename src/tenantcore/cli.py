"""The `tenantcore` command line."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from tenantcore import __version__
from tenantcore.logging import configure_logging
from tenantcore.settings import Settings

app = typer.Typer(help="TenantCore: sending mailboxes on your own Microsoft 365 tenants.")
sandbox_app = typer.Typer(help="The Microsoft 365 sandbox (the default back end).")
app.add_typer(sandbox_app, name="sandbox")


@app.command()
def version() -> None:
    """Print the TenantCore version."""
    typer.echo(__version__)


@sandbox_app.command("serve")
def sandbox_serve(
    http_port: Annotated[int | None, typer.Option(help="HTTP port (all Microsoft hosts).")] = None,
    smtp_port: Annotated[int | None, typer.Option(help="SMTP submission port.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    data: Annotated[
        Path | None, typer.Option(help="Directory for the sandbox's SQLite state.")
    ] = None,
    https: Annotated[bool, typer.Option(help="Serve HTTP over TLS (the CA is printed).")] = False,
) -> None:
    """Run the Microsoft 365 sandbox alone on loopback."""
    from tenantcore.sandbox.bootstrap import config_from_settings
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.server import SandboxServer

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    sandbox_settings = settings.sandbox
    data_dir = data if data is not None else settings.data_dir

    async def run() -> None:
        sb = Sandbox(data_dir, config_from_settings(sandbox_settings))
        server = SandboxServer(
            sb,
            host=host or sandbox_settings.host,
            http_port=sandbox_settings.http_port if http_port is None else http_port,
            smtp_port=sandbox_settings.smtp_port if smtp_port is None else smtp_port,
            https=https,
        )
        try:
            await server.serve_forever()
        finally:
            sb.close()

    asyncio.run(run())


def main() -> None:
    app()
