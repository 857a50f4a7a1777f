"""`Idempotency-Key` on POST, PATCH and DELETE: a request repeated with the same key (a client
retrying after a timeout, say) gets the first one's answer instead of doing the work twice.

The first request with a key claims it (a row, inserted before the route runs); a 2xx answer
is kept for 24 hours and replayed, byte for byte, to a repeat with the same method, path, query
and body, marked `Idempotent-Replayed: true`. A repeat that differs is refused (400
`idempotency_key_reused`); one that arrives while the first is still running is refused (409
`idempotency_request_in_progress`, retry shortly). Answers other than 2xx are not kept, so the
request can be retried with the same key once the cause is fixed. Keys are scoped to the API
key that sent them (by a hash of the Authorization header): another key's requests never see
them, and a key revoked since gets `invalid_api_key`, never a kept answer. A claim left by a crashed process is taken over after five minutes.

Pure ASGI, inside the body limit: only requests carrying the header pay for it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantcore.accounts.service import authenticate
from tenantcore.core.base import Base
from tenantcore.core.db import unit_of_work
from tenantcore.core.errors import (
    IDEMPOTENCY_HEADER,
    AppError,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    InvalidIdempotencyKey,
    app_error_response,
)

HEADER = IDEMPOTENCY_HEADER
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
KEPT_FOR = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"

    # SHA-256 hex of the Authorization header: the API key the idempotency key belongs to.
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    # SHA-256 hex of method, path, query and body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # NULL while the first request runs; then its (2xx) answer.
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


def _valid_key(value: str) -> bool:
    return 1 <= len(value) <= MAX_KEY_LENGTH and all(0x21 <= ord(c) <= 0x7E for c in value)


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    def __init__(self, app: ASGIApp, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.app = app
        self.sessionmaker = sessionmaker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER.lower().encode())
        authorization = headers.get(b"authorization")
        if raw_key is None or not authorization:
            await self.app(scope, receive, send)  # no key, or a request that will be a 401
            return
        key = raw_key.decode("latin-1")
        if not _valid_key(key):
            await _refuse(InvalidIdempotencyKey, scope, receive, send)
            return
        # A revoked or unknown key must not claim a key, nor get a kept answer back (one may
        # hold a secret: a new API key, a webhook's signing secret).
        try:
            async with unit_of_work(self.sessionmaker, read_only=True) as session:
                await authenticate(session, authorization.decode("latin-1"))
        except AppError as exc:
            await app_error_response(exc, scope)(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away
        owner = hashlib.sha256(authorization).hexdigest()
        fingerprint = _fingerprint(scope, body)
        outcome = await self._claim(owner, key, fingerprint)
        if isinstance(outcome, IdempotencyRecord):
            await _replay(outcome, send)
            return
        if outcome is not None:
            await _refuse(outcome, scope, receive, send)
            return
        await self._run(scope, body, receive, send, owner, key)

    async def _claim(
        self, owner: str, key: str, fingerprint: str
    ) -> IdempotencyRecord | type[AppError] | None:
        """Claim the key (None), or what to answer instead: the kept answer, or an error."""
        for _ in range(2):
            now = datetime.now(UTC)
            try:
                async with unit_of_work(self.sessionmaker) as session:
                    await session.execute(
                        delete(IdempotencyRecord).where(
                            IdempotencyRecord.scope == owner,
                            IdempotencyRecord.created_at < now - KEPT_FOR,
                        )
                    )
                    session.add(
                        IdempotencyRecord(
                            scope=owner, key=key, fingerprint=fingerprint, created_at=now
                        )
                    )
                return None
            except IntegrityError:
                pass
            async with unit_of_work(self.sessionmaker) as session:
                existing = await session.scalar(
                    select(IdempotencyRecord).where(
                        IdempotencyRecord.scope == owner, IdempotencyRecord.key == key
                    )
                )
                if existing is None:
                    continue  # released meanwhile: claim it again
                if existing.fingerprint != fingerprint:
                    return IdempotencyKeyReused
                if existing.status_code is not None:
                    session.expunge(existing)
                    return existing
                if existing.created_at > now - ABANDONED_AFTER:
                    return IdempotencyRequestInProgress
                existing.created_at = now  # left by a crashed process: take it over
                return None
        return IdempotencyRequestInProgress

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, owner: str, key: str
    ) -> None:
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect can come

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        kept = False
        try:
            await self.app(scope, replay_body, capture)
            kept = 200 <= status < 300
        finally:
            await self._settle(owner, key, status if kept else None, content_type, b"".join(chunks))

    async def _settle(
        self, owner: str, key: str, status: int | None, content_type: str | None, body: bytes
    ) -> None:
        """Keep a 2xx answer; otherwise release the key for another try."""
        async with unit_of_work(self.sessionmaker) as session:
            record = await session.get(IdempotencyRecord, (owner, key))
            if record is None:
                return
            if status is None:
                await session.delete(record)
                return
            record.status_code = status
            record.content_type = content_type
            record.body = body.decode("utf-8", errors="replace")


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _refuse(error: type[AppError], scope: Scope, receive: Receive, send: Send) -> None:
    await app_error_response(error, scope)(scope, receive, send)


async def _replay(record: IdempotencyRecord, send: Send) -> None:
    headers = [(REPLAYED_HEADER.lower().encode(), b"true")]
    body = (record.body or "").encode()
    if record.content_type is not None:
        headers.append((b"content-type", record.content_type.encode("latin-1")))
    if record.status_code not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": record.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body if record.status_code != 204 else b""})
