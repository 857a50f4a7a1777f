"""Arrangements shared by the mailbox tests: a tenant with a verified domain, provisioning
requests, sends through the sandbox's SMTP, a mailbox blocked on its cap and released at
midnight, and direct reads of what the database and Exchange hold."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from tenantcore.core.db import unit_of_work
from tenantcore.mailboxes.models import Mailbox
from tenantcore.microsoft.models import Mailbox as ExchangeMailbox
from tenantcore.sandbox.server import SandboxServer
from tests.api.conftest import Api
from tests.api.flows import verified_domain

DOMAIN = "mail.acmecorp.com"
PASSWORD = "SecureP@ssw0rd!"
SALES = f"sales@{DOMAIN}"
OPS = f"ops@{DOMAIN}"
# The seed's list fields plus TenantCore's additions, exactly.
MAILBOX_FIELDS = {
    "id",
    "display_name",
    "primary_smtp",
    "user_principal_name",
    "mail_nickname",
    "account_enabled",
    "daily_send_limit",
    "sends_today",
    "blocked_at",
    "created_at",
    "domain_name",
    "tenant_name",
    "status",
    "ready_at",
    "usage_synced_at",
    "error",
    "smtp_auth_enabled",
    "effective_send_limit",
}


async def tenant_with_domain(api: Api, *domains: str) -> str:
    """A connected tenant (bootstrap ready) with the domains (default DOMAIN) added and
    verified through the domains API."""
    tenant_id = await api.connect_tenant()
    for domain in domains or (DOMAIN,):
        await verified_domain(api, tenant_id, domain)
    return tenant_id


async def tenant_with_ready_mailboxes(api: Api, *locals_: str) -> str:
    """A tenant whose mailboxes `locals_`@DOMAIN are ready, after moving the sandbox clock to
    the next 10:00 UTC, so a test's day of sends and syncs never straddles midnight."""
    await api.move_sandbox_clock_to_hour(10)
    tenant_id = await tenant_with_domain(api)
    assert (await provision(api, tenant_id, *locals_)).status_code == 200
    await api.worker.drain()
    await api.advance_sandbox_clock(600)  # past the (test) propagation delay
    await api.worker.drain()
    assert {m["status"] for m in await listed(api, tenant_id)} == {"ready"}
    return tenant_id


