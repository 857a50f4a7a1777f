"""Webhook requests reach public addresses only (unless private ones are allowed).

Checking a URL's host name when the webhook is created is not enough: the name may resolve to
`127.0.0.1` or a cloud metadata address, at once or later (DNS rebinding). So the check sits
where the connection is made: the host is resolved, every address it resolves to must be
public, and the socket connects to one of exactly those addresses. TLS still verifies the
certificate against the host name of the URL (the connection pool passes it to the handshake
separately), so pinning the address changes nothing for a receiver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence

import httpcore2
import httpx2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def reachable(address: str, allowed_networks: Sequence[Network] = ()) -> bool:
    """True for a globally routable address or one in `allowed_networks` (an IPv4-mapped IPv6
    address counts as its IPv4)."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if any(parsed in network for network in allowed_networks):
        return True
    return parsed.is_global and not parsed.is_multicast


class PublicAddressesOnly(AsyncNetworkBackend):
    """A network backend that connects only where the host resolves to public addresses (or
    addresses in the operator's allowed networks)."""

    def __init__(self, allowed_networks: Sequence[Network] = ()) -> None:
        self._inner = httpcore2.AnyIOBackend()
        self._allowed = tuple(allowed_networks)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await _resolve(host, port)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} timed out") from exc
        refused = [address for address in addresses if not reachable(address, self._allowed)]
        if refused:
            raise httpcore2.ConnectError(
                f"{host} resolves to a non-public address ({refused[0]}); webhooks are sent "
                "only to public addresses (settings webhook_allow_private_urls and "
                "webhook_allow_networks)"
            )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[str]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses: list[str] = []
    for *_, sockaddr in found:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise httpcore2.ConnectError(f"{host} resolves to no address")
    return addresses


class PublicOnlyTransport(httpx2.AsyncHTTPTransport):
    """httpx's own transport over a connection pool that uses `PublicAddressesOnly`.

    httpx takes no network backend, so the pool it builds is replaced by an equal one that
    does; the request and response handling stays httpx's."""

    def __init__(self, max_connections: int, allowed_networks: Sequence[Network] = ()) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=PublicAddressesOnly(allowed_networks),
        )
