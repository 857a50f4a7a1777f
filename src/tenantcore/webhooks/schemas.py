"""Webhook request and response bodies (beyond the seed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantcore.core.openapi import accepts
from tenantcore.webhooks.models import EventType

EVENT_TYPES = [event.value for event in EventType]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Typed as Any so the service refuses bad values with its own codes.
    url: Any = Field(
        description="Where events are POSTed: an absolute https URL.",
        json_schema_extra=accepts({"type": "string", "maxLength": 2048}),
    )
    events: Any = Field(
        default=None,
        description="The event types to send; all of them when left out.",
        json_schema_extra=accepts(
            {"type": "array", "items": {"type": "string", "enum": EVENT_TYPES}, "minItems": 1}
        ),
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str | None
    created_at: datetime


class CreatedWebhook(WebhookOut):
    secret: str = Field(
        description="Signs every delivery (`TenantCore-Signature`); shown only in this response."
    )
    message: str


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]
    count: int


class DeliveryOut(BaseModel):
    id: str
    event_id: str = Field(description="The event's id, the same for every endpoint sent it.")
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None = Field(description="The endpoint's last HTTP status.")
    last_error: str | None = Field(description="Why the last attempt failed.")
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryOut]
    count: int
    total: int
    limit: int
    offset: int
