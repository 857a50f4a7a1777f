"""Writing the audit log: the authenticating dependency notes who asks for a change and what
(`note_write`); the `AuditTrail` middleware adds the answer's status and records the entry
before the answer leaves, so a client that saw an answer can find its entry.

Recorded: every POST, PATCH, PUT and DELETE whose API key was valid, whatever the answer
(a refused change is worth knowing too), except 429s (a flood of them would be written as a
flood) and replays of kept answers (`Idempotency-Key`: nothing was done again). The body's
top-level field names are kept, never their values (`account_password` is one). An entry that
cannot be written is logged and does not fail the request. Entries older than
`audit_retention_days` are removed as the account writes new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantcore.audit import repository
from tenantcore.core.db import unit_of_work
from tenantcore.core.requestid import request_id_of

if TYPE_CHECKING:
    from fastapi import Request

    from tenantcore.accounts.service import Principal
    from tenantcore.core.context import AppContext

log = structlog.get_logger(__name__)

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
MAX_FIELDS = 50
MAX_FIELD_LENGTH = 100
_NOTE = "audit_note"
_NOT_RECORDED = frozenset({429})


@dataclass(frozen=True)
class WriteNote:
    account_id: str
    api_key_id: str
    method: str
    route: str
    path: str
    tenant_id: str | None
    fields: list[str]


def _field_names(body: bytes) -> list[str]:
    if not body:
        return []
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(parsed, dict):
        return []
    return sorted(str(name)[:MAX_FIELD_LENGTH] for name in parsed)[:MAX_FIELDS]


async def note_write(request: Request, principal: Principal) -> None:
    """Note an authenticated change request for the trail (other methods pass)."""
    if request.method not in WRITE_METHODS:
        return
    route = getattr(request.scope.get("route"), "path", None) or request.url.path
    tenant_id = request.path_params.get("tenant_id")
    # FastAPI has read the body already to validate it; this is its cached copy.
    body = await request.body()
    setattr(
        request.state,
        _NOTE,
        WriteNote(
            account_id=principal.account_id,
            api_key_id=principal.key_id,
            method=request.method,
            route=route[:200],
            path=request.url.path[:2048],
            tenant_id=None if tenant_id is None else str(tenant_id).strip().lower()[:200],
            fields=_field_names(body),
        ),
    )


class AuditTrail:
    """Pure ASGI; innermost, so it sees every answer the routes and error handlers make."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        answered = False

        async def recording(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                await self._record(scope, int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, recording)
        except Exception:
            if not answered:  # the server answers 500 outside this middleware
                await self._record(scope, 500)
            raise

    async def _record(self, scope: Scope, status: int) -> None:
        state = scope.get("state")
        note = state.get(_NOTE) if isinstance(state, dict) else None
        if not isinstance(note, WriteNote) or status in _NOT_RECORDED:
            return
        try:
            async with unit_of_work(self.context.sessionmaker) as session:
                await repository.add(
                    session,
                    note,
                    status_code=status,
                    request_id=request_id_of(scope),
                    now=self.context.now(),
                    retention_days=self.context.settings.audit_retention_days,
                )
        except Exception as exc:
            log.error("audit entry not written", route=note.route, exc_info=exc)
