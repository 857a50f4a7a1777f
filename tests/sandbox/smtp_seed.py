"""Seed sandbox state for the SMTP tests by writing rows exactly as `schema.py` documents them.

A stand-in for the Exchange (New-Mailbox, Set-CASMailbox, groups, rules, policies) and Graph
(password) calls until those hosts exist; the end-to-end flow test uses the real APIs. Writes
go through the store of the running sandbox inside a transaction: its loop thread is idle
between requests, so this is safe from the (sequential) test thread.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tenantcore.sandbox.context import Sandbox
from tenantcore.sandbox.passwords import hash_password
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso, parse, utc_day
from tests.conftest import SandboxHarness, SandboxTenant

PASSWORD = "Sandbox-Pass-1234"


@dataclass(frozen=True)
class SeededMailbox:
    guid: str
    user_id: str
    address: str


def core(harness: SandboxHarness) -> Sandbox:
    sb = harness.threaded.sandbox
    assert sb is not None
    return sb


def rows(harness: SandboxHarness, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    return core(harness).store.all(sql, params)


def now(harness: SandboxHarness) -> datetime:
    return parse(harness.http.get("/_sandbox/clock").json()["now"])


def write(harness: SandboxHarness, sql: str, params: tuple[Any, ...] = ()) -> None:
    store = core(harness).store
    with store.transaction():
        store.execute(sql, params)


def add_domain(harness: SandboxHarness, tenant: SandboxTenant, name: str) -> None:
    stamp = iso(now(harness))
    write(
        harness,
        "INSERT INTO domain(tenant_id, name, is_verified, supported_services, verification_code,"
        " created_at) VALUES (?, ?, 1, '[\"Email\"]', 'ms1', ?)",
        (tenant.tenant_id, name, stamp),
    )


def set_tenant(harness: SandboxHarness, tenant: SandboxTenant, **columns: Any) -> None:
    for column, value in columns.items():
        sql = f"UPDATE tenant SET {column} = ? WHERE id = ?"  # noqa: S608 - test's own keywords
        write(harness, sql, (value, tenant.tenant_id))


def add_mailbox(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    address: str,
    *,
    password: str | None = PASSWORD,
    enabled: bool = True,
    smtp_auth_disabled: bool | None = False,
    ready_in_seconds: float = 0,
    extra_addresses: tuple[str, ...] = (),
    recipient_limits: int = 500,
) -> SeededMailbox:
    """A shared mailbox and its user, as New-Mailbox + PATCH /users + Set-CASMailbox leave it."""
    moment = now(harness)
    stamp = iso(moment)
    user_id, guid = str(uuid.uuid4()), str(uuid.uuid4())
    alias = address.split("@")[0]
    proxies = [f"SMTP:{address}", *(f"smtp:{extra}" for extra in extra_addresses)]
    store = core(harness).store
    with store.transaction():
        store.execute(
            "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
            " mail_nickname, mail, account_enabled, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                tenant.tenant_id,
                address,
                alias,
                alias,
                address,
                int(enabled),
                None if password is None else hash_password(password),
                stamp,
            ),
        )
        store.execute(
            "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias,"
            " display_name, primary_smtp_address, email_addresses, recipient_type_details,"
            " smtp_auth_disabled, recipient_limits, created_at, changed_at, ready_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SharedMailbox', ?, ?, ?, ?, ?)",
            (
                guid,
                tenant.tenant_id,
                user_id,
                str(uuid.uuid4()),
                alias,
                alias,
                alias,
                address,
                dumps(proxies),
                None if smtp_auth_disabled is None else int(smtp_auth_disabled),
                recipient_limits,
                stamp,
                stamp,
                iso(moment + timedelta(seconds=ready_in_seconds)),
            ),
        )
        for proxy in (address, *extra_addresses):
            store.execute(
                "INSERT INTO proxy_address(tenant_id, address, owner_kind, owner_guid)"
                " VALUES (?, ?, 'mailbox', ?)",
                (tenant.tenant_id, proxy.lower(), guid),
            )
    return SeededMailbox(guid=guid, user_id=user_id, address=address)


def add_group(
    harness: SandboxHarness, tenant: SandboxTenant, name: str, members: list[SeededMailbox]
) -> str:
    guid, stamp = str(uuid.uuid4()), iso(now(harness))
    store = core(harness).store
    with store.transaction():
        store.execute(
            "INSERT INTO distribution_group(guid, tenant_id, name, alias, display_name,"
            " primary_smtp_address, group_type, created_at, changed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'Security', ?, ?)",
            (guid, tenant.tenant_id, name, name, name, f"{name}@example.invalid", stamp, stamp),
        )
        for member in members:
            store.execute(
                "INSERT INTO group_member(group_guid, member_guid) VALUES (?, ?)",
                (guid, member.guid),
            )
    return guid


def add_transport_rule(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    name: str,
    *,
    priority: int,
    conditions: dict[str, Any],
    actions: dict[str, Any],
    state: str = "Enabled",
    mode: str = "Enforce",
) -> None:
    stamp = iso(now(harness))
    write(
        harness,
        "INSERT INTO transport_rule(guid, tenant_id, name, priority, state, mode, conditions,"
        " actions, created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            tenant.tenant_id,
            name,
            priority,
            state,
            mode,
            dumps(conditions),
            dumps(actions),
            stamp,
            stamp,
        ),
    )


def set_default_policy(harness: SandboxHarness, tenant: SandboxTenant, **columns: Any) -> None:
    for column, value in columns.items():
        write(
            harness,
            f"UPDATE spam_policy SET {column} = ? WHERE tenant_id = ? AND is_default = 1",  # noqa: S608
            (value, tenant.tenant_id),
        )


def add_spam_policy(
    harness: SandboxHarness,
    tenant: SandboxTenant,
    name: str,
    *,
    limit: int,
    action: str = "BlockUserForToday",
    priority: int = 0,
    conditions: dict[str, Any],
    **columns: Any,
) -> None:
    """A custom policy plus the rule that binds it, like the New-HostedOutboundSpamFilter pair."""
    stamp = iso(now(harness))
    store = core(harness).store
    with store.transaction():
        store.execute(
            "INSERT INTO spam_policy(guid, tenant_id, name, recipient_limit_per_day, action,"
            " created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), tenant.tenant_id, name, limit, action, stamp, stamp),
        )
        for column, value in columns.items():
            store.execute(
                f"UPDATE spam_policy SET {column} = ? WHERE tenant_id = ? AND name = ?",  # noqa: S608
                (value, tenant.tenant_id, name),
            )
        store.execute(
            "INSERT INTO spam_rule(guid, tenant_id, name, policy_name, priority, conditions,"
            " created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                tenant.tenant_id,
                name,
                name,
                priority,
                dumps(conditions),
                stamp,
                stamp,
            ),
        )


def block(
    harness: SandboxHarness, tenant: SandboxTenant, address: str, expires_at: datetime | None
) -> None:
    stamp = iso(now(harness))
    write(
        harness,
        "INSERT INTO blocked_sender(tenant_id, sender_address, reason, created_at, changed_at,"
        " expires_at) VALUES (?, ?, 'seeded', ?, ?, ?)",
        (tenant.tenant_id, address, stamp, stamp, None if expires_at is None else iso(expires_at)),
    )


def remove_block(harness: SandboxHarness, tenant: SandboxTenant, address: str) -> None:
    """What Remove-BlockedSenderAddress leaves: no row, and today exempt from re-blocking."""
    store = core(harness).store
    with store.transaction():
        store.execute(
            "DELETE FROM blocked_sender WHERE tenant_id = ? AND sender_address = ?",
            (tenant.tenant_id, address),
        )
        store.execute(
            "INSERT OR IGNORE INTO block_exemption(tenant_id, sender_address, day)"
            " VALUES (?, ?, ?)",
            (tenant.tenant_id, address, utc_day(now(harness))),
        )


def seconds_past_next_midnight(harness: SandboxHarness, extra: float = 60) -> float:
    moment = now(harness)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds() + extra


def client_tls(harness: SandboxHarness) -> ssl.SSLContext:
    ca = harness.http.get("/_sandbox/tls/ca.pem")
    ca.raise_for_status()
    return ssl.create_default_context(cadata=ca.text)


@contextmanager
def smtp_session(
    harness: SandboxHarness, login: tuple[str, str] | None = None
) -> Iterator[smtplib.SMTP]:
    """An smtplib session over STARTTLS, logged in when `login` is given."""
    with smtplib.SMTP("127.0.0.1", harness.smtp_port, timeout=10) as client:
        client.starttls(context=client_tls(harness))
        client.ehlo()
        if login is not None:
            client.login(*login)
        yield client


def send(
    harness: SandboxHarness,
    mailbox: SeededMailbox,
    recipients: list[str],
    *,
    subject: str = "Hello",
    from_address: str | None = None,
) -> tuple[int, bytes]:
    """Send one message; return the reply to the end of DATA (or to the refusing command)."""
    sender = from_address or mailbox.address
    body = f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n\r\nHi\r\n"
    with smtp_session(harness, (mailbox.address, PASSWORD)) as client:
        code, reply = client.mail(sender)
        if code != 250:
            return code, reply
        for recipient in recipients:
            client.rcpt(recipient)
        return client.data(body.encode())
