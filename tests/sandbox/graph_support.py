"""Helpers for the Graph host's tests: callers, assertions on Graph's envelope, and seeding.

Seeding writes rows exactly as `schema.py` documents them through the running sandbox's store,
inside a transaction (its loop thread is idle between requests), standing in for the Exchange
and SMTP hosts where a test needs their rows.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import httpx2

from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.passwords import hash_password
from tenantcore.sandbox.store import dumps
from tenantcore.sandbox.timeutil import iso, parse
from tests.conftest import SandboxHarness, SandboxTenant

PASSWORD = "Sandbox-Pass-1234"
JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
INNER_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
ADVANCED = {"ConsistencyLevel": "eventual"}


def core(harness: SandboxHarness) -> Sandbox:
    sb = harness.threaded.sandbox
    assert sb is not None
    return sb


def sandbox_now(harness: SandboxHarness) -> datetime:
    return parse(harness.http.get("/_sandbox/clock").json()["now"])


def write(harness: SandboxHarness, sql: str, params: tuple[Any, ...] = ()) -> None:
    store = core(harness).store
    with store.transaction():
        store.execute(sql, params)


def user_body(upn: str, **overrides: Any) -> dict[str, Any]:
    alias = upn.split("@")[0]
    body: dict[str, Any] = {
        "accountEnabled": True,
        "displayName": f"User {alias}",
        "mailNickname": alias,
        "userPrincipalName": upn,
        "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": PASSWORD},
    }
    body.update(overrides)
    return body


def create_user(graph: httpx2.Client, upn: str, **overrides: Any) -> dict[str, Any]:
    response = graph.post("/users", json=user_body(upn, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def verify_domain(harness: SandboxHarness, graph: httpx2.Client, name: str) -> None:
    """Add a domain, publish its TXT proof in the sandbox's DNS, and verify it."""
    created = graph.post("/domains", json={"id": name})
    assert created.status_code == 201, created.text
    records = graph.get(f"/domains/{name}/verificationDnsRecords").json()["value"]
    txt = next(record["text"] for record in records if record["recordType"] == "Txt")
    harness.publish_dns(name, [{"type": "TXT", "name": "@", "value": txt}])
    verified = graph.post(f"/domains/{name}/verify")
    assert verified.status_code == 200, verified.text


def seed_mailbox(
    harness: SandboxHarness, tenant: SandboxTenant, user_id: str, addresses: list[str]
) -> str:
    """A mailbox linked to `user_id` with `addresses` (first = primary), as New-Mailbox makes."""
    guid = str(uuid.uuid4())
    stamp = iso(sandbox_now(harness))
    primary = addresses[0]
    alias = primary.split("@")[0]
    proxies = [f"SMTP:{primary}", *(f"smtp:{a}" for a in addresses[1:])]
    store = core(harness).store
    with store.transaction():
        store.execute(
            "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias,"
            " display_name, primary_smtp_address, email_addresses, recipient_type_details,"
            " created_at, changed_at, ready_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 'SharedMailbox', ?, ?, ?)",
            (
                guid,
                tenant.tenant_id,
                user_id,
                str(uuid.uuid4()),
                alias,
                alias,
                alias,
                primary,
                dumps(proxies),
                stamp,
                stamp,
                stamp,
            ),
        )
        for address in addresses:
            store.execute(
                "INSERT INTO proxy_address(tenant_id, address, owner_kind, owner_guid)"
                " VALUES (?, ?, 'mailbox', ?)",
                (tenant.tenant_id, address.lower(), guid),
            )
    return guid


def seed_exchange_user(harness: SandboxHarness, tenant: SandboxTenant, upn: str) -> str:
    """A directory user as Exchange's New-Mailbox writes it (disabled, with a password hash)."""
    user_id = str(uuid.uuid4())
    write(
        harness,
        "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
        " mail_nickname, mail, account_enabled, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (
            user_id,
            tenant.tenant_id,
            upn,
            upn,
            upn.split("@")[0],
            upn,
            hash_password(PASSWORD),
            iso(sandbox_now(harness)),
        ),
    )
    return user_id


def assert_graph_headers(response: httpx2.Response) -> None:
    """The headers every Graph response carries (wire reference 2)."""
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["request-id"])
    assert response.headers["client-request-id"]
    assert response.headers["x-ms-ags-diagnostic"].startswith('{"ServerInfo":')
    assert response.headers["OData-Version"] == "4.0"
    if response.content:
        assert response.headers["Content-Type"] == JSON_TYPE


def assert_graph_error(
    response: httpx2.Response, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """Graph's error envelope (wire reference 2.7): one `error` with code, message, innerError."""
    assert response.status_code == status, response.text
    assert_graph_headers(response)
    body = response.json()
    assert list(body) == ["error"]
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    if message is not None:
        assert error["message"] == message, error["message"]
    assert set(error) <= {"code", "message", "details", "innerError"}
    inner = error["innerError"]
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert INNER_DATE.match(inner["date"])
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    for detail in error.get("details", []):
        assert set(detail) == {"code", "message", "target"}
    return error


def assert_throttled(response: httpx2.Response) -> float:
    """The 429 of wire reference 2.8; returns the (possibly fractional) Retry-After."""
    assert response.status_code == 429, response.text
    assert_graph_headers(response)
    error = response.json()["error"]
    assert set(error) == {"code", "innerError", "message"}
    assert error["code"] == "TooManyRequests"
    assert error["message"] == "Please retry again later."
    inner = error["innerError"]
    assert set(inner) == {"code", "date", "message", "request-id", "status"}
    assert inner["code"] == inner["status"] == "429"
    assert inner["message"] == "Please retry after"
    assert inner["request-id"] == response.headers["request-id"]
    return float(response.headers["Retry-After"])


def seed_trace(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    *,
    sender: str,
    recipient: str,
    received: datetime,
    status: str = "Delivered",
    subject: str = "Quick question",
    visible_at: datetime | None = None,
) -> str:
    """One per-recipient trace row as the SMTP host writes it; returns its message trace id."""
    trace_id = str(uuid.uuid4())
    write(
        harness,
        "INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
        " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 2048, '203.0.113.5', '', ?, ?)",
        (
            trace_id,
            recipient.lower(),
            tenant.tenant_id,
            f"<{trace_id}@sandbox.test>",
            sender.lower(),
            subject,
            status,
            iso(received),
            iso(visible_at or received),
        ),
    )
    return trace_id
