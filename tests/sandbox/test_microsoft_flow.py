"""The whole Microsoft-side flow over raw HTTP and SMTP, as TenantCore will drive it (acceptance 3).

token → dehydrated org → Enable-OrganizationCustomization → domain add and verify → New-Mailbox
-Shared → PATCH user → Set-CASMailbox → propagation → N sends → Get-MessageTraceV2 returns N rows
→ group + transport rule blocks the sender → an outbound spam policy blocks at its limit → after
the clock passes UTC midnight the BlockUserForToday block lifts.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx2
import pytest

from tests.conftest import SandboxHarness

DOMAIN = "mail.acmecorp.com"
ADDRESS = f"sales@{DOMAIN}"
PASSWORD = "SecureP@ssw0rd!"


def _rows(response: httpx2.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def _send(harness: SandboxHarness, context: ssl.SSLContext, subject: str) -> None:
    message = EmailMessage()
    message["From"] = ADDRESS
    message["To"] = "lead@prospect.example"
    message["Subject"] = subject
    message.set_content("Hello")
    with smtplib.SMTP("127.0.0.1", harness.smtp_port, timeout=10) as client:
        client.starttls(context=context)
        client.login(ADDRESS, PASSWORD)
        client.send_message(message)


def _send_refused(harness: SandboxHarness, context: ssl.SSLContext) -> tuple[int, bytes | str]:
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        _send(harness, context, "refused")
    return refused.value.smtp_code, refused.value.smtp_error


def test_whole_microsoft_side_flow(sandbox: SandboxHarness) -> None:
    sandbox.configure(
        bootstrap_seconds=60,
        propagation_min_seconds=120,
        propagation_max_seconds=120,
        trace_delay_min_seconds=300,
        trace_delay_max_seconds=300,
    )
    sandbox.move_clock_to_hour(6)
    tenant = sandbox.create_tenant(dehydrated=True, display_name="Acme Corp")
    tls = ssl.create_default_context(cadata=sandbox.http.get("/_sandbox/tls/ca.pem").text)
    exchange, graph = sandbox.exchange(tenant), sandbox.graph(tenant)

    # Dehydrated org: policy cmdlets refuse until Enable-OrganizationCustomization has settled.
    org = _rows(sandbox.invoke(exchange, "Get-OrganizationConfig"))[0]
    assert org["IsDehydrated"] is True
    early = sandbox.invoke(
        exchange, "New-HostedOutboundSpamFilterPolicy", Name="cap", RecipientLimitPerDay=5
    )
    assert early.status_code == 400
    assert "Enable-OrganizationCustomization" in early.text
    assert sandbox.invoke(exchange, "Enable-OrganizationCustomization").status_code == 200
    assert _rows(sandbox.invoke(exchange, "Get-OrganizationConfig"))[0]["IsDehydrated"] is True
    sandbox.advance_clock(60)
    assert _rows(sandbox.invoke(exchange, "Get-OrganizationConfig"))[0]["IsDehydrated"] is False
    assert (
        sandbox.invoke(
            exchange, "Set-TransportConfig", SmtpClientAuthenticationDisabled=False
        ).status_code
        == 200
    )

    # Domain: add, publish the verification TXT, verify, enable Email.
    assert graph.post("/domains", json={"id": DOMAIN}).status_code == 201
    records = graph.get(f"/domains/{DOMAIN}/verificationDnsRecords").json()["value"]
    txt = next(r for r in records if r["recordType"] == "Txt")
    assert graph.post(f"/domains/{DOMAIN}/verify").status_code == 400
    sandbox.publish_dns(DOMAIN, [{"type": "TXT", "name": "@", "value": txt["text"]}])
    verified = graph.post(f"/domains/{DOMAIN}/verify")
    assert verified.status_code == 200
    assert verified.json()["isVerified"] is True
    assert (
        graph.patch(f"/domains/{DOMAIN}", json={"supportedServices": ["Email"]}).status_code == 204
    )

    # Shared mailbox: New-Mailbox, then the account's password and sign-in, then SMTP AUTH.
    created = _rows(
        sandbox.invoke(
            exchange,
            "New-Mailbox",
            Shared=True,
            Name="sales-mail-acmecorp-com",
            Alias="sales-mail-acmecorp-com",
            DisplayName="Sales Outreach",
            PrimarySmtpAddress=ADDRESS,
        )
    )[0]
    assert created["RecipientTypeDetails"] == "SharedMailbox"
    user_id = created["ExternalDirectoryObjectId"]
    patched = graph.patch(
        f"/users/{user_id}",
        json={
            "accountEnabled": True,
            "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
            "passwordPolicies": "DisablePasswordExpiration",
        },
    )
    assert patched.status_code == 204
    assert (
        sandbox.invoke(
            exchange, "Set-CASMailbox", Identity=ADDRESS, SmtpClientAuthenticationDisabled=False
        ).status_code
        == 200
    )

    # Still propagating: SMTP AUTH does not know the mailbox yet.
    code, text = _send_refused(sandbox, tls)
    assert (code, b"5.7.3" in text) == (535, True)
    sandbox.advance_clock(120)

    sends = 3
    for index in range(sends):
        _send(sandbox, tls, f"hello {index}")

    def trace_today() -> list[dict[str, Any]]:
        now = datetime.fromisoformat(sandbox.http.get("/_sandbox/clock").json()["now"])
        window = {
            "SenderAddress": [ADDRESS],
            "StartDate": now.replace(hour=0, minute=0, second=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "EndDate": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return _rows(sandbox.invoke(exchange, "Get-MessageTraceV2", **window))

    assert trace_today() == []  # not visible before Microsoft's trace delay
    sandbox.advance_clock(300)
    traced = trace_today()
    assert len(traced) == sends
    assert {row["Status"] for row in traced} == {"Delivered"}

    # The switch: a security group and a transport rule rejecting its members.
    assert (
        sandbox.invoke(
            exchange,
            "New-DistributionGroup",
            Name="tc-blocked",
            Type="Security",
            PrimarySmtpAddress=f"tc-blocked@{DOMAIN}",
        ).status_code
        == 200
    )
    assert (
        sandbox.invoke(
            exchange,
            "New-TransportRule",
            Name="TenantCore daily limit",
            FromMemberOf=["tc-blocked"],
            RejectMessageReasonText="Daily send limit reached",
            RejectMessageEnhancedStatusCode="5.7.901",
        ).status_code
        == 200
    )
    assert (
        sandbox.invoke(
            exchange, "Add-DistributionGroupMember", Identity="tc-blocked", Member=ADDRESS
        ).status_code
        == 200
    )
    code, text = _send_refused(sandbox, tls)
    assert code == 550
    assert b"5.7.901" in text
    assert b"Daily send limit reached" in text
    assert (
        sandbox.invoke(
            exchange, "Remove-DistributionGroupMember", Identity="tc-blocked", Member=ADDRESS
        ).status_code
        == 200
    )

    # The exact cap: 3 sent today, a policy of 5 recipients per day allows exactly 2 more.
    assert (
        sandbox.invoke(
            exchange,
            "New-HostedOutboundSpamFilterPolicy",
            Name="TenantCore cap 5",
            RecipientLimitPerDay=5,
            ActionWhenThresholdReached="BlockUserForToday",
        ).status_code
        == 200
    )
    assert (
        sandbox.invoke(
            exchange,
            "New-HostedOutboundSpamFilterRule",
            Name="TenantCore cap 5",
            HostedOutboundSpamFilterPolicy="TenantCore cap 5",
            From=[ADDRESS],
            Priority=0,
        ).status_code
        == 200
    )
    _send(sandbox, tls, "fourth")
    _send(sandbox, tls, "fifth")
    code, text = _send_refused(sandbox, tls)
    assert code == 550
    assert b"5.1.8" in text
    blocked = _rows(sandbox.invoke(exchange, "Get-BlockedSenderAddress"))
    assert [row["SenderAddress"] for row in blocked] == [ADDRESS]

    # Past UTC midnight, BlockUserForToday lifts and the counter starts again.
    now = datetime.fromisoformat(sandbox.http.get("/_sandbox/clock").json()["now"])
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    sandbox.advance_clock((midnight - now).total_seconds() + 1)
    # Hours went by: the old token has expired, like a real one would.
    assert sandbox.invoke(exchange, "Get-BlockedSenderAddress").status_code == 401
    exchange.close()
    exchange = sandbox.exchange(tenant)
    assert _rows(sandbox.invoke(exchange, "Get-BlockedSenderAddress")) == []
    _send(sandbox, tls, "a new day")
    graph.close()
    exchange.close()
