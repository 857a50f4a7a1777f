"""Routing of Graph calls, shared by HTTP requests and `$batch` items.

Per call, in order: match the route, count it and apply any injected fault
(`runtime.before_call`), verify the bearer token, check the app's roles, take a slot of the
identity write quota for writes, then run the handler.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenantcore.sandbox import tokens
from tenantcore.sandbox.graph.common import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Throttled,
    error_response,
    fault_error,
    throttled_response,
)

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
INSUFFICIENT_PRIVILEGES = "Insufficient privileges to complete the operation."
_WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",'
    ' client_id="00000003-0000-0000-c000-000000000000"'
)
# `users('$a@b.com')` addresses the same entity as `users/$a@b.com`.
_KEY_SEGMENT = re.compile(r"^/(\w+)\('((?:[^']|'')*)'\)")


@dataclass
class GraphContext:
    """What a handler gets: the sandbox, the call, the verified token and the path parameters."""

    sb: Sandbox
    request: GraphRequest
    claims: tokens.TokenClaims
    params: dict[str, str]
    dispatcher: Dispatcher

    @property
    def tenant_id(self) -> str:
        return self.claims.tenant_id


Handler = Callable[[GraphContext], Awaitable[GraphResponse]]


@dataclass(frozen=True)
class Endpoint:
    """One operation. `roles`: any of them grants access (None: the items decide, as in $batch)."""

    method: str
    template: str
    handler: Handler
    roles: frozenset[str] | None

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template}"

    def pattern(self) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", self.template)
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in parts
        )
        return re.compile(f"^{regex}$", re.IGNORECASE)


def normalize_path(path: str) -> str:
    path = path.rstrip("/") or "/"
    match = _KEY_SEGMENT.match(path)
    if match is not None:
        key = match.group(2).replace("''", "'")
        path = f"/{match.group(1)}/{key}{path[match.end() :]}"
    return path


def authenticate(sb: Sandbox, request: GraphRequest) -> tokens.TokenClaims:
    """Verify the bearer token: signature, Graph audience, lifetime (sandbox clock), tenant."""
    token = tokens.bearer(request.header("authorization"))
    if token is None:
        raise _unauthenticated("Access token is empty.")
    try:
        claims = tokens.verify(sb.signing_key, token, now=sb.now())
    except tokens.TokenError as exc:
        if exc.reason == "expired":
            raise _unauthenticated("Lifetime validation failed, the token is expired.") from exc
        raise _unauthenticated("Access token validation failure.") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise _unauthenticated("Access token validation failure.") from exc
    if claims.audience.rstrip("/") != tokens.GRAPH_AUDIENCE:
        raise _unauthenticated("Access token validation failure. Invalid audience.")
    if sb.store.one("SELECT 1 FROM tenant WHERE id = ?", (claims.tenant_id,)) is None:
        raise _unauthenticated("Access token validation failure. Invalid tenant.")
    return claims


def _unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={"WWW-Authenticate": _WWW_AUTHENTICATE},
    )


def take_write_slot(sb: Sandbox, claims: tokens.TokenClaims) -> None:
    """Consume one write of the app+tenant identity quota (3,000 / 150 s by default)."""
    config = sb.config
    wait = sb.runtime.take_from_window(
        f"graph_write|{claims.app_id}|{claims.tenant_id}",
        config.graph_writes_per_window,
        config.graph_write_window_seconds,
        now=sb.now().timestamp(),
    )
    if wait is not None:
        raise Throttled(
            f"{wait:.3f}",
            {
                "x-ms-throttle-scope": (
                    f"Tenant_Application/ReadWrite/{claims.app_id}/{claims.tenant_id}"
                ),
                "x-ms-throttle-information": "WriteLimitExceeded",
            },
        )


class Dispatcher:
    """The Graph host's route table; answers every call with a `GraphResponse`, never raises."""

    def __init__(self, sb: Sandbox, endpoints: list[Endpoint]) -> None:
        self.sb = sb
        self._routes = [(endpoint, endpoint.pattern()) for endpoint in endpoints]

    async def dispatch(
        self, request: GraphRequest, claims: tokens.TokenClaims | None = None
    ) -> GraphResponse:
        """Answer one call; `claims` is given for `$batch` items (the batch's own token)."""
        try:
            return await self._dispatch(request, claims)
        except GraphError as exc:
            return error_response(request, self.sb.now(), exc)
        except Throttled as exc:
            return throttled_response(request, self.sb.now(), exc)

    async def _dispatch(
        self, request: GraphRequest, claims: tokens.TokenClaims | None
    ) -> GraphResponse:
        path = normalize_path(request.path)
        endpoint, params, path_known = self._match(request.method, path)
        if endpoint is None:
            if claims is None:
                authenticate(self.sb, request)
            if path_known:
                raise GraphError(
                    405,
                    "Request_BadRequest",
                    "Specified HTTP method is not allowed for the request target.",
                )
            segment = next((part for part in path.split("/") if part), "")
            raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
        fault = await self.sb.runtime.before_call("graph", endpoint.operation)
        if fault is not None:
            raise fault_error(fault)
        if claims is None:
            claims = authenticate(self.sb, request)
        if endpoint.roles is not None and not endpoint.roles.intersection(claims.roles):
            raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT_PRIVILEGES)
        if endpoint.roles is not None and endpoint.method in WRITE_METHODS:
            take_write_slot(self.sb, claims)
        response = await endpoint.handler(GraphContext(self.sb, request, claims, params, self))
        # A fault in the "after" phase: the change is made, the client never hears of it.
        lost = self.sb.runtime.after_call("graph", endpoint.operation)
        if lost is not None:
            raise fault_error(lost)
        return response

    def _match(self, method: str, path: str) -> tuple[Endpoint | None, dict[str, str], bool]:
        path_known = False
        for endpoint, pattern in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if endpoint.method == method:
                return endpoint, match.groupdict(), True
            path_known = True
        return None, {}, path_known
