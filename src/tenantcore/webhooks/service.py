"""Webhooks (beyond the seed): an account registers endpoints, and each event of the kinds it
chose is POSTed to them, signed, with retries (`delivery.py`).

Events enter an outbox: `enqueue` writes one delivery row per subscribed endpoint in the same
transaction that records the event (a block, a mailbox turning ready, ...), so an event is
never lost to a crash and never sent for a change that was rolled back. Delivery is at least
once; receivers de-duplicate by the event's `id`.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.reads import JSON_OPTIONS
from tenantcore.mailboxes.vault import vault_for
from tenantcore.webhooks import repository
from tenantcore.webhooks.egress import Network, reachable
from tenantcore.webhooks.errors import (
    DeliveryNotFound,
    InvalidWebhookEvents,
    InvalidWebhookUrl,
    WebhookNotFound,
)
from tenantcore.webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenantcore.webhooks.schemas import (
    CreatedWebhook,
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookList,
    WebhookOut,
)

SECRET_PREFIX = "whsec_"  # noqa: S105 - the public prefix of every secret
MAX_URL_LENGTH = 2048
MAX_DELIVERIES_PER_PAGE = 200


def private_urls_allowed(context: AppContext) -> bool:
    allowed = context.settings.webhook_allow_private_urls
    return context.sandbox_mode if allowed is None else allowed


def _validated_url(value: Any, allow_private: bool, allowed_networks: Sequence[Network]) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_URL_LENGTH
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise InvalidWebhookUrl
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise InvalidWebhookUrl from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not host or parts.username or parts.password:
        raise InvalidWebhookUrl
    if not allow_private and not _reachable_host(host, allowed_networks):
        raise InvalidWebhookUrl
    return value


def _reachable_host(host: str, allowed_networks: Sequence[Network]) -> bool:
    """False for a host that is a loopback or private address (or an address in disguise)."""
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # No top-level domain is numeric: "2130706433" or "0x7f.1" are addresses in disguise
        # that resolvers accept. Other names are resolved, and their addresses checked, each
        # time a delivery connects (egress.py).
        last = host.rsplit(".", 1)[-1].lower()
        return not (last.isdigit() or last.startswith("0x"))
    return reachable(host, allowed_networks)


def _validated_events(value: Any) -> list[str]:
    if value is None:
        return sorted(event.value for event in EventType)
    known = {event.value for event in EventType}
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(event, str) and event in known for event in value)
    ):
        raise InvalidWebhookEvents
    return sorted(set(value))


def describe(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events.split(),
        description=endpoint.description,
        created_at=endpoint.created_at,
    )


async def create(
    context: AppContext, session: AsyncSession, principal: Principal, body: WebhookCreate
) -> CreatedWebhook:
    url = _validated_url(
        body.url, private_urls_allowed(context), context.settings.webhook_allow_networks
    )
    events = _validated_events(body.events)
    secret = SECRET_PREFIX + secrets.token_hex(32)
    endpoint = WebhookEndpoint(
        account_id=principal.account_id,
        url=url,
        events=" ".join(events),
        description=body.description,
        secret_sealed=vault_for(context.settings).seal(secret),
        created_at=context.now(),
    )
    session.add(endpoint)
    await session.flush()
    return CreatedWebhook(
        **describe(endpoint).model_dump(),
        secret=secret,
        message="Store this secret now: it is shown once. It signs every delivery.",
    )


async def list_endpoints(session: AsyncSession, principal: Principal) -> WebhookList:
    endpoints = await repository.endpoints_of(session, principal.account_id)
    return WebhookList(webhooks=[describe(e) for e in endpoints], count=len(endpoints))


async def require_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str
) -> WebhookEndpoint:
    endpoint = await repository.owned_endpoint(session, principal.account_id, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound
    return endpoint


async def delete(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    """Remove the endpoint; its deliveries, sent or not, go with it."""
    await session.delete(await require_endpoint(session, principal, endpoint_id))


def _delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=DeliveryStatus(delivery.status).value,
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        next_attempt_at=delivery.next_attempt_at,
    )


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    *,
    status: DeliveryStatus | None,
    limit: int,
    offset: int,
) -> DeliveryPage:
    await require_endpoint(session, principal, endpoint_id)
    rows, total = await repository.deliveries_page(session, endpoint_id, status, limit, offset)
    return DeliveryPage(
        deliveries=[_delivery_out(row) for row in rows],
        count=len(rows),
        total=total,
        limit=limit,
        offset=offset,
    )


async def redeliver(
    context: AppContext,
    session: AsyncSession,
    principal: Principal,
    endpoint_id: str,
    delivery_id: str,
) -> DeliveryOut:
    """Send a delivery again as soon as the dispatcher runs, with a fresh set of attempts."""
    await require_endpoint(session, principal, endpoint_id)
    delivery = await repository.delivery_of(session, endpoint_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound
    delivery.status = DeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = context.now()
    delivery.delivered_at = None
    await session.flush()
    context.jobs.nudge_webhooks_after_commit(session)
    return _delivery_out(delivery)


class Outbox:
    """Queues events of one account for its endpoints that want them, in the caller's
    transaction. The endpoints are read once, at the first event."""

    def __init__(self, session: AsyncSession, account_id: str) -> None:
        self._session = session
        self._account_id = account_id
        self._endpoints: list[WebhookEndpoint] | None = None

    async def add(
        self,
        event_type: EventType,
        data: dict[str, Any],
        *,
        event_id: str,
        created_at: datetime,
    ) -> int:
        """Queue the event; returns how many deliveries were queued."""
        if self._endpoints is None:
            self._endpoints = await repository.endpoints_of(self._session, self._account_id)
        wanted = [e for e in self._endpoints if event_type.value in e.events.split()]
        if not wanted:
            return 0
        payload = orjson.dumps(
            {"id": event_id, "type": event_type.value, "created_at": created_at, "data": data},
            option=JSON_OPTIONS,
        ).decode()
        for endpoint in wanted:
            self._session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    event_type=event_type.value,
                    payload=payload,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=created_at,
                    created_at=created_at,
                )
            )
        return len(wanted)
