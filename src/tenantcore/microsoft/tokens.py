"""Access tokens per (tenant, resource), behind one small interface.

Live mode uses MSAL's confidential client (client secret or certificate); sandbox mode posts the
same client-credentials grant straight to the sandbox's token endpoint, because MSAL refuses
plain-http authorities (wire reference 1.3). Graph and Exchange need separate tokens: one
resource per request (wire reference 1.1).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import httpx2

from tenantcore.microsoft.errors import AuthenticationFailed, Throttled, Transient


class Resource(StrEnum):
    GRAPH = "https://graph.microsoft.com/.default"
    EXCHANGE = "https://outlook.office365.com/.default"


# Refresh this long before expiry so a token never dies mid-request.
_EXPIRY_MARGIN_SECONDS = 300


class TokenProvider(Protocol):
    # Seconds since the epoch on the clock the token issuer judges expiry by: real time live,
    # the sandbox's clock in sandbox mode (set by the assembly once the product clock exists).
    clock: Callable[[], float]

    async def token(self, tenant_id: str, resource: Resource) -> str: ...

    def invalidate(self, tenant_id: str, resource: Resource) -> None: ...


@dataclass
class _CachedToken:
    value: str
    refresh_at: float


class _CachingProvider:
    """Per-(tenant, resource) cache with single-flight refresh."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, Resource], _CachedToken] = {}
        self._locks: dict[tuple[str, Resource], asyncio.Lock] = {}
        self.fetches = 0
        self.clock: Callable[[], float] = time.time

    async def token(self, tenant_id: str, resource: Resource) -> str:
        key = (tenant_id.lower(), resource)
        cached = self._cache.get(key)
        if cached is not None and cached.refresh_at > self.clock():
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._cache.get(key)
            if cached is not None and cached.refresh_at > self.clock():
                return cached.value
            value, expires_in = await self._fetch(key[0], resource)
            self.fetches += 1
            lifetime = max(expires_in - _EXPIRY_MARGIN_SECONDS, expires_in / 2)
            self._cache[key] = _CachedToken(value, self.clock() + lifetime)
            return value

    def invalidate(self, tenant_id: str, resource: Resource) -> None:
        self._cache.pop((tenant_id.lower(), resource), None)

    async def _fetch(self, tenant_id: str, resource: Resource) -> tuple[str, float]:
        raise NotImplementedError


def _token_error(status: int, body: dict[str, Any], tenant_id: str) -> Exception:
    description = str(body.get("error_description") or body.get("error") or "token request failed")
    detail = description.split("\r\n", 1)[0]
    code = str(body.get("error") or status)
    if status == 429:
        return Throttled(detail, status=status, code=code, operation="token")
    if status >= 500:
        return Transient(detail, status=status, code=code, operation="token")
    return AuthenticationFailed(
        f"{detail} (tenant {tenant_id})", status=status, code=code, operation="token"
    )


class ClientCredentialsTokenProvider(_CachingProvider):
    """The client-credentials grant over plain HTTP, for the sandbox's token endpoint."""

    def __init__(
        self, http: httpx2.AsyncClient, login_base_url: str, client_id: str, client_secret: str
    ) -> None:
        super().__init__()
        self._http = http
        self._base = login_base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret

    async def _fetch(self, tenant_id: str, resource: Resource) -> tuple[str, float]:
        try:
            response = await self._http.post(
                f"{self._base}/{tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "scope": resource.value,
                },
            )
        except httpx2.TransportError as exc:
            raise Transient(f"token endpoint unreachable: {exc!r}", operation="token") from exc
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text[:200]}
        if response.status_code != 200:
            raise _token_error(response.status_code, body, tenant_id)
        return str(body["access_token"]), float(body.get("expires_in", 3599))


class MsalTokenProvider(_CachingProvider):
    """MSAL confidential client per tenant authority, run off the event loop (MSAL is sync)."""

    def __init__(
        self,
        login_base_url: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        certificate_path: Path | None = None,
        certificate_thumbprint: str | None = None,
        http_client: Any | None = None,
    ) -> None:
        super().__init__()
        if client_secret is None and certificate_path is None:
            raise ValueError("live mode needs a client secret or a certificate")
        self._base = login_base_url.rstrip("/")
        self._client_id = client_id
        self._credential: str | dict[str, str]
        if certificate_path is not None:
            if not certificate_thumbprint:
                raise ValueError("a certificate credential needs its thumbprint")
            self._credential = {
                "private_key": certificate_path.read_text(),
                "thumbprint": certificate_thumbprint,
            }
        else:
            assert client_secret is not None
            self._credential = client_secret
        self._http_client = http_client
        self._apps: dict[str, Any] = {}

    def _app(self, tenant_id: str) -> Any:
        import msal

        app = self._apps.get(tenant_id)
        if app is None:
            options: dict[str, Any] = {}
            if self._http_client is not None:
                options["http_client"] = self._http_client
            app = msal.ConfidentialClientApplication(
                self._client_id,
                client_credential=self._credential,
                authority=f"{self._base}/{tenant_id}",
                **options,
            )
            self._apps[tenant_id] = app
        return app

    async def _fetch(self, tenant_id: str, resource: Resource) -> tuple[str, float]:
        def acquire() -> dict[str, Any]:
            result: dict[str, Any] = self._app(tenant_id).acquire_token_for_client(
                scopes=[resource.value]
            )
            return result

        try:
            result = await asyncio.to_thread(acquire)
        except (OSError, ValueError) as exc:
            raise Transient(f"token request failed: {exc!r}", operation="token") from exc
        if "access_token" not in result:
            status = 400 if result.get("error") != "invalid_client" else 401
            raise _token_error(status, result, tenant_id)
        return str(result["access_token"]), float(result.get("expires_in", 3599))
