"""Setup and SMTP sending for the enforcement-accuracy benchmark (`enforcement_accuracy`).

Setup: one sandbox tenant with its domains (3 mailboxes each), mailboxes provisioned through the
API until ready, each with its own daily cap (PATCH `daily_send_limit`, 1..N) under a
tenant-wide ceiling (POST `mailbox-limits`). Sending: every mailbox tries cap + extra
single-recipient messages over several parallel connections to the sandbox's real SMTP
submission server, recording each attempt's code and, when accepted, the sandbox-clock time.
Also the small API calls the measurement shares with the setup (advance the sandbox clock,
read a mailbox's usage).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from benchmarks.stack import PASSWORD, Stack
from tenantcore.sandbox.server import SandboxServer

PER_DOMAIN = 3
CEILING = 25
READY_PASSES = 50
# Real seconds: no SMTP exchange on loopback should take longer.
SMTP_TIMEOUT = 30


@dataclass
class Box:
    """One mailbox under test: its cap, every send attempt's outcome, and what the API showed."""

    mailbox_id: str
    address: str
    cap: int
    codes: list[int] = field(default_factory=list)
    accepted_at: list[datetime] = field(default_factory=list)  # sandbox clock
    effective_cap: int | None = None
    blocked_seen_at: datetime | None = None  # sandbox clock at the GET that showed it
    blocked_at: datetime | None = None  # as the API reports it
    sends_today: int | None = None

    @property
    def accepted(self) -> int:
        return self.codes.count(250)

    @property
    def beyond(self) -> int:
        return max(0, self.accepted - self.cap)

    @property
    def reached_at(self) -> datetime | None:
        return max(self.accepted_at) if self.accepted >= self.cap else None

    def delay(self) -> float | None:
        reached = self.reached_at
        if reached is None or self.blocked_seen_at is None:
            return None
        return (self.blocked_seen_at - reached).total_seconds()


# --- setup --------------------------------------------------------------------------------


async def _mailboxes(stack: Stack, tenant_id: str) -> list[dict[str, Any]]:
    response = await stack.api.get(f"/v1/tenants/{tenant_id}/mailboxes")
    response.raise_for_status()
    listed: list[dict[str, Any]] = response.json()["mailboxes"]
    return listed


async def advance_clock(stack: Stack, seconds: float) -> None:
    """Move the sandbox clock forward (TenantCore reads the same clock)."""
    response = await stack.control.post("/_sandbox/clock", json={"advance_seconds": seconds})
    response.raise_for_status()


async def away_from_midnight(stack: Stack, needed: float) -> None:
    """Keep the whole run on one UTC day of the sandbox clock (caps are per day)."""
    now = stack.sandbox.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < needed:
        await advance_clock(stack, (midnight - now).total_seconds() + 600)


