"""SMTP AUTH decisions for smtp.office365.com: who may log in, and the reply when they may not.

Pure functions over the store (no SMTP here), so the protocol layer stays thin. The replies
are the ones Exchange Online gives (wire reference section 7.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantcore.sandbox.conditional_access import refusing_policy
from tenantcore.sandbox.directory import mailbox_is_ready
from tenantcore.sandbox.passwords import verify_password

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.store import Row

REPLY_AUTH_UNSUCCESSFUL = "535 5.7.3 Authentication unsuccessful"
REPLY_MAILBOX_SMTP_AUTH_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be"
    " authenticated successfully."
)
REPLY_TENANT_SMTP_AUTH_DISABLED = (
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant."
)
REPLY_CONDITIONAL_ACCESS = (
    "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be"
    " authenticated successfully. Contact your administrator."
)
REPLY_BASIC_AUTH_DISABLED = (
    "550 5.7.30 Basic authentication is not supported for Client Submission."
)
REPLY_SECURITY_DEFAULTS = (
    "535 5.7.139 Authentication unsuccessful, user is locked by your organization's security"
    " defaults policy."
)


@dataclass(frozen=True)
class AuthenticatedMailbox:
    """The identity an SMTP session sends as once AUTH succeeded."""

    tenant_id: str
    mailbox_guid: str
    user_principal_name: str


@dataclass(frozen=True)
class AuthDecision:
    """Either `mailbox` (success) or `reply` (the 535 line to answer)."""

    mailbox: AuthenticatedMailbox | None
    reply: str | None


def _failure(reply: str) -> AuthDecision:
    return AuthDecision(mailbox=None, reply=reply)


def find_user_by_upn(sb: Sandbox, upn: str) -> Row | None:
    """The user with this UPN in the tenant that owns the UPN's domain.

    Several tenants may list one domain (only one can have it verified), so the verified
    owner wins.
    """
    _, at, domain = upn.rpartition("@")
    if not at or not domain:
        return None
    return sb.store.one(
        "SELECT u.* FROM directory_user u JOIN domain d ON d.tenant_id = u.tenant_id"
        " WHERE u.user_principal_name = ? AND d.name = ?"
        " ORDER BY d.is_verified DESC, u.created_at LIMIT 1",
        (upn, domain),
    )


def smtp_auth_block(sb: Sandbox, tenant: Row, mailbox: Row, user: Row) -> str | None:
    """The 5.7.139 reply when policy forbids SMTP AUTH for this mailbox, else None.

    Security defaults and Conditional Access policies that block legacy authentication
    refuse it in Entra before Exchange is asked. The
    mailbox switch wins over the organization's when it is set (`$false` re-enables SMTP AUTH
    for one mailbox in an organization that disabled it, Microsoft's recommended pattern);
    NULL inherits the organization's setting.
    """
    if tenant["security_defaults_enabled"]:
        return REPLY_SECURITY_DEFAULTS
    if refusing_policy(sb, str(tenant["id"]), str(user["id"])) is not None:
        return REPLY_CONDITIONAL_ACCESS
    return switch_block(tenant, mailbox)


def switch_block(tenant: Row, mailbox: Row) -> str | None:
    """The 5.7.139 reply when Exchange's SMTP AUTH switches turn the protocol off for this
    mailbox (whatever the authentication, OAuth too), else None."""
    mailbox_setting = mailbox["smtp_auth_disabled"]
    if mailbox_setting is not None:
        return REPLY_MAILBOX_SMTP_AUTH_DISABLED if mailbox_setting else None
    return REPLY_TENANT_SMTP_AUTH_DISABLED if tenant["smtp_auth_disabled"] else None


def _basic_auth_disabled(sb: Sandbox, tenant_id: str) -> bool:
    """The tenant turned Basic authentication for SMTP AUTH off (wire reference 7.2:
    Microsoft's default for existing tenants after December 2026): every password login is
    refused with 5.7.30 before the password is looked at; XOAUTH2 is not affected."""
    row = sb.store.one("SELECT basic_auth_disabled FROM tenant WHERE id = ?", (tenant_id,))
    return bool(row and row["basic_auth_disabled"])


def authenticate(sb: Sandbox, username: str, password: str) -> AuthDecision:
    """Check a Basic (LOGIN/PLAIN) SMTP AUTH attempt against the directory.

    Every credential problem answers the same generic 5.7.3, as Microsoft does: unknown user,
    no mailbox, mailbox still propagating, no password, wrong password, disabled account, or a
    password that must be changed at next sign-in. Policy blocks (5.7.139) are only revealed
    to a caller that knows the password.
    """
    user = find_user_by_upn(sb, username.strip())
    if user is None:
        return _failure(REPLY_AUTH_UNSUCCESSFUL)
    if _basic_auth_disabled(sb, str(user["tenant_id"])):
        return _failure(REPLY_BASIC_AUTH_DISABLED)
    password_ok = verify_password(password, user["password_hash"])
    mailbox = sb.store.one("SELECT * FROM mailbox WHERE user_id = ?", (user["id"],))
    if (
        not password_ok
        or mailbox is None
        or not mailbox_is_ready(sb, mailbox)
        or not user["account_enabled"]
        or user["force_change_password"]
    ):
        return _failure(REPLY_AUTH_UNSUCCESSFUL)
    tenant = sb.store.one("SELECT * FROM tenant WHERE id = ?", (user["tenant_id"],))
    if tenant is None:
        return _failure(REPLY_AUTH_UNSUCCESSFUL)
    blocked = smtp_auth_block(sb, tenant, mailbox, user)
    if blocked is not None:
        return _failure(blocked)
    return AuthDecision(
        mailbox=AuthenticatedMailbox(
            tenant_id=tenant["id"],
            mailbox_guid=mailbox["guid"],
            user_principal_name=user["user_principal_name"],
        ),
        reply=None,
    )
