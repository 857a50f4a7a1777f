"""App-only SMTP AUTH with OAuth (XOAUTH2): an application with `SMTP.SendAsApp` sends as a
mailbox once its service principal is registered in Exchange (Graph gives its object id) and
holds FullAccess on the mailbox; SMTP AUTH switches apply, Basic-authentication blocks do not."""

from __future__ import annotations

import smtplib
from typing import Any

import httpx2
import pytest

from tests.conftest import EXCHANGE_SCOPE, SandboxHarness, SandboxTenant
from tests.sandbox.smtp_seed import (
    PASSWORD,
    SeededMailbox,
    add_domain,
    add_mailbox,
    client_tls,
    send,
    set_tenant,
    smtp_session,
    write,
)
from tests.sandbox.test_exchange_support import cause, values, warnings

DOMAIN = "outreach.example"
SENDER_APP = "7d0e3a52-1b4c-4e8f-9a61-2c5d8f0b7e13"
SENDER_SECRET = "sender-app-secret"


def _consent_sender_app(sandbox: SandboxHarness, tenant: SandboxTenant, **roles: Any) -> None:
    """The customer's own sending application, admin-consented in the tenant."""
    response = sandbox.http.post(
        "/_sandbox/tenants",
        json={
            "tenant_id": tenant.tenant_id,
            "client_id": SENDER_APP,
            "client_secret": SENDER_SECRET,
            "graph_roles": [],
            "exchange_roles": roles.get("exchange_roles", ["SMTP.SendAsApp"]),
        },
    )
    assert response.status_code == 200, response.text


def _sender_token(sandbox: SandboxHarness, tenant: SandboxTenant) -> str:
    sender = SandboxTenant(tenant.tenant_id, tenant.initial_domain, SENDER_APP, SENDER_SECRET)
    return sandbox.token(sender, EXCHANGE_SCOPE)


def _oauth_login(
    sandbox: SandboxHarness, mailbox: SeededMailbox, token: str, *, send: bool = False
) -> tuple[int, bytes]:
    """XOAUTH2 over STARTTLS as smtplib does it; the AUTH reply (or DATA's, with `send`)."""
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as client:
        client.starttls(context=client_tls(sandbox))
        client.ehlo()
        assert "XOAUTH2" in client.esmtp_features["auth"].split()
        try:
            code, reply = client.auth(
                "XOAUTH2",
                lambda _challenge=None: f"user={mailbox.address}\x01auth=Bearer {token}\x01\x01",
            )
        except smtplib.SMTPAuthenticationError as refused:
            error = refused.smtp_error
            return refused.smtp_code, error if isinstance(error, bytes) else error.encode()
        if not send:
            return code, reply
        client.mail(mailbox.address)
        client.rcpt("lead@prospect.example")
        return client.data(b"Subject: Hello\r\n\r\nHi\r\n")


def _register_and_grant(
    sandbox: SandboxHarness, exchange: httpx2.Client, tenant: SandboxTenant, mailbox: str
) -> str:
    """What an admin (or TenantCore) runs: the object id from Graph, then the two cmdlets."""
    found = sandbox.graph(tenant).get(f"/servicePrincipals(appId='{SENDER_APP}')")
    assert found.status_code == 200, found.text
    object_id = str(found.json()["id"])
    registered = sandbox.invoke(
        exchange, "New-ServicePrincipal", AppId=SENDER_APP, ObjectId=object_id, DisplayName="Sender"
    )
    assert registered.status_code == 200, registered.text
    granted = sandbox.invoke(
        exchange,
        "Add-MailboxPermission",
        Identity=mailbox,
        User=object_id,
        AccessRights="FullAccess",
    )
    assert granted.status_code == 200, granted.text
    return object_id


def _setup(sandbox: SandboxHarness) -> tuple[SandboxTenant, SeededMailbox, httpx2.Client]:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, DOMAIN)
    mailbox = add_mailbox(sandbox, tenant, f"sdr1@{DOMAIN}", enabled=False, password=None)
    _consent_sender_app(sandbox, tenant)
    return tenant, mailbox, sandbox.exchange(tenant)


