"""One ASGI app answering for all emulated Microsoft hosts plus the sandbox's control API.

Routing is by path (each host's paths are distinct), and by the `Host` header when a client
addresses a Microsoft host name explicitly: then only that host's routes answer, as on the real
service (e.g. `/adminapi/...` sent to graph.microsoft.com is a 404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.routing import Router

from tenantcore.sandbox import control, identity
from tenantcore.sandbox.exchange import routes as exchange_routes
from tenantcore.sandbox.graph import routes as graph_routes

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from tenantcore.sandbox.context import Sandbox

HOST_ALIASES = {
    "login.microsoftonline.com": "login",
    "graph.microsoft.com": "graph",
    "outlook.office365.com": "exchange",
    "outlook.office.com": "exchange",
}


def _not_found_app() -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": "not_found"}, status_code=404)
        await response(scope, receive, send)

    return app


class SandboxApp:
    def __init__(self, sb: Sandbox) -> None:
        self.sandbox = sb
        self.hosts: dict[str, ASGIApp] = {
            "login": Router(routes=identity.routes(sb)),
            "graph": Router(routes=graph_routes(sb)),
            "exchange": Router(routes=exchange_routes(sb)),
            "control": Router(routes=control.routes(sb)),
        }
        self._not_found = _not_found_app()

    def _pick(self, scope: Scope) -> ASGIApp:
        host_header = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host_header = value.decode("latin-1").lower()
                break
        hostname = host_header.rsplit(":", 1)[0] if "]" not in host_header else host_header
        named = HOST_ALIASES.get(hostname)
        if named is not None:
            return self.hosts[named]
        path: str = scope.get("path", "")
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            return self.hosts["control"]
        if path.startswith("/v1.0/") or path == "/v1.0":
            return self.hosts["graph"]
        if path.startswith("/adminapi/"):
            return self.hosts["exchange"]
        return self.hosts["login"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await self._pick(scope)(scope, receive, send)


def create_sandbox_app(sb: Sandbox) -> SandboxApp:
    return SandboxApp(sb)
