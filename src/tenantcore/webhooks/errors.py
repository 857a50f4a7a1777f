"""Webhook errors."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class InvalidWebhookUrl(AppError):
    code = "invalid_webhook_url"
    default_message = (
        "url must be an absolute https URL (http is accepted in sandbox mode) of at most 2048 "
        "characters, not naming a loopback or private address."
    )


class InvalidWebhookEvents(AppError):
    code = "invalid_webhook_events"
    default_message = (
        "events must list one or more of: tenant.bootstrap.completed, tenant.bootstrap.failed, "
        "mailbox.ready, mailbox.failed, mailbox.blocked, mailbox.unblocked, "
        "mailbox.smtp_auth_disabled, mailbox.deleted, tenant.sending_app.ready, "
        "tenant.sending_app.failed, "
        "tenant.capacity_exceeds_limit, domain.dns_health.changed."
    )


class WebhookNotFound(AppError):
    status = 404
    code = "webhook_not_found"
    default_message = "No webhook with this id on your account."


class DeliveryNotFound(AppError):
    status = 404
    code = "webhook_delivery_not_found"
    default_message = "No delivery with this id for this webhook."