def test_an_app_sends_as_a_mailbox_it_has_full_access_to(sandbox: SandboxHarness) -> None:
    tenant, mailbox, exchange = _setup(sandbox)
    token = _sender_token(sandbox, tenant)
    # Consent alone is not enough: Exchange does not know the app yet.
    assert _oauth_login(sandbox, mailbox, token) == (535, b"5.7.3 Authentication unsuccessful")
    object_id = _register_and_grant(sandbox, exchange, tenant, mailbox.address)
    # A shared mailbox's disabled account without a password is no obstacle to OAuth.
    assert _oauth_login(sandbox, mailbox, token)[0] == 235
    assert _oauth_login(sandbox, mailbox, token, send=True)[0] == 250

    [principal] = values(sandbox.invoke(exchange, "Get-ServicePrincipal", Identity=SENDER_APP))
    assert (principal["AppId"], principal["ObjectId"], principal["DisplayName"]) == (
        SENDER_APP,
        object_id,
        "Sender",
    )
    [permission] = values(
        sandbox.invoke(exchange, "Get-MailboxPermission", Identity=mailbox.address)
    )
    assert (permission["User"], permission["AccessRights"]) == ("Sender", ["FullAccess"])

    # Removing the permission shuts the door again.
    removed = sandbox.invoke(
        exchange,
        "Remove-MailboxPermission",
        Identity=mailbox.address,
        User=SENDER_APP,
        AccessRights="FullAccess",
    )
    assert removed.status_code == 200, removed.text
    assert _oauth_login(sandbox, mailbox, token)[0] == 535


def test_cmdlets_are_safe_to_repeat_and_say_what_is_wrong(sandbox: SandboxHarness) -> None:
    tenant, mailbox, exchange = _setup(sandbox)
    object_id = _register_and_grant(sandbox, exchange, tenant, mailbox.address)
    again = sandbox.invoke(exchange, "New-ServicePrincipal", AppId=SENDER_APP, ObjectId=object_id)
    assert again.status_code == 400
    assert "already exists" in cause(again)[1]
    repeated = sandbox.invoke(
        exchange,
        "Add-MailboxPermission",
        Identity=mailbox.address,
        User=object_id,
        AccessRights="FullAccess",
    )
    assert repeated.status_code == 200
    assert any("existing permission" in warning for warning in warnings(repeated))
    assert (
        len(values(sandbox.invoke(exchange, "Get-MailboxPermission", Identity=mailbox.address)))
        == 1
    )
    unknown_user = sandbox.invoke(
        exchange,
        "Add-MailboxPermission",
        Identity=mailbox.address,
        User="00000000-0000-0000-0000-00000000abcd",
        AccessRights="FullAccess",
    )
    assert unknown_user.status_code == 404
    unknown_mailbox = sandbox.invoke(exchange, "Get-MailboxPermission", Identity=f"nobody@{DOMAIN}")
    assert unknown_mailbox.status_code == 404
    # Removing the service principal removes its permissions too.
    gone = sandbox.invoke(exchange, "Remove-ServicePrincipal", Identity=object_id)
    assert gone.status_code == 200, gone.text
    assert values(sandbox.invoke(exchange, "Get-MailboxPermission", Identity=mailbox.address)) == []
    missing = sandbox.invoke(exchange, "Get-ServicePrincipal", Identity=object_id)
    assert missing.status_code == 404


