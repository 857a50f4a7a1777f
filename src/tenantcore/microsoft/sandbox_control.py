"""The sandbox's control API as the product uses it in sandbox mode: attach a tenant (the
sandbox's stand-in for admin consent), publish DNS records (the stand-in for a registrar), and
read the sandbox clock. Over the wire only, like every other Microsoft call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx2

from tenantcore.microsoft.errors import InvalidRequest, Transient


class SandboxControl:
    def __init__(self, http: httpx2.AsyncClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request(method, f"{self._base}{path}", json=body)
        except httpx2.TransportError as exc:
            raise Transient(f"sandbox unreachable: {exc!r}", operation=path) from exc
        if response.status_code >= 500:
            raise Transient(response.text[:200], status=response.status_code, operation=path)
        if response.status_code >= 400:
            raise InvalidRequest(response.text[:300], status=response.status_code, operation=path)
        return response.json() if response.content else None

    async def attach_tenant(
        self, tenant_id: str, *, client_id: str, client_secret: str, display_name: str
    ) -> dict[str, Any]:
        """Create the sandbox tenant (dehydrated, like a new Microsoft 365 tenant) or attach the
        app to an existing one; either way the app is consented there."""
        body = {
            "tenant_id": tenant_id,
            "display_name": display_name,
            # Deterministic per GUID, so a retried connect attaches to the same tenant.
            "initial_domain": f"sandbox{tenant_id.replace('-', '')[:16]}.onmicrosoft.com",
            "dehydrated": True,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        result: dict[str, Any] = await self._call("POST", "/_sandbox/tenants", body)
        return result

    async def publish_dns(self, domain: str, records: list[dict[str, Any]]) -> None:
        """Replace the domain's zone (what a customer does at their registrar)."""
        await self._call("PUT", f"/_sandbox/dns/{domain}", {"records": records})

    async def dns_zone(self, domain: str) -> list[dict[str, Any]]:
        zone = await self._call("GET", f"/_sandbox/dns/{domain}")
        return list(zone["records"])

    async def propagation_bound(self) -> float:
        """The longest mailbox propagation the sandbox may draw after New-Mailbox, in seconds
        (the sandbox's stand-in for Microsoft's documented 2-5 minutes)."""
        config = await self._call("GET", "/_sandbox/config")
        return max(
            float(config["propagation_min_seconds"]), float(config["propagation_max_seconds"])
        )

    async def now(self) -> datetime:
        clock = await self._call("GET", "/_sandbox/clock")
        return datetime.fromisoformat(str(clock["now"]))
