"""Token acquisition through the connector: cached per (tenant, resource), errors typed."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tenantcore.microsoft.errors import AuthenticationFailed
from tenantcore.microsoft.tokens import Resource
from tests.microsoft.conftest import World


async def test_tokens_are_cached_per_tenant_and_resource(world: World) -> None:
    first, second = await world.tenant(), await world.tenant()
    tokens = world.connector.tokens
    graph = await tokens.token(first, Resource.GRAPH)
    assert await tokens.token(first, Resource.GRAPH) == graph
    exchange = await tokens.token(first, Resource.EXCHANGE)
    assert exchange != graph
    assert await tokens.token(second, Resource.GRAPH) != graph
    counters = await world.counters()
    assert counters["calls"]["login:token"] == 3


async def test_invalidated_token_is_fetched_again(world: World) -> None:
    tenant = await world.tenant()
    tokens = world.connector.tokens
    await tokens.token(tenant, Resource.GRAPH)
    tokens.invalidate(tenant, Resource.GRAPH)
    await tokens.token(tenant, Resource.GRAPH)
    assert (await world.counters())["calls"]["login:token"] == 2


async def test_wrong_secret_is_authentication_failed(world: World) -> None:
    tenant = await world.tenant()
    connector = world.another_connector(client_secret=SecretStr("wrong"))
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await connector.tokens.token(tenant, Resource.GRAPH)
        assert caught.value.status == 401
        assert caught.value.code == "invalid_client"
        assert "AADSTS7000215" in caught.value.detail
    finally:
        await connector.aclose()


async def test_unknown_tenant_is_authentication_failed(world: World) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await world.connector.tokens.token(
            "00000000-0000-0000-0000-0000000000ff", Resource.EXCHANGE
        )
    assert "AADSTS90002" in caught.value.detail
