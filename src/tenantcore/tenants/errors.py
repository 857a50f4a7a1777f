"""Tenant errors."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class TenantNotFound(AppError):
    status = 404
    code = "tenant_not_found"
    default_message = "Tenant does not exist or belongs to a different account."


class TenantAlreadyConnected(AppError):
    status = 409
    code = "tenant_already_connected"
    default_message = "This Microsoft tenant is connected to another TenantCore account."


class InvalidTenantId(AppError):
    code = "invalid_tenant_id"
    default_message = "tenant_id must be the Microsoft tenant GUID."


class ConsentFailed(AppError):
    code = "consent_failed"
    default_message = "Admin consent was not granted."


class ExchangeBootstrapNotReady(AppError):
    status = 409
    code = "exchange_bootstrap_not_ready"
    retryable = True
    default_message = "Exchange bootstrap has not completed for this tenant."
