"""The `tenantcore` command line."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from tenantcore import __version__
from tenantcore.logging import configure_logging
from tenantcore.settings import Settings

app = typer.Typer(help="TenantCore: sending mailboxes on your own Microsoft 365 tenants.")
sandbox_app = typer.Typer(help="The Microsoft 365 sandbox (the default back end).")
app.add_typer(sandbox_app, name="sandbox")
db_app = typer.Typer(
    help="The database: SQLite in TENANTCORE_DATA_DIR, or TENANTCORE_DATABASE_URL (PostgreSQL)."
)
app.add_typer(db_app, name="db")


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run a long-lived service on uvloop (installed with uvicorn[standard]) when available:
    its event loop and transports cost about half the CPU per request of asyncio's own."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


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


def _run_migration_command(action: Callable[[str], None] | None) -> None:
    """Run `action` on the configured database and print where it stands; errors (unknown
    revision, unreachable server) become one line on stderr and exit status 1."""
    from alembic.util import CommandError
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    from tenantcore import migrations
    from tenantcore.core.db import redact_url

    try:
        settings = Settings()
    except ValidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_format, settings.log_level)
    url = settings.resolved_database_url
    try:
        if action is not None:
            action(url)
        current = migrations.current_revisions(url)
    except (CommandError, SQLAlchemyError) as exc:
        typer.echo(f"error: {redact_url(url)}: {exc}", err=True)
        raise typer.Exit(1) from None
    heads = set(migrations.head_revisions())
    described = [f"{rev} (head)" if rev in heads else rev for rev in current]
    typer.echo(f"{redact_url(url)}: {', '.join(described) or 'no migrations applied'}")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the database up to a revision (default: the latest). Creates it if new."""
    from tenantcore import migrations

    _run_migration_command(lambda url: migrations.upgrade(url, revision))


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Option(help="Target revision (`base` removes everything).")],
) -> None:
    """Migrate the database down to a revision."""
    from tenantcore import migrations

    _run_migration_command(lambda url: migrations.downgrade(url, revision))


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at."""
    _run_migration_command(None)


keys_app = typer.Typer(help="API keys.")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    account: Annotated[str, typer.Option(help="Account name (created if new).")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="A key for GET requests only.")
    ] = False,
    key_name: Annotated[
        str | None, typer.Option("--name", help="What the key is for (1-100 characters).")
    ] = None,
) -> None:
    """Print a new API key for an account, once. Keys are stored hashed."""
    from tenantcore import migrations
    from tenantcore.accounts.models import KeyScope
    from tenantcore.accounts.service import issue_key
    from tenantcore.core.db import create_engine, create_sessionmaker, unit_of_work

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    name = account.strip()
    if not name or len(name) > 200:
        typer.echo("error: --account must be 1-200 characters", err=True)
        raise typer.Exit(2)
    label = None if key_name is None else key_name.strip()
    if label is not None and not 1 <= len(label) <= 100:
        typer.echo("error: --name must be 1-100 characters", err=True)
        raise typer.Exit(2)
    scope = KeyScope.READ if read_only else KeyScope.FULL
    migrations.upgrade(settings.resolved_database_url)

    async def run() -> str:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                issued = await issue_key(session, name, scope=scope, name=label)
                return issued.key
        finally:
            await engine.dispose()

    typer.echo(asyncio.run(run()))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address the API listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port.")] = 8000,
    worker: Annotated[
        bool,
        typer.Option(
            help="Also run a background worker in this process (with PostgreSQL, "
            "`--no-worker` leaves the jobs to `tenantcore worker` processes)."
        ),
    ] = True,
) -> None:
    """Run the API, the background worker and (in sandbox mode) the Microsoft 365 sandbox."""
    from tenantcore.serve import run_service

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    run_loop(run_service(settings, host=host, port=port, worker=worker))


@app.command("worker")
def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Jobs run at once (default TENANTCORE_WORKER_CONCURRENCY)."),
    ] = None,
) -> None:
    """Run a background worker against PostgreSQL (TENANTCORE_DATABASE_URL). Run as many as
    you like, on any machines; in sandbox mode they use the sandbox at
    TENANTCORE_SANDBOX__HOST:HTTP_PORT."""
    from tenantcore.serve import WorkerNeedsPostgres, run_worker

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        run_loop(run_worker(settings, concurrency=concurrency))
    except WorkerNeedsPostgres:
        typer.echo(
            "error: tenantcore worker needs PostgreSQL (set TENANTCORE_DATABASE_URL); with "
            "the embedded SQLite default, `tenantcore serve` runs the worker itself",
            err=True,
        )
        raise typer.Exit(2) from None


def main() -> None:
    app()