def test_graph_finds_consented_apps_only(sandbox: SandboxHarness) -> None:
    tenant, _, _ = _setup(sandbox)
    graph = sandbox.graph(tenant)
    found = graph.get(f"/servicePrincipals(appId='{SENDER_APP}')").json()
    assert (found["appId"], found["servicePrincipalType"]) == (SENDER_APP, "Application")
    # The id is the object id tokens of the app carry as `oid`.
    assert found["id"] != SENDER_APP
    missing = graph.get("/servicePrincipals(appId='00000000-0000-0000-0000-0000000000aa')")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_only_an_app_only_exchange_token_with_smtp_send_as_app_logs_in(
    sandbox: SandboxHarness,
) -> None:
    tenant, mailbox, exchange = _setup(sandbox)
    _register_and_grant(sandbox, exchange, tenant, mailbox.address)
    # TenantCore's own management token: right audience, no SMTP.SendAsApp.
    management = sandbox.token(tenant, EXCHANGE_SCOPE)
    assert _oauth_login(sandbox, mailbox, management)[0] == 535
    sender = SandboxTenant(tenant.tenant_id, tenant.initial_domain, SENDER_APP, SENDER_SECRET)
    graph_token = sandbox.token(sender, "https://graph.microsoft.com/.default")
    assert _oauth_login(sandbox, mailbox, graph_token)[0] == 535
    assert _oauth_login(sandbox, mailbox, "not.a.token")[0] == 535
    # Another tenant's mailbox of the same name space: the token's tenant must own it.
    other = sandbox.create_tenant()
    add_domain(sandbox, other, "other.example")
    stranger = add_mailbox(sandbox, other, "sdr1@other.example")
    assert _oauth_login(sandbox, stranger, _sender_token(sandbox, tenant))[0] == 535
    # An expired token.
    token = _sender_token(sandbox, tenant)
    assert _oauth_login(sandbox, mailbox, token)[0] == 235
    sandbox.http.post("/_sandbox/clock", json={"advance_seconds": 2 * 3600})
    assert _oauth_login(sandbox, mailbox, token)[0] == 535


def test_smtp_auth_switches_apply_but_basic_auth_blocks_do_not(sandbox: SandboxHarness) -> None:
    tenant, mailbox, exchange = _setup(sandbox)
    _register_and_grant(sandbox, exchange, tenant, mailbox.address)
    token = _sender_token(sandbox, tenant)
    set_tenant(sandbox, tenant, security_defaults_enabled=1)
    assert _oauth_login(sandbox, mailbox, token)[0] == 235
    write(sandbox, "UPDATE mailbox SET smtp_auth_disabled = 1 WHERE guid = ?", (mailbox.guid,))
    code, reply = _oauth_login(sandbox, mailbox, token)
    assert (code, reply[:9]) == (535, b"5.7.139 A")


def test_a_malformed_initial_response_is_refused(sandbox: SandboxHarness) -> None:
    _setup(sandbox)
    with smtplib.SMTP("127.0.0.1", sandbox.smtp_port, timeout=10) as client:
        client.starttls(context=client_tls(sandbox))
        client.ehlo()
        assert client.docmd("AUTH", "XOAUTH2 !!!notbase64")[0] == 501
        code, _ = client.docmd("AUTH", "XOAUTH2 dXNlcj1ub2JvZHk=")  # "user=nobody", no auth
        assert code == 535


def test_with_basic_authentication_off_only_oauth_logs_in(sandbox: SandboxHarness) -> None:
    tenant, _, exchange = _setup(sandbox)
    with_password = add_mailbox(sandbox, tenant, f"sdr2@{DOMAIN}")
    _register_and_grant(sandbox, exchange, tenant, with_password.address)
    assert send(sandbox, with_password, ["lead@prospect.example"])[0] == 250
    patched = sandbox.http.patch(
        f"/_sandbox/tenants/{tenant.tenant_id}", json={"basic_auth_disabled": True}
    )
    assert (patched.status_code, patched.json()["basic_auth_disabled"]) == (200, True)
    # Every password login is refused, the right password or not: it is not looked at.
    for password in (PASSWORD, "wrong"):
        with smtp_session(sandbox) as client, pytest.raises(smtplib.SMTPAuthenticationError) as no:
            client.login(with_password.address, password)
        assert (no.value.smtp_code, no.value.smtp_error) == (
            550,
            b"5.7.30 Basic authentication is not supported for Client Submission.",
        )
    token = _sender_token(sandbox, tenant)
    assert _oauth_login(sandbox, with_password, token, send=True)[0] == 250
