"""Every response carries `X-Request-Id`, and every log line written while the request runs on
the event loop carries the same `request_id`, so a customer's report and the operator's logs
meet on one value. A caller's own id (a client-generated token up to 128 characters of
letters, digits and `._:-`) is kept, so it can follow a request across systems; anything else is
replaced by a new one. Pure ASGI, like the other middleware.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_HEADER_KEY = HEADER.lower().encode("latin-1")
_CALLER_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str | None:
    """The id the middleware gave the request (None outside a request)."""
    state = scope.get("state")
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _caller_id(scope) or uuid.uuid4().hex
        # Shared by reference with the copies of the scope inner layers make, so the error
        # handlers outside this middleware can still name the request.
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_HEADER_KEY, request_id.encode("latin-1"))

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, with_header)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)


def _caller_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER_KEY:
            return value.decode("latin-1") if _CALLER_ID.fullmatch(value) else None
    return None
