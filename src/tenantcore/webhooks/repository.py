"""Webhook queries. Every lookup by a caller's id is scoped to the caller's account."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.reads import AnyRow
from tenantcore.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


async def endpoints_of(session: AsyncSession, account_id: str) -> list[WebhookEndpoint]:
    result = await session.execute(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == account_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(result.scalars())


async def owned_endpoint(
    session: AsyncSession, account_id: str, endpoint_id: str
) -> WebhookEndpoint | None:
    result = await session.execute(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.account_id == account_id
        )
    )
    return result.scalar_one_or_none()


async def deliveries_page(
    session: AsyncSession, endpoint_id: str, status: str | None, limit: int, offset: int
) -> tuple[list[WebhookDelivery], int]:
    """A page of the endpoint's deliveries, newest first, and the total matching."""
    conditions = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    total = await session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(*conditions)
    )
    result = await session.execute(
        select(WebhookDelivery)
        .where(*conditions)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def delivery_of(
    session: AsyncSession, endpoint_id: str, delivery_id: str
) -> WebhookDelivery | None:
    result = await session.execute(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    return result.scalar_one_or_none()


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
    )


async def any_due(session: AsyncSession, now: datetime) -> bool:
    """Whether a delivery is due (the sweep asks before queueing the dispatcher)."""
    return await session.scalar(select(WebhookDelivery.id).where(*_due(now)).limit(1)) is not None


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> Sequence[AnyRow]:
    """Up to `limit` due deliveries (id, event type, payload, attempts, and their endpoint's
    URL and sealed secret), the longest waiting first."""
    result = await session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.event_type,
            WebhookDelivery.payload,
            WebhookDelivery.attempts,
            WebhookEndpoint.url,
            WebhookEndpoint.secret_sealed,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(*_due(now))
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return result.all()


async def record_attempt(session: AsyncSession, delivery_id: str, **values: object) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )
