"""Domain errors."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class InvalidDomain(AppError):
    code = "invalid_domain"
    default_message = (
        "domain must be a fully qualified domain name you own (e.g. mail.acmecorp.com), "
        "not an onmicrosoft.com domain."
    )


class DomainNotFound(AppError):
    status = 404
    code = "domain_not_found"
    default_message = "Domain not registered on this tenant."


class DomainAlreadyRegistered(AppError):
    status = 409
    code = "domain_already_registered"
    default_message = "This domain is already registered on another tenant in TenantCore."


class DomainVerificationFailed(AppError):
    code = "domain_verification_failed"
    retryable = True
    default_message = (
        "Microsoft could not find the verification TXT record yet; publish it and retry "
        "(DNS changes can take a while to propagate)."
    )


class TenantNotConnected(AppError):
    status = 409
    code = "tenant_not_connected"
    default_message = "Admin consent has not been granted for this tenant yet."


class MicrosoftAccessDenied(AppError):
    status = 403
    code = "microsoft_access_denied"
    default_message = (
        "Microsoft 365 refused TenantCore's access to this tenant (admin consent revoked or a "
        "permission missing)."
    )


class DomainHasMailboxes(AppError):
    status = 409
    code = "domain_has_mailboxes"
    default_message = (
        "The domain still has mailboxes in TenantCore; delete them first "
        "(DELETE /v1/tenants/{tenant_id}/mailboxes/{mailbox_id})."
    )


class DomainInUse(AppError):
    status = 409
    code = "domain_in_use"
    default_message = "Microsoft 365 refused to remove the domain: it is still in use there."
