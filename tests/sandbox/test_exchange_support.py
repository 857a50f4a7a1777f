"""Helpers for the Exchange host's tests (no tests here).

Rows the Exchange host does not write itself (verified domains come from Graph, message-trace
rows and restricted senders from the SMTP host) are seeded straight into the running sandbox's
store inside a transaction: its loop thread is idle between requests, so this is safe from the
sequential test thread.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx2

from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso, parse
from tests.conftest import SandboxHarness, SandboxTenant


def core(harness: SandboxHarness) -> Sandbox:
    sb = harness.threaded.sandbox
    assert sb is not None
    return sb


def write(harness: SandboxHarness, sql: str, params: tuple[Any, ...] = ()) -> None:
    store = core(harness).store
    with store.transaction():
        store.execute(sql, params)


def rows(harness: SandboxHarness, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    return core(harness).store.all(sql, params)


def sandbox_now(harness: SandboxHarness) -> datetime:
    return parse(harness.http.get("/_sandbox/clock").json()["now"])


def add_domain(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    name: str,
    *,
    services: tuple[str, ...] = ("Email",),
    verified: bool = True,
) -> None:
    """A custom domain as Graph leaves it after POST /domains, verify and PATCH."""
    write(
        harness,
        "INSERT INTO domain(tenant_id, name, is_verified, supported_services, verification_code,"
        " created_at) VALUES (?, ?, ?, ?, 'ms1', ?)",
        (tenant.tenant_id, name, int(verified), dumps(list(services)), iso(sandbox_now(harness))),
    )


def add_trace(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    *,
    sender: str,
    recipient: str,
    received: datetime,
    status: str = "Delivered",
    visible_at: datetime | None = None,
    message_id: str | None = None,
) -> str:
    """One message-trace row, as the SMTP host writes one per recipient."""
    trace_id = str(uuid.uuid4())
    write(
        harness,
        "INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
        " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
        " VALUES (?, ?, ?, ?, ?, 'Hello', ?, 2048, '203.0.113.5', '', ?, ?)",
        (
            trace_id,
            recipient,
            tenant.tenant_id,
            message_id or f"<{trace_id}@sandbox.test>",
            sender,
            status,
            iso(received),
            iso(visible_at or received),
        ),
    )
    return trace_id


def add_block(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    sender: str,
    *,
    expires_in: timedelta | None = None,
    reason: str = "Outbound spam policy: daily recipient limit reached",
) -> None:
    """A restricted sender as the SMTP host records it (expires_in None = BlockUser)."""
    moment = sandbox_now(harness)
    write(
        harness,
        "INSERT INTO blocked_sender(tenant_id, sender_address, reason, created_at, changed_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        (
            tenant.tenant_id,
            sender,
            reason,
            iso(moment),
            iso(moment),
            None if expires_in is None else iso(moment + expires_in),
        ),
    )


def values(response: httpx2.Response) -> list[dict[str, Any]]:
    """The rows of a successful InvokeCommand response."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["value"], list)
    return list(body["value"])


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its OData annotations, as clients read it."""
    return {key: value for key, value in row.items() if "@" not in key}


def cause(response: httpx2.Response) -> tuple[str, str]:
    """(exception type, message) of a shape A/B error, the way ExoHelper splits it."""
    error = response.json()["error"]
    details = error.get("details")
    if details:
        _, exception_type, message = details[0]["message"].split("|", 2)
        return exception_type, message
    internal = error["innererror"]["internalexception"]
    return internal["type"], internal["message"]


def warnings(response: httpx2.Response) -> list[str]:
    return list(response.json()["@adminapi.warnings"])


def new_shared_mailbox(
    harness: SandboxHarness, client: httpx2.Client, address: str, **extra: Any
) -> dict[str, Any]:
    local, _, domain = address.partition("@")
    name = extra.pop("Name", f"{local}-{domain.replace('.', '-')}")
    response = harness.invoke(
        client,
        "New-Mailbox",
        Shared=True,
        Name=name,
        Alias=extra.pop("Alias", name),
        PrimarySmtpAddress=address,
        **extra,
    )
    return plain(values(response)[0])
