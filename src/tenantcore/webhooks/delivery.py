"""Sending webhook deliveries: signed, retried with backoff, one dispatcher at a time.

Each delivery is POSTed with the event as its JSON body and these headers:

- `TenantCore-Signature: t=<unix seconds>,v1=<hex>`, where hex is HMAC-SHA256 under the
  endpoint's secret of `<t>.<body>`: the receiver recomputes it over the raw body and refuses
  a mismatch or an old `t` (replay);
- `TenantCore-Event` (the type), `TenantCore-Delivery` (this delivery's id).

A 2xx answer delivers it. Anything else (another status, a timeout, a refused connection) is
retried after 30 s, doubling up to 6 h, until `webhook_max_attempts`; then it is `failed` and
can be sent again by hand (`POST …/deliveries/{id}/redeliver`). Redirects are not followed, and
outside sandbox mode only public addresses are connected to (`egress.py`). The
dispatcher holds a lock of its own (`core/locks.py`), so on several workers one of them sends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx2
import structlog

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.mailboxes.vault import PasswordUnavailable, vault_for
from tenantcore.webhooks import repository
from tenantcore.webhooks.egress import PublicOnlyTransport
from tenantcore.webhooks.models import DeliveryStatus
from tenantcore.webhooks.service import private_urls_allowed

log = structlog.get_logger(__name__)

DISPATCH_LOCK = "webhook-dispatcher"
BATCH = 100
PARALLEL = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
ERROR_CHARS = 500
USER_AGENT = "TenantCore-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `TenantCore-Signature` header value."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def retry_delay(attempts: int) -> timedelta:
    """How long after the `attempts`-th failed attempt to try again."""
    return min(FIRST_RETRY * (1 << min(attempts - 1, 20)), LONGEST_RETRY)


@dataclass(frozen=True)
class _Outgoing:
    id: str
    event_type: str
    payload: str
    attempts: int
    url: str
    secret_sealed: str


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    status_code: int | None
    error: str | None


async def deliver_due(context: AppContext) -> int:
    """Send every delivery that is due; returns how many were attempted."""
    async with context.tenant_locks.hold(DISPATCH_LOCK) as held:
        if not held:
            return 0  # another worker is sending
        attempted = 0
        # Outside sandbox mode the connection itself refuses non-public addresses, whatever
        # the URL's host name resolves to when the delivery is sent (webhooks/egress.py).
        transport = (
            None
            if private_urls_allowed(context)
            else PublicOnlyTransport(PARALLEL, context.settings.webhook_allow_networks)
        )
        async with httpx2.AsyncClient(
            transport=transport,
            timeout=context.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            slots = asyncio.Semaphore(PARALLEL)

            async def send(outgoing: _Outgoing) -> None:
                async with slots:
                    outcome = await _send(context, client, outgoing)
                await _record(context, outgoing, outcome)

            while True:
                batch = await _due(context)
                if not batch:
                    return attempted
                await asyncio.gather(*(send(outgoing) for outgoing in batch))
                attempted += len(batch)
                if len(batch) < BATCH:
                    return attempted


async def _due(context: AppContext) -> list[_Outgoing]:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        rows = await repository.due_deliveries(session, context.now(), BATCH)
    return [_Outgoing(*row) for row in rows]


async def _send(context: AppContext, client: httpx2.AsyncClient, outgoing: _Outgoing) -> _Outcome:
    try:
        secret = vault_for(context.settings).open(outgoing.secret_sealed)
    except PasswordUnavailable:
        return _Outcome(
            False,
            None,
            "the signing secret was sealed under another TENANTCORE_SECRET_KEY; create the "
            "webhook again",
        )
    body = outgoing.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "TenantCore-Signature": signature(secret, int(time.time()), body),
        "TenantCore-Event": outgoing.event_type,
        "TenantCore-Delivery": outgoing.id,
    }
    try:
        response = await client.post(outgoing.url, content=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - any failure to send is an attempt that failed
        # (httpx's InvalidURL, say, is no HTTPError); letting it out would leave the delivery
        # due, and every sweep would start the dispatcher again at once.
        return _Outcome(False, None, f"{type(exc).__name__}: {exc}"[:ERROR_CHARS])
    if 200 <= response.status_code < 300:
        return _Outcome(True, response.status_code, None)
    return _Outcome(False, response.status_code, f"HTTP {response.status_code}")


async def _record(context: AppContext, outgoing: _Outgoing, outcome: _Outcome) -> None:
    now = context.now()
    attempts = outgoing.attempts + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    if outcome.delivered:
        values |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif attempts >= context.settings.webhook_max_attempts:
        values |= {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
        log.warning(
            "webhook delivery failed for good", delivery_id=outgoing.id, error=outcome.error
        )
    else:
        values["next_attempt_at"] = now + retry_delay(attempts)
    async with unit_of_work(context.sessionmaker) as session:
        await repository.record_attempt(session, outgoing.id, **values)
