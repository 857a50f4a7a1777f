"""SMTP AUTH submission: TLS, login, the SMTP AUTH switches, send-as and restricted senders."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.smtp_seed import (
    PASSWORD,
    SeededMailbox,
    add_mailbox,
    block,
    client_tls,
    now,
    rows,
    send,
    set_tenant,
    smtp_session,
    write,
)

AUTH_UNSUCCESSFUL = b"5.7.3 Authentication unsuccessful"


def _mailbox(sandbox: SandboxHarness, **options: Any) -> tuple[SandboxTenant, SeededMailbox]:
    tenant = sandbox.create_tenant()
    return tenant, add_mailbox(sandbox, tenant, f"sdr1@{tenant.initial_domain}", **options)


def _login_error(sandbox: SandboxHarness, user: str, password: str) -> tuple[int, bytes]:
    with smtp_session(sandbox) as client, pytest.raises(smtplib.SMTPAuthenticationError) as err:
        client.login(user, password)
    reply = err.value.smtp_error
    assert isinstance(reply, bytes)
    return err.value.smtp_code, reply


class TestSession:
    def test_banner_and_ehlo_offer_auth_only_after_starttls(self, sandbox: SandboxHarness) -> None:
        with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as client:
            code, banner = client.ehlo("client.example")
            assert code == 250
            assert b"Hello [127.0.0.1]" in banner
            assert client.has_extn("starttls")
            assert client.has_extn("enhancedstatuscodes")
            assert client.has_extn("size")
            assert not client.has_extn("auth")
            assert client.mail("a@b.example")[0] == 530
            client.starttls(context=client_tls(sandbox))
            client.ehlo("client.example")
            assert not client.has_extn("starttls")
            assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN", "XOAUTH2"]

    def test_banner_names_microsoft_esmtp(self, sandbox: SandboxHarness) -> None:
        client = smtplib.SMTP(timeout=10)
        try:
            code, banner = client.connect("127.0.0.1", sandbox.smtp_port)
            assert code == 220
            assert b".outlook.office365.com Microsoft ESMTP MAIL Service ready at" in banner
        finally:
            client.close()

    def test_mail_before_auth_is_5_7_57(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox)
        with smtp_session(sandbox) as client:
            code, reply = client.mail(mailbox.address)
        assert (code, reply) == (530, b"5.7.57 Client not authenticated to send mail")

    def test_ready_mailbox_sends_with_login_and_plain(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox)
        for mechanism in ("LOGIN", "PLAIN"):
            with smtp_session(sandbox) as client:
                client.user, client.password = mailbox.address, PASSWORD
                code, reply = client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
                assert (code, reply) == (235, b"2.7.0 Authentication successful")
                assert client.mail(mailbox.address) == (250, b"2.1.0 Sender OK")
                assert client.rcpt("lead@prospect.example") == (250, b"2.1.5 Recipient OK")
                code, reply = client.data(
                    b"Subject: hi\r\nMessage-ID: <m1@x.example>\r\n\r\nhi\r\n"
                )
                assert code == 250
                assert reply.startswith(b"2.0.0 OK <m1@x.example> [Hostname=")


class TestAuthentication:
    def test_wrong_password(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox)
        assert _login_error(sandbox, mailbox.address, "Wrong-Pass-999") == (535, AUTH_UNSUCCESSFUL)

    def test_unknown_user_and_user_of_unknown_domain(self, sandbox: SandboxHarness) -> None:
        tenant, _ = _mailbox(sandbox)
        assert _login_error(sandbox, f"nobody@{tenant.initial_domain}", PASSWORD) == (
            535,
            AUTH_UNSUCCESSFUL,
        )
        assert _login_error(sandbox, "sdr1@elsewhere.example", PASSWORD)[0] == 535

    def test_mailbox_still_propagating_then_ready(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox, ready_in_seconds=180)
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (535, AUTH_UNSUCCESSFUL)
        sandbox.advance_clock(181)
        with smtp_session(sandbox, (mailbox.address, PASSWORD)) as client:
            assert client.noop()[0] == 250

    def test_no_password_set(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox, password=None)
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (535, AUTH_UNSUCCESSFUL)

    def test_disabled_account(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox, enabled=False)
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (535, AUTH_UNSUCCESSFUL)

    def test_user_without_mailbox_cannot_send(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox)
        write(sandbox, "DELETE FROM mailbox WHERE guid = ?", (mailbox.guid,))
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (535, AUTH_UNSUCCESSFUL)

    def test_smtp_auth_disabled_for_tenant(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox, smtp_auth_disabled=None)
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (
            535,
            b"5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the"
            b" Tenant.",
        )

    def test_smtp_auth_disabled_for_mailbox(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox, smtp_auth_disabled=True)
        set_tenant(sandbox, tenant, smtp_auth_disabled=0)
        assert _login_error(sandbox, mailbox.address, PASSWORD) == (
            535,
            b"5.7.139 Authentication unsuccessful, the request did not meet the criteria to be"
            b" authenticated successfully.",
        )

    def test_mailbox_enabled_overrides_tenant_disabled(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox, smtp_auth_disabled=False)
        tenant_row = rows(sandbox, "SELECT * FROM tenant WHERE id = ?", (tenant.tenant_id,))[0]
        assert tenant_row["smtp_auth_disabled"] == 1
        with smtp_session(sandbox, (mailbox.address, PASSWORD)) as client:
            assert client.noop()[0] == 250

    def test_tenant_enabled_and_mailbox_inheriting(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox, smtp_auth_disabled=None)
        set_tenant(sandbox, tenant, smtp_auth_disabled=0)
        with smtp_session(sandbox, (mailbox.address, PASSWORD)) as client:
            assert client.noop()[0] == 250

    def test_security_defaults_block_basic_auth(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox)
        set_tenant(sandbox, tenant, security_defaults_enabled=1)
        code, reply = _login_error(sandbox, mailbox.address, PASSWORD)
        assert code == 535
        assert reply.startswith(b"5.7.139 Authentication unsuccessful, user is locked by your")

    def test_policy_block_is_not_revealed_without_the_password(
        self, sandbox: SandboxHarness
    ) -> None:
        _, mailbox = _mailbox(sandbox, smtp_auth_disabled=True)
        assert _login_error(sandbox, mailbox.address, "Wrong-Pass-999") == (535, AUTH_UNSUCCESSFUL)

    def test_concurrent_connections_per_mailbox(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _mailbox(sandbox)
        sandbox.configure(smtp_max_connections_per_mailbox=2)
        with (
            smtp_session(sandbox, (mailbox.address, PASSWORD)),
            smtp_session(sandbox, (mailbox.address, PASSWORD)),
        ):
            code, reply = _login_error(sandbox, mailbox.address, PASSWORD)
            assert (code, reply) == (432, b"4.3.2 Concurrent connections limit exceeded.")
        # Closed sessions give their slots back.
        with smtp_session(sandbox, (mailbox.address, PASSWORD)) as client:
            assert client.noop()[0] == 250


class TestSender:
    def test_send_as_another_address_is_denied(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox)
        other = add_mailbox(sandbox, tenant, f"sdr2@{tenant.initial_domain}")
        code, reply = send(sandbox, mailbox, ["lead@prospect.example"], from_address=other.address)
        assert code == 554
        assert reply.startswith(
            b"5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied;"
        )

    def test_secondary_proxy_address_may_send(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        alias = f"Alias@{tenant.initial_domain}"
        mailbox = add_mailbox(
            sandbox, tenant, f"sdr1@{tenant.initial_domain}", extra_addresses=(alias,)
        )
        code, _ = send(sandbox, mailbox, ["lead@prospect.example"], from_address=alias.upper())
        assert code == 250

    def test_restricted_sender_is_refused_at_mail_from(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox)
        block(sandbox, tenant, mailbox.address, None)
        code, reply = send(sandbox, mailbox, ["lead@prospect.example"])
        assert (code, reply) == (550, b"5.1.8 Access denied, bad outbound sender AS(42004)")

    def test_expired_block_no_longer_restricts(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _mailbox(sandbox)
        block(sandbox, tenant, mailbox.address, now(sandbox) + timedelta(seconds=30))
        assert send(sandbox, mailbox, ["lead@prospect.example"])[0] == 550
        sandbox.advance_clock(31)
        assert send(sandbox, mailbox, ["lead@prospect.example"])[0] == 250
