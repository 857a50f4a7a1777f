"""`account_password` is in no table, database file, log line or response (issue 4,
acceptance 6); it reaches Microsoft, sealed in between, and the seal is erased."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from tenantcore.core.base import Base
from tenantcore.core.db import sqlite_file_path, unit_of_work
from tenantcore.mailboxes.vault import KEY_FILE_NAME, PasswordUnavailable, PasswordVault
from tenantcore.sandbox.passwords import verify_password
from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, one, provision, rows, tenant_with_domain

SECRET = "Unique-Pa55word-7731"


async def _database_text(api: Api) -> str:
    """Every row of every table as text, plus the raw SQLite files (main and WAL)."""
    parts: list[str] = []
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(sa.select(table))
            parts.append(repr(result.all()))
    path = sqlite_file_path(api.context.settings.resolved_database_url)
    if path is not None:
        files = (path, Path(f"{path}-wal"))
        parts.extend(file.read_bytes().decode("latin-1") for file in files if file.exists())
    return "\n".join(parts)


async def test_password_is_sealed_then_erased_and_never_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        tenant_id = await tenant_with_domain(api)
        response = await provision(api, tenant_id, "sales", "jane", password=SECRET)
        assert response.status_code == 200
        assert SECRET not in response.text

        # Between the request and the background step: sealed, one ciphertext per mailbox.
        sealed = [row.sealed_password for row in await rows(api)]
        assert all(sealed)
        assert len(set(sealed)) == 2
        assert SECRET not in await _database_text(api)

        await api.worker.drain()
        assert [row.sealed_password for row in await rows(api)] == [None, None]
        assert SECRET not in await _database_text(api)
        listing = await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")
        assert SECRET not in listing.text
        assert (await one(api, tenant_id, f"sales@{DOMAIN}"))["status"] == "ready"

        # A refused request does not echo it either.
        weak = await provision(api, tenant_id, "x", password="weakpassword-secret")
        assert weak.json()["detail"]["code"] == "weak_password"
        assert "weakpassword-secret" not in weak.text

    assert logs, "the flow logged nothing: the check would prove nothing"
    assert SECRET not in repr(logs)
    assert SECRET not in caplog.text
    # Microsoft got it: the sandbox's directory verifies it against its own hash.
    user = api.sandbox.store.one(
        "SELECT password_hash FROM directory_user WHERE user_principal_name = ?",
        (f"sales@{DOMAIN}",),
    )
    assert user is not None
    assert verify_password(SECRET, user["password_hash"])


async def test_the_embedded_key_is_generated_once_outside_the_database(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    key_file = api.context.settings.data_dir / KEY_FILE_NAME
    key = key_file.read_text()
    assert key.strip()
    assert key_file.stat().st_mode & 0o077 == 0
    await provision(api, tenant_id, "jane")
    assert key_file.read_text() == key


def test_a_seal_opens_only_under_its_own_key() -> None:
    sealed = PasswordVault("one key").seal(SECRET)
    assert SECRET not in sealed
    assert PasswordVault("one key").open(sealed) == SECRET
    with pytest.raises(PasswordUnavailable):
        PasswordVault("another key").open(sealed)


async def test_a_seal_from_another_key_fails_the_mailbox_clearly(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    [row] = await rows(api)
    async with unit_of_work(api.context.sessionmaker) as session:
        await session.execute(
            sa.text("UPDATE mailbox SET sealed_password = :sealed"),
            {"sealed": PasswordVault("a key this process does not have").seal(SECRET)},
        )
    await api.worker.drain()
    mailbox = await one(api, tenant_id, f"sales@{DOMAIN}")
    assert mailbox["status"] == "failed"
    assert "secret key" in mailbox["error"]
    assert [r.sealed_password for r in await rows(api)] == [None]
    assert row.id == mailbox["id"]


async def test_a_new_password_reaches_microsoft_only(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fresh = "Rotated-Pa55word-9902"
    with structlog.testing.capture_logs() as logs:
        tenant_id = await tenant_with_domain(api)
        await provision(api, tenant_id, "sales", password=SECRET)
        await api.worker.drain()
        sales = await one(api, tenant_id, f"sales@{DOMAIN}")
        url = f"/v1/tenants/{tenant_id}/mailboxes/{sales['id']}"
        changed = await api.http.patch(url, json={"account_password": fresh})
        assert changed.status_code == 200, changed.text
        assert fresh not in changed.text
        assert fresh not in await _database_text(api)
        for weak, code in (
            ("short1A", "weak_password"),
            ("alllowercaseletters", "weak_password"),
            (None, "weak_password"),
            (5, "invalid_request"),
        ):
            refused = await api.http.patch(url, json={"account_password": weak})
            assert refused.status_code == 400, weak
            assert refused.json()["detail"]["code"] == code, weak
    assert logs
    assert fresh not in repr(logs)
    assert fresh not in caplog.text
    user = api.sandbox.store.one(
        "SELECT password_hash FROM directory_user WHERE user_principal_name = ?",
        (f"sales@{DOMAIN}",),
    )
    assert user is not None
    assert verify_password(fresh, user["password_hash"])
    assert not verify_password(SECRET, user["password_hash"])


async def test_a_password_change_needs_a_ready_mailbox(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    mailbox_id = (await provision(api, tenant_id, "sales")).json()["results"][0]["mailbox_id"]
    response = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}",
        json={"account_password": "Another-Pa55word-1"},
    )
    assert response.status_code == 409
    assert response.json()["detail"]["code"] == "mailbox_not_ready"


async def test_microsofts_banned_password_check_refuses_what_complexity_accepts(
    api: Api,
) -> None:
    """Entra's Password Protection (wire reference 2.2) can refuse a password TenantCore's own
    check passes: provisioning fails the mailbox with Microsoft's reason, a PATCH answers
    `weak_password`, and neither echoes the password."""
    banned = "Outreach1!"  # complex, but "outreach" is on the tenant's banned list
    tenant_id = await tenant_with_domain(api)
    listed = await api.control.patch(
        f"/_sandbox/tenants/{tenant_id}", json={"banned_passwords": ["outreach"]}
    )
    assert listed.status_code == 200
    accepted = await provision(api, tenant_id, "sales", password=banned)
    assert accepted.status_code == 200
    assert accepted.json()["results"][0]["status"] == "created"
    assert (await provision(api, tenant_id, "jane", password=SECRET)).status_code == 200
    await api.worker.drain()
    sales = await one(api, tenant_id, f"sales@{DOMAIN}")
    assert sales["status"] == "failed"
    assert sales["error"].startswith("Microsoft rejected account_password")
    assert banned not in sales["error"]
    assert [row.sealed_password for row in await rows(api)] == [None, None]

    jane = await one(api, tenant_id, f"jane@{DOMAIN}")
    assert jane["status"] == "ready"
    url = f"/v1/tenants/{tenant_id}/mailboxes/{jane['id']}"
    refused = await api.http.patch(url, json={"account_password": banned})
    assert refused.status_code == 400
    assert refused.json()["detail"]["code"] == "weak_password"
    assert "Microsoft rejected account_password" in refused.json()["detail"]["message"]
    assert banned not in refused.text
    assert (
        await api.http.patch(url, json={"account_password": "Outreach-2026"})
    ).status_code == 200
