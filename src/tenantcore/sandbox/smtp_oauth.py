"""SMTP AUTH with OAuth (XOAUTH2) as an application (wire reference 1.4, 7.1).

The client sends `base64("user=" + UPN + "\\x01auth=Bearer " + token + "\\x01\\x01")`. Exchange
accepts it when the token is an app-only token for `https://outlook.office365.com` with the
`SMTP.SendAsApp` role, issued in the mailbox's tenant, and the application's service principal
is registered in Exchange (`New-ServicePrincipal`) with `FullAccess` on the mailbox
(`Add-MailboxPermission`). Exchange's SMTP AUTH switches apply as to passwords (they turn the
protocol off); security defaults and Conditional Access policies that block legacy
authentication do not, because this is not Basic authentication, and the account may be
disabled, as a shared mailbox's is. Every other failure answers the generic `535 5.7.3
Authentication unsuccessful` at once, as client logs of Exchange Online show (e.g. PHPMailer
discussion #2845), not the `334` JSON challenge Gmail sends before its final refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantcore.sandbox import tokens
from tenantcore.sandbox.directory import mailbox_is_ready
from tenantcore.sandbox.smtpauth import (
    REPLY_AUTH_UNSUCCESSFUL,
    AuthDecision,
    AuthenticatedMailbox,
    find_user_by_upn,
    switch_block,
)

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox

SEND_ROLE = "SMTP.SendAsApp"
_FAILED = AuthDecision(mailbox=None, reply=REPLY_AUTH_UNSUCCESSFUL)


def parse_initial_response(data: bytes) -> tuple[str, str] | None:
    """(user, token) from XOAUTH2's decoded initial response; None when malformed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields: dict[str, str] = {}
    for part in text.split("\x01"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            return None
        fields[key.strip().lower()] = value
    scheme, _, token = fields.get("auth", "").partition(" ")
    user = fields.get("user", "").strip()
    if not user or scheme.lower() != "bearer" or not token.strip():
        return None
    return user, token.strip()


def authenticate_app(sb: Sandbox, username: str, token: str) -> AuthDecision:
    """Check an app-only XOAUTH2 attempt: token, mailbox, service principal, permission."""
    try:
        claims = tokens.verify(sb.signing_key, token, now=sb.now())
    except tokens.TokenError:
        return _FAILED
    if claims.audience != tokens.EXCHANGE_AUDIENCE or SEND_ROLE not in claims.roles:
        return _FAILED
    user = find_user_by_upn(sb, username)
    if user is None or user["tenant_id"] != claims.tenant_id:
        return _FAILED
    mailbox = sb.store.one("SELECT * FROM mailbox WHERE user_id = ?", (user["id"],))
    if mailbox is None or not mailbox_is_ready(sb, mailbox):
        return _FAILED
    granted = sb.store.one(
        "SELECT 1 FROM service_principal s JOIN mailbox_permission p ON p.trustee = s.object_id"
        " WHERE s.tenant_id = ? AND s.app_id = ? AND p.mailbox_guid = ?"
        " AND p.access_right = 'FullAccess'",
        (claims.tenant_id, claims.app_id.lower(), mailbox["guid"]),
    )
    if granted is None:
        return _FAILED
    tenant = sb.store.one("SELECT * FROM tenant WHERE id = ?", (claims.tenant_id,))
    if tenant is None:
        return _FAILED
    blocked = switch_block(tenant, mailbox)
    if blocked is not None:
        return AuthDecision(mailbox=None, reply=blocked)
    return AuthDecision(
        mailbox=AuthenticatedMailbox(
            tenant_id=str(tenant["id"]),
            mailbox_guid=str(mailbox["guid"]),
            user_principal_name=str(user["user_principal_name"]),
        ),
        reply=None,
    )
