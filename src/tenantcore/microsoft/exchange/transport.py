"""InvokeCommand over HTTP: headers, paging and error parsing (wire reference 3.2-3.6)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from tenantcore.microsoft.exchange.errors import exchange_error
from tenantcore.microsoft.http import ResilientCaller
from tenantcore.microsoft.reply import Reply
from tenantcore.microsoft.tokens import Resource

# The arbitration mailbox app-only clients anchor tenant-wide cmdlets to (CIPP, wire ref 3.2).
_SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
_PAGE_SIZE = 1000


@dataclass(frozen=True)
class InvokeResult:
    rows: list[dict[str, Any]]
    warnings: list[str]


@dataclass(frozen=True)
class _Page:
    rows: list[dict[str, Any]]
    warnings: list[str]
    next_link: str | None


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """Drop OData annotations (`Prop@odata.type`, `Prop@data.type`)."""
    return {key: value for key, value in row.items() if "@" not in key}


def _parse_page(reply: Reply, operation: str) -> _Page:
    if reply.status != 200:
        raise exchange_error(reply, operation)
    body = reply.json()
    if not isinstance(body, dict):
        raise exchange_error(reply, operation)
    rows = [_clean(row) for row in body.get("value") or [] if isinstance(row, dict)]
    warnings = [str(w) for w in body.get("@adminapi.warnings") or []]
    header_warning = reply.headers.get("X-Warnings")
    if header_warning:
        warnings.append(header_warning)
    next_link = body.get("@odata.nextLink")
    return _Page(rows, warnings, str(next_link) if next_link else None)


class ExchangeTransport:
    """Runs cmdlets for a tenant, never more than `max_concurrency` at once per tenant."""

    def __init__(self, caller: ResilientCaller, base_url: str, max_concurrency: int) -> None:
        self.caller = caller
        self.base_url = base_url.rstrip("/")
        self.max_concurrency = max_concurrency
        self._limiters: dict[str, asyncio.Semaphore] = {}

    def _limiter(self, tenant_id: str) -> asyncio.Semaphore:
        key = tenant_id.lower()
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = asyncio.Semaphore(self.max_concurrency)
        return limiter

    async def invoke(
        self,
        tenant_id: str,
        cmdlet: str,
        parameters: dict[str, Any] | None = None,
        *,
        anchor: str | None = None,
        select: list[str] | None = None,
        retry_not_found: bool = False,
        on_request: Callable[[], None] | None = None,
    ) -> InvokeResult:
        """Run one cmdlet, following `@odata.nextLink` until the result is complete.

        `anchor` routes per-mailbox cmdlets to the target mailbox (X-AnchorMailbox), which
        Exchange needs for Set-Mailbox / Set-CASMailbox; tenant-wide cmdlets anchor to the
        system mailbox. `on_request` is told of every HTTP request, pages and retries included.
        """
        url = f"{self.base_url}/adminapi/beta/{tenant_id}/InvokeCommand"
        if select:
            url += "?$select=" + ",".join(select)
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={_PAGE_SIZE}",
            "X-CmdletName": cmdlet,
            "X-ResponseFormat": "json",
            "X-AnchorMailbox": f"UPN:{anchor}" if anchor else f"APP:{_SYSTEM_MAILBOX}@{tenant_id}",
        }
        rows: list[dict[str, Any]] = []
        warnings: list[str] = []
        next_url: str | None = url
        while next_url is not None:
            page_url = next_url

            def build(token: str, page_url: str = page_url) -> httpx2.Request:
                return self.caller.http.build_request(
                    "POST",
                    page_url,
                    json=body,
                    headers={
                        **headers,
                        "Authorization": f"Bearer {token}",
                        "client-request-id": str(uuid.uuid4()),
                    },
                )

            page = await self.caller.call(
                operation=cmdlet,
                tenant_id=tenant_id,
                resource=Resource.EXCHANGE,
                build=build,
                parse=lambda reply: _parse_page(reply, cmdlet),
                limiter=self._limiter(tenant_id),
                retry_not_found=retry_not_found,
                on_request=on_request,
            )
            rows.extend(page.rows)
            warnings.extend(page.warnings)
            next_url = page.next_link
        return InvokeResult(rows, warnings)
