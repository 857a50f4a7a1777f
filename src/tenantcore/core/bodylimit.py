"""Limits checked before any route runs: no NUL in the URL (no identifier has one, and
PostgreSQL text cannot hold it), and a cap on request body size, before anything reads the body.

A declared `Content-Length` over the cap is refused at once; a body without one (chunked) is
read here up to the cap and refused as soon as it passes it, so an oversize request never sits
in memory. Pure ASGI (no BaseHTTPMiddleware) to keep the per-request cost to a header scan.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenantcore.core.errors import error_response

CODE = "payload_too_large"
_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            # No identifier or name TenantCore knows holds NUL, and PostgreSQL text cannot.
            response = error_response(
                400, "invalid_request", "The URL must not contain NUL characters.", scope=scope
            )
            await response(scope, receive, send)
            return
        if scope["method"] in _BODILESS:
            # Routes of these methods never read a body: nothing to hold in memory.
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                else:
                    # HTTP framing holds the client to what it declared.
                    await self.app(scope, receive, send)
                return
        # No length declared (chunked): read it here, at most max_bytes, then replay it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, CODE, f"The request body is larger than {self.max_bytes} bytes.", scope=scope
        )
        # Closing the connection spares reading the rest of what the client still sends.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
