"""HEAD wherever GET is served (RFC 9110 section 9.3.2: the same answer, headers only).

FastAPI routes answer only the methods they declare, so `curl -I`, link checkers and health
probes got a 405. The request runs as a GET and the body is dropped on the way out; the
headers, Content-Length included, are the GET's. Pure ASGI, like the other middleware.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
