"""Benchmark 1 — the API read path: `GET /v1/tenants/{id}/mailboxes` for a tenant with 36 and
with 3,000 mailboxes, among 50 other tenants of 36, against two baselines served the same way
(`benchmarks/read_apps.py`): the floor (plain driver + orjson) and the textbook FastAPI way
(ORM objects + Pydantic response_model). Each server is its own process; concurrent clients
call it over loopback; its CPU time comes from /proc, so CPU per request does not depend on
what else the machine runs.

    .venv/bin/python -m benchmarks.read_path [--database-url URL] [--clients 8] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
from sqlalchemy.orm import Session
from tests.databases import postgres_scratch_database

from benchmarks.stack import emit, table
from tenantcore import migrations
from tenantcore.accounts.keys import generate_key, hash_key, lookup_prefix
from tenantcore.accounts.models import Account, ApiKey
from tenantcore.core.db import create_sync_engine
from tenantcore.domains.models import Domain
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE, EnforcementPolicy
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Seeded:
    key: str
    small: str  # tenant GUID with 36 mailboxes
    large: str  # tenant GUID with 3,000 mailboxes
    mailbox: str  # a mailbox of the small tenant (for GET …/usage)


def seed(database_url: str, others: int, small: int, large: int) -> Seeded:
    migrations.upgrade(database_url)
    engine = create_sync_engine(database_url)
    key = generate_key()
    with Session(engine) as session, session.begin():
        account = Account(name=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(account)
        session.flush()
        session.add(
            ApiKey(account_id=account.id, prefix=lookup_prefix(key), secret_hash=hash_key(key))
        )
        guids = []
        first_mailboxes = []
        for count in [small, large] + [small] * others:
            tenant = Tenant(
                account_id=account.id,
                tenant_id=str(uuid.uuid4()),
                tenant_name="Bench Corp",
                status=TenantStatus.CONNECTED,
                exchange_bootstrap_status=BootstrapStatus.READY,
                # Not due for a usage sync during the run.
                next_sync_at=datetime.now(UTC) + timedelta(days=1),
            )
            session.add(tenant)
            session.flush()
            guids.append(tenant.tenant_id)
            domains = []
            for n in range((count + 2) // 3):
                domain = Domain(
                    tenant_pk=tenant.id,
                    domain_name=f"d{n}.{tenant.tenant_id[:8]}.example.com",
                    is_verified=True,
                    email_enabled=True,
                )
                domains.append(domain)
            session.add_all(domains)
            session.flush()
            mailboxes = [
                Mailbox(
                    tenant_pk=tenant.id,
                    domain_pk=domains[n // 3].id,
                    slot=n % 3 + 1,
                    display_name=f"Sender {n}",
                    primary_smtp=f"sender{n}@{domains[n // 3].domain_name}",
                    user_principal_name=f"sender{n}@{domains[n // 3].domain_name}",
                    mail_nickname=f"sender{n}",
                    alias=f"sender{n}",
                    account_enabled=True,
                    daily_send_limit=25,
                    status=MailboxStatus.READY,
                    sends_today=n % 20,
                )
                for n in range(count)
            ]
            session.add_all(mailboxes)
            session.add(
                EnforcementPolicy(
                    tenant_pk=tenant.id, scope_key=TENANT_WIDE_SCOPE, daily_send_limit=20
                )
            )
            session.flush()
            first_mailboxes.append(mailboxes[0].id)
    engine.dispose()
    return Seeded(key, guids[0], guids[1], first_mailboxes[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_ratio(measured: float, floor: float) -> str:
    """The CPU ratio against the floor, or "n/a" when the floor's run used less than one clock
    tick: a short run (the suite's small seed) can measure zero, which is no basis for a ratio."""
    if floor <= 0:
        return "n/a"
    return f"{measured / floor:.2f}x"


async def load(base: str, path: str, key: str, requests: int, clients: int) -> list[float]:
    latencies: list[float] = []
    remaining = requests

    async def client() -> None:
        nonlocal remaining
        async with httpx2.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as http:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await http.get(path)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:200]

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def document(base: str, path: str, key: str) -> object:
    async with httpx2.AsyncClient(base_url=base, timeout=120) as http:
        response = await http.get(path, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text[:200]
        return response.json()


def same_json(documents: dict[tuple[str, str], object]) -> None:
    """Every server answered each request with the same document as TenantCore: the
    comparison is between equal work."""
    for (label, size), body in documents.items():
        if body != documents[("TenantCore", size)]:
            raise SystemExit(f"{label} answers {size} with a different document than TenantCore")


def start(argv: list[str], port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a server, its output going to `log` (shown when it answers wrongly)."""
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx2.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx2.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not start") from None
            time.sleep(0.2)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def scratch_database(server_url: str | None, directory: str) -> Iterator[str]:
    """A new database for the run: a SQLite file, or one created on the PostgreSQL server
    and dropped afterwards."""
    if server_url is None:
        yield f"sqlite+aiosqlite:///{directory}/tenantcore.db"
        return
    with postgres_scratch_database(server_url, "tenantcore_bench") as url:
        yield url


async def main(args: argparse.Namespace) -> str:
    with (
        tempfile.TemporaryDirectory() as scratch,
        scratch_database(args.database_url, scratch) as database_url,
    ):
        seeded = seed(database_url, args.others, 36, args.large)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENANTCORE_")}
        env.update(
            TENANTCORE_DATA_DIR=scratch,
            TENANTCORE_DATABASE_URL=database_url,
            TENANTCORE_LOG_LEVEL="warning",
            TENANTCORE_RATE_LIMIT_PER_MINUTE="0",
            TENANTCORE_SANDBOX__HTTP_PORT=str(free_port()),
            TENANTCORE_SANDBOX__SMTP_PORT=str(free_port()),
            TENANTCORE_MICROSOFT__MODE=args.mode,
        )
        if args.mode == "live":  # the read path never calls Microsoft; no tenant is needed
            env["TENANTCORE_MICROSOFT__CLIENT_SECRET"] = "unused-by-reads"  # noqa: S105
        servers = {
            "floor (plain driver + orjson)": ["benchmarks.read_apps", "floor"],
            # The API alone: the embedded worker would add its sweeps to the server's CPU.
            "TenantCore": ["tenantcore", "serve", "--no-worker"],
            "textbook (ORM + response_model)": ["benchmarks.read_apps", "textbook"],
        }
        rows: list[list[object]] = []
        cpu: dict[tuple[str, str], float] = {}
        documents: dict[tuple[str, str], object] = {}
        for label, module in servers.items():
            port = free_port()
            argv = [sys.executable, "-m", *module, "--port", str(port)]
            if module[0] == "benchmarks.read_apps":
                argv += ["--database-url", database_url]
            log = Path(scratch) / f"server-{len(cpu)}.log"
            process = start(argv, port, env, log)
            try:
                base = f"http://127.0.0.1:{port}"
                for size, path, requests in (
                    ("36", f"/v1/tenants/{seeded.small}/mailboxes", args.requests),
                    (
                        str(args.large),
                        f"/v1/tenants/{seeded.large}/mailboxes",
                        max(args.requests // 10, 50),
                    ),
                    (
                        "usage",
                        f"/v1/tenants/{seeded.small}/mailboxes/{seeded.mailbox}/usage",
                        args.requests,
                    ),
                ):
                    documents[(label, size)] = await document(base, path, seeded.key)
                    await load(base, path, seeded.key, 20, args.clients)  # warm up
                    before, started = cpu_seconds(process.pid), time.perf_counter()
                    latencies = await load(base, path, seeded.key, requests, args.clients)
                    wall = time.perf_counter() - started
                    per_request = (cpu_seconds(process.pid) - before) / requests
                    cpu[(label, size)] = per_request
                    quantiles = statistics.quantiles(latencies, n=100)
                    rows.append(
                        [
                            label,
                            size,
                            f"{quantiles[49] * 1000:.1f}",
                            f"{quantiles[98] * 1000:.1f}",
                            f"{requests / wall:.0f}",
                            f"{per_request * 1000:.2f}",
                        ]
                    )
            except AssertionError as exc:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"{label} answered an error: {exc}\n{tail}") from exc
            finally:
                process.terminate()
                process.wait(30)
    same_json(documents)
    floor_label = next(iter(servers))
    for row in rows:
        row.append(cpu_ratio(cpu[(str(row[0]), str(row[1]))], cpu[(floor_label, str(row[1]))]))
    backend = "PostgreSQL" if args.database_url else "SQLite"
    return table(
        f"GET …/mailboxes and GET …/usage on {backend}, {args.clients} concurrent clients over loopback "
        f"({args.others} other tenants of 36 mailboxes)",
        [
            "server",
            "mailboxes (or usage)",
            "p50 ms",
            "p99 ms",
            "req/s",
            "server CPU ms/req",
            "CPU vs floor",
        ],
        rows,
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to run on (a scratch database is made)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3000)
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument(
        "--mode",
        choices=["sandbox", "live"],
        default="sandbox",
        help="TenantCore's Microsoft mode (sandbox mode follows the sandbox clock per request)",
    )
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    text = asyncio.run(main(args))
    name = "read_path_postgres" if args.database_url else "read_path_sqlite"
    emit(name, text, write=args.write)


if __name__ == "__main__":
    cli()
