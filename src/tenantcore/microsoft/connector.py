"""Build the connector: one HTTP client, one token provider, the Graph and Exchange clients.

The same code serves the sandbox and Microsoft: only the base URLs (settings) and the HTTP
transport differ (the network, or the sandbox app in-process through an ASGI transport). The
mode picks the token provider alone, because MSAL refuses the sandbox's plain-http authority.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx2

from tenantcore.microsoft.exchange import ExchangeClient
from tenantcore.microsoft.graph import GraphClient
from tenantcore.microsoft.http import CallStats, ResilientCaller, RetryPolicy
from tenantcore.microsoft.tokens import (
    ClientCredentialsTokenProvider,
    MsalTokenProvider,
    TokenProvider,
)
from tenantcore.settings import MicrosoftSettings


@dataclass
class MicrosoftConnector:
    http: httpx2.AsyncClient
    tokens: TokenProvider
    caller: ResilientCaller
    graph: GraphClient
    exchange: ExchangeClient

    @property
    def stats(self) -> CallStats:
        return self.caller.stats

    async def aclose(self) -> None:
        await self.http.aclose()


def build_connector(
    settings: MicrosoftSettings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    rng: random.Random | None = None,
) -> MicrosoftConnector:
    http = httpx2.AsyncClient(
        transport=transport,
        timeout=httpx2.Timeout(settings.request_timeout_seconds, connect=10.0),
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20),
        trust_env=False,
    )
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    tokens: TokenProvider
    if settings.mode == "live":
        tokens = MsalTokenProvider(
            settings.login_base_url,
            settings.client_id,
            client_secret=secret,
            certificate_path=settings.certificate_path,
            certificate_thumbprint=settings.certificate_thumbprint,
        )
    else:
        if secret is None:
            raise ValueError("the sandbox app needs a client secret (microsoft.client_secret)")
        tokens = ClientCredentialsTokenProvider(
            http, settings.login_base_url, settings.client_id, secret
        )
    policy = RetryPolicy(
        max_attempts=settings.max_attempts,
        backoff_base_seconds=settings.backoff_base_seconds,
        backoff_max_seconds=settings.backoff_max_seconds,
        deadline_seconds=settings.call_deadline_seconds,
        replication_retries=settings.replication_retries,
    )
    options: dict[str, object] = {}
    if sleep is not None:
        options["sleep"] = sleep
    caller = ResilientCaller(http, tokens, policy, rng=rng, **options)  # type: ignore[arg-type]
    return MicrosoftConnector(
        http=http,
        tokens=tokens,
        caller=caller,
        graph=GraphClient(caller, settings.graph_base_url),
        exchange=ExchangeClient(
            caller, settings.exchange_base_url, settings.exchange_max_concurrency
        ),
    )