async def set_up(stack: Stack, mailboxes: int) -> tuple[str, list[Box]]:
    tenant_id = await stack.connect_tenant()
    domains = [f"d{n}.bench-enforcement.com" for n in range(-(-mailboxes // PER_DOMAIN))]
    for domain in domains:
        await stack.add_domain(tenant_id, domain)
    wanted: list[str] = []
    for index, domain in enumerate(domains):
        locals_ = [f"box{index * PER_DOMAIN + k + 1}" for k in range(PER_DOMAIN)]
        locals_ = locals_[: mailboxes - index * PER_DOMAIN]
        body = {
            "domain": domain,
            "account_password": PASSWORD,
            "mailboxes": [{"name": f"Outreach {x}", "email": f"{x}@{domain}"} for x in locals_],
        }
        (await stack.api.post(f"/v1/tenants/{tenant_id}/mailboxes", json=body)).raise_for_status()
        wanted += [f"{x}@{domain}" for x in locals_]
    for _ in range(READY_PASSES):
        await stack.worker.drain()
        listed = await _mailboxes(stack, tenant_id)
        if len(listed) == len(wanted) and all(m["status"] == "ready" for m in listed):
            break
        await asyncio.sleep(0.05)
    else:
        raise SystemExit(
            f"mailboxes not ready: {[(m['primary_smtp'], m['status']) for m in listed]}"
        )
    by_address = {m["primary_smtp"]: m for m in listed}
    boxes = []
    for n, address in enumerate(wanted, start=1):
        box = Box(by_address[address]["id"], address, cap=min(n, CEILING))
        patched = await stack.api.patch(
            f"/v1/tenants/{tenant_id}/mailboxes/{box.mailbox_id}",
            json={"daily_send_limit": box.cap},
        )
        patched.raise_for_status()
        boxes.append(box)
    limits = await stack.api.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": CEILING}
    )
    limits.raise_for_status()
    await stack.worker.drain()
    for box in boxes:
        usage = (await fetch_usage(stack, tenant_id, box)).json()
        box.effective_cap = usage["effective_send_limit"]
    return tenant_id, boxes


async def fetch_usage(stack: Stack, tenant_id: str, box: Box) -> Any:
    """GET the mailbox's usage (sends today, effective cap, block) as a client would see it."""
    response = await stack.api.get(f"/v1/tenants/{tenant_id}/mailboxes/{box.mailbox_id}/usage")
    response.raise_for_status()
    return response


# --- SMTP (threads: the sandbox's SMTP server runs on this process's event loop) ----------


def _message(address: str, n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = address
    message["To"] = f"contact{n}@customer.example.net"
    message["Subject"] = f"Hello {n}"
    message.set_content("Hello from TenantCore.")
    return message


def _open(port: int, ca_pem: str, address: str) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=SMTP_TIMEOUT)
    client.starttls(context=ssl.create_default_context(cadata=ca_pem))
    client.ehlo()
    client.login(address, PASSWORD)
    return client


def burst(
    port: int, ca_pem: str, box: Box, numbers: list[int], clock: Any
) -> list[tuple[int, datetime | None]]:
    """One SMTP connection sending `numbers` messages back to back: (code, sandbox time when
    accepted) per attempt. A dropped connection is reopened for the next attempt."""
    results: list[tuple[int, datetime | None]] = []
    client: smtplib.SMTP | None = None
    try:
        for n in numbers:
            try:
                if client is None:
                    client = _open(port, ca_pem, box.address)
                client.send_message(_message(box.address, n))
                results.append((250, clock()))
            except smtplib.SMTPResponseException as exc:
                results.append((exc.smtp_code, None))
            except smtplib.SMTPRecipientsRefused as exc:
                results.append((next(iter(exc.recipients.values()))[0], None))
            except (smtplib.SMTPServerDisconnected, OSError):
                results.append((-1, None))  # outcome unknown to the client
                client = None
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    return results


async def send_all(stack: Stack, boxes: list[Box], extra: int, connections: int) -> float:
    server = SandboxServer(stack.sandbox, http_port=0, smtp_port=0)
    addresses = await server.start()
    loop = asyncio.get_running_loop()
    try:
        ca = server.tls.ca_pem
        with ThreadPoolExecutor(max_workers=len(boxes) * connections) as pool:
            jobs = []
            owners = []
            for box in boxes:
                numbers = list(range(box.cap + extra))
                for c in range(connections):
                    share = numbers[c::connections]
                    if share:
                        jobs.append(
                            loop.run_in_executor(
                                pool,
                                burst,
                                addresses.smtp_port,
                                ca,
                                box,
                                share,
                                stack.sandbox.now,
                            )
                        )
                        owners.append(box)
            started = time.perf_counter()
            outcomes = await asyncio.gather(*jobs)
            seconds = time.perf_counter() - started
        for box, results in zip(owners, outcomes, strict=True):
            for code, at in results:
                box.codes.append(code)
                if at is not None:
                    box.accepted_at.append(at)
    finally:
        await server.stop()
    return seconds
