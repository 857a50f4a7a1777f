"""Mailbox errors (seed: list, provision, update, usage). Errors shared with other features
(`tenant_not_found`, `domain_not_found`, `invalid_send_limit`, `exchange_bootstrap_not_ready`)
keep their one definition there."""

from __future__ import annotations

from tenantcore.core.errors import AppError
from tenantcore.mailboxes.models import MAX_MAILBOXES_PER_DOMAIN


class MailboxNotFound(AppError):
    status = 404
    code = "mailbox_not_found"
    default_message = "Mailbox does not exist on this tenant."


class MailboxLimitReached(AppError):
    code = "mailbox_limit_reached"
    default_message = f"Domain already has {MAX_MAILBOXES_PER_DOMAIN} mailboxes."


class InvalidEmail(AppError):
    code = "invalid_email"
    default_message = "Every email must be a valid address ending with @{domain}."


class DuplicateEmail(AppError):
    code = "duplicate_email"
    default_message = "The request lists the same email more than once."


class WeakPassword(AppError):
    code = "weak_password"
    default_message = (
        "account_password must be 8-256 ASCII characters with at least 3 of: lowercase, "
        "uppercase, digits, symbols (Microsoft's complexity rule)."
    )


class DomainNotVerified(AppError):
    code = "domain_not_verified"
    default_message = (
        "The domain is not verified with Email enabled in Microsoft 365 yet: verify it first "
        "(POST /v1/tenants/{tenant_id}/domains/{domain}/verify)."
    )


class InvalidDisplayName(AppError):
    code = "invalid_display_name"
    default_message = "A display name must be 1-256 characters and not blank."


class NoUpdates(AppError):
    code = "no_updates"
    default_message = (
        "Request body contained no recognised fields (display_name, daily_send_limit, "
        "smtp_auth_enabled, account_password)."
    )


class MailboxProvisioning(AppError):
    status = 409
    code = "mailbox_provisioning"
    retryable = True
    default_message = (
        "The mailbox is still being provisioned in Exchange; delete it once it is ready or failed."
    )


class MailboxNotReady(AppError):
    status = 409
    code = "mailbox_not_ready"
    default_message = (
        "SMTP AUTH and the password can be changed only on a ready mailbox: Exchange is still "
        "creating it, or its provisioning failed."
    )
