"""Webhook endpoints (where an account wants events sent) and their deliveries (the outbox)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, check_in, new_id, utcnow


class EventType(StrEnum):
    TENANT_BOOTSTRAP_COMPLETED = "tenant.bootstrap.completed"
    TENANT_BOOTSTRAP_FAILED = "tenant.bootstrap.failed"
    MAILBOX_READY = "mailbox.ready"
    MAILBOX_FAILED = "mailbox.failed"
    MAILBOX_BLOCKED = "mailbox.blocked"
    MAILBOX_UNBLOCKED = "mailbox.unblocked"
    MAILBOX_SMTP_AUTH_DISABLED = "mailbox.smtp_auth_disabled"
    MAILBOX_DELETED = "mailbox.deleted"
    TENANT_SENDING_APP_READY = "tenant.sending_app.ready"
    TENANT_SENDING_APP_FAILED = "tenant.sending_app.failed"
    TENANT_CAPACITY_EXCEEDS_LIMIT = "tenant.capacity_exceeds_limit"
    DOMAIN_VERIFIED = "domain.verified"
    DOMAIN_DNS_HEALTH_CHANGED = "domain.dns_health.changed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt (`next_attempt_at`)
    DELIVERED = "delivered"  # the endpoint answered 2xx
    FAILED = "failed"  # every attempt failed; can be sent again by hand


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    # The event types it receives, space-separated.
    events: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(String(200))
    # The signing secret, Fernet-sealed under the process's secret key (mailboxes/vault.py):
    # it must be read back to sign, so it cannot be hashed like an API key.
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint. Written in the transaction that records the event, so an
    event is never lost nor queued for a change that was rolled back."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (check_in("status", DeliveryStatus),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    endpoint_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    # The event's id: the same in every endpoint's delivery of it (receivers de-duplicate by it).
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(64))
    # The JSON body sent, byte for byte the same at every attempt.
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    # When to try next (NULL once delivered or failed); the dispatcher scans by it.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
