"""`tenantcore sandbox serve` as a process: it serves, and a restart keeps the state on disk."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import EXCHANGE_SCOPE, GRAPH_SCOPE

PASSWORD = "Restart-Pa55word!"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(client: httpx2.Client, smtp_port: int) -> bool:
    """Both sides up: the control API answers and the SMTP banner arrives."""
    try:
        if client.get("/_sandbox/health").status_code != 200:
            return False
        with socket.create_connection(("127.0.0.1", smtp_port), timeout=5) as smtp:
            return smtp.recv(512).startswith(b"220 ")
    except (httpx2.TransportError, OSError):
        return False


@contextmanager
def serve(data_dir: Path, http_port: int, smtp_port: int) -> Iterator[httpx2.Client]:
    env = {
        **os.environ,
        "TENANTCORE_SANDBOX__PROPAGATION_SECONDS": "0",
        "TENANTCORE_SANDBOX__TRACE_DELAY_SECONDS": "0",
    }
    process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
        [
            sys.executable,
            "-m",
            "tenantcore",
            "sandbox",
            "serve",
            "--http-port",
            str(http_port),
            "--smtp-port",
            str(smtp_port),
            "--data",
            str(data_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    client = httpx2.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
    try:
        deadline = time.monotonic() + 30
        while not _listening(client, smtp_port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(15)


def _token(client: httpx2.Client, tenant_id: str, scope: str) -> str:
    response = client.post(
        f"/{tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "app",
            "client_secret": "secret",
            "scope": scope,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _invoke(client: httpx2.Client, token: str, tenant_id: str, cmdlet: str, **params: Any) -> Any:
    response = client.post(
        f"/adminapi/beta/{tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["value"]


def _send(client: httpx2.Client, smtp_port: int, sender: str) -> None:
    tls = ssl.create_default_context(cadata=client.get("/_sandbox/tls/ca.pem").text)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.starttls(context=tls)
        smtp.login(sender, PASSWORD)
        smtp.sendmail(sender, ["lead@prospect.example"], b"Subject: hi\r\n\r\nhello\r\n")


def test_restart_keeps_the_whole_model(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    http_port, smtp_port = _free_port(), _free_port()
    tenant_id = str(uuid.uuid4())
    with serve(data_dir, http_port, smtp_port) as client:
        created = client.post(
            "/_sandbox/tenants",
            json={
                "tenant_id": tenant_id,
                "display_name": "Acme",
                "client_id": "app",
                "client_secret": "secret",
                "dehydrated": False,
            },
        )
        assert created.status_code == 201
        sender = f"sdr@{created.json()['initial_domain']}"
        client.put(
            "/_sandbox/dns/mail.acme.com", json={"records": [{"type": "TXT", "value": "MS=ms42"}]}
        ).raise_for_status()
        graph_token = _token(client, tenant_id, GRAPH_SCOPE)
        exo = _token(client, tenant_id, EXCHANGE_SCOPE)
        mailbox = _invoke(
            client,
            exo,
            tenant_id,
            "New-Mailbox",
            Shared=True,
            Name="sdr",
            DisplayName="SDR",
            PrimarySmtpAddress=sender,
        )[0]
        client.patch(
            f"/v1.0/users/{mailbox['ExternalDirectoryObjectId']}",
            json={
                "accountEnabled": True,
                "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
            },
            headers={"Authorization": f"Bearer {graph_token}"},
        ).raise_for_status()
        _invoke(
            client, exo, tenant_id, "Set-TransportConfig", SmtpClientAuthenticationDisabled=False
        )
        _invoke(client, exo, tenant_id, "New-DistributionGroup", Name="tc-blocked", Type="Security")
        _invoke(
            client,
            exo,
            tenant_id,
            "Add-DistributionGroupMember",
            Identity="tc-blocked",
            Member=sender,
        )
        _invoke(
            client,
            exo,
            tenant_id,
            "Remove-DistributionGroupMember",
            Identity="tc-blocked",
            Member=sender,
        )
        _invoke(
            client,
            exo,
            tenant_id,
            "New-TransportRule",
            Name="block members",
            FromMemberOf=["tc-blocked"],
            RejectMessageReasonText="Daily limit reached",
        )
        _invoke(
            client,
            exo,
            tenant_id,
            "New-HostedOutboundSpamFilterPolicy",
            Name="cap 2",
            RecipientLimitPerDay=2,
        )
        _invoke(
            client,
            exo,
            tenant_id,
            "New-HostedOutboundSpamFilterRule",
            Name="cap 2",
            HostedOutboundSpamFilterPolicy="cap 2",
            From=[sender],
        )
        _send(client, smtp_port, sender)
        _send(client, smtp_port, sender)
        with pytest.raises(smtplib.SMTPResponseException):
            _send(client, smtp_port, sender)
        clock = client.get("/_sandbox/clock").json()
    assert (data_dir / "sandbox.db").exists()

    with serve(data_dir, http_port, smtp_port) as client:
        tenant = client.get(f"/_sandbox/tenants/{tenant_id}").json()
        assert (tenant["display_name"], tenant["mailbox_count"], tenant["user_count"]) == (
            "Acme",
            1,
            1,
        )
        assert [
            r["value"] for r in client.get("/_sandbox/dns/mail.acme.com").json()["records"]
        ] == ["MS=ms42"]
        assert client.get("/_sandbox/clock").json()["offset_seconds"] >= clock["offset_seconds"]
        # The signing key persisted: a token issued before the restart is still honoured.
        user = client.get(
            f"/v1.0/users/{sender}?$select=accountEnabled",
            headers={"Authorization": f"Bearer {graph_token}"},
        )
        assert user.status_code == 200
        assert user.json()["accountEnabled"] is True
        assert [
            m["PrimarySmtpAddress"] for m in _invoke(client, exo, tenant_id, "Get-Mailbox")
        ] == [sender]
        assert _invoke(client, exo, tenant_id, "Get-DistributionGroup")[0]["Name"] == "tc-blocked"
        assert [r["Name"] for r in _invoke(client, exo, tenant_id, "Get-TransportRule")] == [
            "block members"
        ]
        policies = _invoke(client, exo, tenant_id, "Get-HostedOutboundSpamFilterPolicy")
        assert {p["Name"]: p["RecipientLimitPerDay"] for p in policies} == {
            "Default": 0,
            "cap 2": 2,
        }
        assert len(_invoke(client, exo, tenant_id, "Get-HostedOutboundSpamFilterRule")) == 1
        blocked = _invoke(client, exo, tenant_id, "Get-BlockedSenderAddress")
        assert [b["SenderAddress"] for b in blocked] == [sender]
        now = datetime.fromisoformat(client.get("/_sandbox/clock").json()["now"])
        traces = _invoke(
            client,
            exo,
            tenant_id,
            "Get-MessageTraceV2",
            StartDate=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            EndDate=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        # The third send was refused at MAIL FROM (restricted sender): no trace row for it.
        assert [t["Status"] for t in traces] == ["Delivered", "Delivered"]
        # Only the password hash was kept, and SMTP AUTH still checks against it; the block holds.
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            _send(client, smtp_port, sender)
        assert b"5.1.8" in refused.value.smtp_error
    database = (data_dir / "sandbox.db").read_bytes()
    assert PASSWORD.encode() not in database
    assert b"secret" not in database.replace(b"client_secret", b"")