def body(
    *locals_: str, domain: str = DOMAIN, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    return {
        "domain": domain,
        "account_password": password,
        "mailboxes": [
            {"name": f"{local.title()} Outreach", "email": f"{local}@{domain}"} for local in locals_
        ],
        **extra,
    }


async def provision(
    api: Api, tenant_id: str, *locals_: str, domain: str = DOMAIN, **extra: Any
) -> httpx2.Response:
    return await api.http.post(
        f"/v1/tenants/{tenant_id}/mailboxes", json=body(*locals_, domain=domain, **extra)
    )


async def listed(api: Api, tenant_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")
    assert response.status_code == 200, response.text
    mailboxes: list[dict[str, Any]] = response.json()["mailboxes"]
    return mailboxes


async def one(api: Api, tenant_id: str, address: str) -> dict[str, Any]:
    return next(m for m in await listed(api, tenant_id) if m["primary_smtp"] == address)


async def rows(api: Api) -> list[Mailbox]:
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        return list((await session.execute(select(Mailbox).order_by(Mailbox.slot))).scalars())


async def set_row(api: Api, mailbox_id: str, **values: Any) -> None:
    """Stand in for the usage sync (a later issue) writing a mailbox's counters."""
    async with unit_of_work(api.context.sessionmaker) as session:
        mailbox = await session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        for name, value in values.items():
            setattr(mailbox, name, value)


async def exchange_mailboxes(api: Api, tenant_id: str) -> list[ExchangeMailbox]:
    """The shared mailboxes Exchange holds, read through the connector."""
    return await api.context.connector.exchange.list_shared_mailboxes(tenant_id)


async def faults(api: Api, *rules: dict[str, Any]) -> None:
    response = await api.control.put("/_sandbox/faults", json={"rules": list(rules), "seed": 1})
    response.raise_for_status()


async def exchange_fails(api: Api, operation: str = "*", status: int = 503) -> None:
    """Every Exchange call matching `operation` (a glob) fails with `status`, at once and for
    good (no Retry-After wait), until `faults(api)` clears it."""
    rule = {"host": "exchange", "operation": operation, "error_rate": 1.0}
    await faults(api, {**rule, "error_statuses": [status], "retry_after_seconds": 0})


async def calls(api: Api) -> dict[str, int]:
    """How many times the sandbox was called, per `host:operation`."""
    counters = (await api.control.get("/_sandbox/counters")).json()
    return dict(counters["calls"])


def smtp_send(port: int, ca_pem: str, address: str, password: str) -> tuple[int, bytes]:
    """Log in over STARTTLS as the mailbox and send one message; (code, reply) of the first
    refusal, or of the accepted DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.starttls(context=ssl.create_default_context(cadata=ca_pem))
        client.ehlo()
        try:
            client.login(address, password)
        except smtplib.SMTPAuthenticationError as exc:
            reply = exc.smtp_error
            return exc.smtp_code, reply if isinstance(reply, bytes) else reply.encode()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = address, "lead@example.net", "Hi"
        message.set_content("Hello from TenantCore.")
        client.send_message(message)
        return client.noop()


async def login_reply(api: Api, address: str) -> int:
    """The reply code of an SMTP login and send as the mailbox, over the sandbox's SMTP."""
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        code, _ = await asyncio.to_thread(
            smtp_send, addresses.smtp_port, server.tls.ca_pem, address, PASSWORD
        )
    finally:
        await server.stop()
    return code


async def send_codes(api: Api, address: str, count: int) -> list[int]:
    """Reply codes of `count` sends as `address` over the sandbox's SMTP, one connection each;
    550 for a sender Exchange refused (a restricted sender, or a transport rule's reject)."""
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    codes = []
    try:
        for _ in range(count):
            try:
                code, _ = await asyncio.to_thread(
                    smtp_send, addresses.smtp_port, server.tls.ca_pem, address, PASSWORD
                )
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as refused:
                code = refused.smtp_code
            codes.append(code)
    finally:
        await server.stop()
    return codes


async def effective_send_limit(api: Api, tenant_id: str, address: str) -> int | None:
    """The mailbox's `effective_send_limit`, the same in its usage, in the list and in the
    mailbox's own document."""
    listed_item = await one(api, tenant_id, address)
    url = f"/v1/tenants/{tenant_id}/mailboxes/{listed_item['id']}"
    usage = (await api.http.get(f"{url}/usage")).json()
    single = (await api.http.get(url)).json()
    value: int | None = usage["effective_send_limit"]
    assert listed_item["effective_send_limit"] == single["effective_send_limit"] == value
    return value


async def past_next_midnight(api: Api, after_seconds: float = 60) -> datetime:
    """Move the sandbox clock `after_seconds` past the next 00:00 UTC and let the worker do
    what the new day brings; that midnight."""
    now = await api.sandbox_now()
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    await api.advance_sandbox_clock((midnight - now).total_seconds() + after_seconds)
    await api.worker.drain()
    return midnight


@dataclass(frozen=True)
class BlockedDay:
    """What the scenario leaves: the tenant, its two mailboxes' ids, and the two UTC days."""

    tenant_id: str
    ids: dict[str, str]
    first: str
    second: str


async def blocked_then_released(api: Api, *, settle: bool) -> BlockedDay:
    """SALES (cap 2) sends 2 and is refused a 3rd on day one; the sync reports the block;
    midnight releases it. With `settle`, the finished day is then counted again."""
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    ids = {address: (await one(api, tenant_id, address))["id"] for address in (SALES, OPS)}
    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 2, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    first = (await api.sandbox_now()).date().isoformat()
    server = SandboxServer(api.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    try:
        ca = server.tls.ca_pem
        for _ in range(2):
            code, _ = await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
            assert code == 250
        with pytest.raises(smtplib.SMTPSenderRefused):
            await asyncio.to_thread(smtp_send, addresses.smtp_port, ca, SALES, PASSWORD)
    finally:
        await server.stop()
    await api.advance_sandbox_clock(301)
    await api.worker.drain()
    midnight = await past_next_midnight(api)
    if settle:
        await api.advance_sandbox_clock(api.context.settings.usage_settle_seconds)
        await api.worker.drain()
    return BlockedDay(tenant_id, ids, first, midnight.date().isoformat())
