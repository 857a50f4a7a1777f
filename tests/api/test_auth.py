"""API keys: the three auth failures, constant-time lookup by prefix, rotation."""

from __future__ import annotations

from sqlalchemy import select

from tenantcore.accounts.models import ApiKey
from tenantcore.core.db import unit_of_work
from tests.api.conftest import Api
from tests.api.mailbox_support import provision, tenant_with_domain


async def test_missing_header_is_missing_api_key(api: Api) -> None:
    response = await api.client(**{"X-Other": "1"}).get("/v1/tenants")
    assert response.status_code == 401
    assert response.json() == {
        "detail": {
            "code": "missing_api_key",
            "message": response.json()["detail"]["message"],
            "retryable": False,
            "request_id": response.headers["X-Request-Id"],
        }
    }


async def test_wrong_scheme_is_invalid_auth_header(api: Api) -> None:
    for header in (f"Token {api.key}", "Bearer", f"Bearer {api.key} extra", "Basic abc"):
        response = await api.client(Authorization=header).get("/v1/tenants")
        assert response.status_code == 401, header
        assert response.json()["detail"]["code"] == "invalid_auth_header", header


async def test_unknown_or_malformed_key_is_invalid_api_key(api: Api) -> None:
    almost = api.key[:-1] + ("0" if api.key[-1] != "0" else "1")
    for key in ("tc_live_abc", "sk_live_" + "0" * 48, almost, api.key.upper()):
        response = await api.client(key).get("/v1/tenants")
        assert response.status_code == 401, key
        assert response.json()["detail"]["code"] == "invalid_api_key", key


async def test_keys_are_stored_hashed(api: Api) -> None:
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        rows = list((await session.execute(select(ApiKey))).scalars())
    assert rows
    for row in rows:
        assert api.key not in (row.secret_hash, row.prefix)
        assert len(row.secret_hash) == 64


async def test_rotation_replaces_the_key_at_once(api: Api) -> None:
    response = await api.http.post("/v1/api-key/rotate")
    assert response.status_code == 200
    new_key = response.json()["api_key"]
    assert new_key.startswith("tc_live_")
    assert len(new_key) == len("tc_live_") + 48
    old = await api.client(api.key).get("/v1/tenants")
    assert old.status_code == 401
    assert old.json()["detail"]["code"] == "invalid_api_key"
    assert (await api.client(new_key).get("/v1/tenants")).status_code == 200


async def test_the_read_pool_endpoints_authenticate_alike(api: Api) -> None:
    """The mailbox list, usage, usage history, tenant usage and events authenticate on the read pool (core/reads.py), not
    through a session: the same three failures, and a rotated-out key is refused at once."""
    tenant_id = await tenant_with_domain(api)
    provisioned = await provision(api, tenant_id, "sales")
    mailbox_id = provisioned.json()["results"][0]["mailbox_id"]
    paths = (
        f"/v1/tenants/{tenant_id}/mailboxes",
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage",
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage/history",
        f"/v1/tenants/{tenant_id}/usage",
        f"/v1/tenants/{tenant_id}/usage/history",
        "/v1/enforcement/events",
    )
    rotated = (await api.http.post("/v1/api-key/rotate")).json()["api_key"]
    for path in paths:
        assert (await api.client(rotated).get(path)).status_code == 200, path
        for client, code in (
            (api.client(**{"X-Other": "1"}), "missing_api_key"),
            (api.client(Authorization="Basic abc"), "invalid_auth_header"),
            (api.client("tc_live_" + "0" * 48), "invalid_api_key"),
            (api.client(api.key), "invalid_api_key"),  # the key before the rotation
        ):
            response = await client.get(path)
            assert response.status_code == 401, (path, code)
            assert response.json()["detail"]["code"] == code, path
