"""Graph requests and Graph's error envelope mapped to typed errors (wire reference 2.7, 2.8)."""

from __future__ import annotations

import uuid
from typing import Any

from tenantcore.microsoft.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Forbidden,
    InvalidPassword,
    InvalidRequest,
    MicrosoftError,
    NotFound,
    Throttled,
    Transient,
)
from tenantcore.microsoft.http import ResilientCaller, parse_retry_after
from tenantcore.microsoft.reply import Reply
from tenantcore.microsoft.tokens import Resource

_PASSWORD_MARKERS = ("password complexity", "password does not comply", "banned password")


def graph_error(reply: Reply, operation: str) -> MicrosoftError:
    body = reply.json()
    error: dict[str, Any] = body.get("error", {}) if isinstance(body, dict) else {}
    code = str(error.get("code") or reply.status)
    message = str(error.get("message") or reply.text()[:300] or f"Graph answered {reply.status}")
    detail_codes = {str(d.get("code")) for d in error.get("details") or [] if isinstance(d, dict)}
    kwargs: dict[str, Any] = {
        "status": reply.status,
        "code": code,
        "operation": operation,
        "request_id": reply.request_id,
    }
    retry_after = parse_retry_after(reply.headers.get("Retry-After"))
    status = reply.status
    lowered = message.lower()
    if status == 429:
        return Throttled(message, retry_after=retry_after, **kwargs)
    if status in (408, 500, 502, 503, 504) or code == "Directory_ConcurrencyViolation":
        return Transient(message, retry_after=retry_after, **kwargs)
    if status == 401:
        return AuthenticationFailed(message, **kwargs)
    if status == 403:
        return Forbidden(message, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if "ObjectConflict" in detail_codes or "already exists" in lowered or status == 409:
        return AlreadyExists(message, **kwargs)
    if any(marker in lowered for marker in _PASSWORD_MARKERS):
        return InvalidPassword(message, **kwargs)
    return InvalidRequest(message, **kwargs)


class GraphTransport:
    def __init__(self, caller: ResilientCaller, base_url: str) -> None:
        self.caller = caller
        self.base_url = base_url.rstrip("/") + "/v1.0"

    async def request(
        self,
        tenant_id: str,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry_not_found: bool = False,
    ) -> Any:
        """One Graph call; returns the parsed JSON body (None for 204)."""
        url = path if path.startswith("http") else f"{self.base_url}{path}"

        def build(token: str) -> Any:
            return self.caller.http.build_request(
                method,
                url,
                params=params,
                json=json,
                headers={
                    **(headers or {}),
                    "Authorization": f"Bearer {token}",
                    "client-request-id": str(uuid.uuid4()),
                },
            )

        def parse(reply: Reply) -> Any:
            if 200 <= reply.status < 300:
                return reply.json()
            raise graph_error(reply, operation)

        return await self.caller.call(
            operation=operation,
            tenant_id=tenant_id,
            resource=Resource.GRAPH,
            build=build,
            parse=parse,
            retry_not_found=retry_not_found,
        )

    async def collect(
        self,
        tenant_id: str,
        path: str,
        *,
        operation: str,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink` verbatim."""
        items: list[dict[str, Any]] = []
        page = await self.request(
            tenant_id, "GET", path, operation=operation, params=params, headers=headers
        )
        while True:
            items.extend(page.get("value", []))
            next_link = page.get("@odata.nextLink")
            if not next_link:
                return items
            page = await self.request(
                tenant_id, "GET", str(next_link), operation=operation, headers=headers
            )
