"""An account's API keys: several per account, full or read-only, listed without their
secrets, revoked at once; the account always keeps a key that can make changes."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2

from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, SALES, one, provision, tenant_with_domain


async def _create(client: httpx2.AsyncClient, **body: Any) -> httpx2.Response:
    return await client.post("/v1/api-keys", json=body)


async def test_a_read_only_key_reads_and_changes_nothing(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    await provision(api, tenant_id, "sales")
    mailbox_id = (await one(api, tenant_id, SALES))["id"]
    created = await _create(api.http, name="dashboard", scope="read")
    assert created.status_code == 201, created.text
    document = created.json()
    read_key = document["api_key"]
    assert read_key.startswith("tc_live_")
    assert len(read_key) == len("tc_live_") + 48
    assert (document["name"], document["scope"], document["current"]) == (
        "dashboard",
        "read",
        False,
    )
    assert read_key.startswith(document["key_prefix"])
    reader = api.client(read_key)
    for path in (
        "/v1/tenants",
        f"/v1/tenants/{tenant_id}",
        f"/v1/tenants/{tenant_id}/domains",
        f"/v1/tenants/{tenant_id}/mailboxes",
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage",
        f"/v1/tenants/{tenant_id}/usage",
        "/v1/enforcement/events",
        "/v1/api-keys",
    ):
        assert (await reader.get(path)).status_code == 200, path
    mailbox_url = f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    for method, path, body in (
        ("POST", "/v1/tenants", {"tenant_id": "11111111-2222-3333-4444-555555555555"}),
        ("POST", f"/v1/tenants/{tenant_id}/domains", {"domain": "mail.globexcorp.com"}),
        ("POST", f"/v1/tenants/{tenant_id}/domains/{DOMAIN}/verify", None),
        ("POST", f"/v1/tenants/{tenant_id}/mailboxes", {"domain": DOMAIN}),
        ("PATCH", mailbox_url, {"daily_send_limit": 5}),
        ("DELETE", mailbox_url, None),
        ("DELETE", f"/v1/tenants/{tenant_id}/domains/{DOMAIN}", None),
        ("POST", f"/v1/tenants/{tenant_id}/mailbox-limits", {"daily_send_limit": 5}),
        ("DELETE", f"/v1/tenants/{tenant_id}", None),
        ("POST", "/v1/api-keys", {"scope": "full"}),
        ("DELETE", f"/v1/api-keys/{document['id']}", None),
    ):
        response = await reader.request(method, path, json=body)
        assert response.status_code == 403, (method, path)
        assert response.json()["detail"]["code"] == "read_only_key", (method, path)
    # Nothing changed.
    tenants = (await api.http.get("/v1/tenants")).json()["tenants"]
    assert [t["tenant_id"] for t in tenants] == [tenant_id]
    assert (await one(api, tenant_id, SALES))["daily_send_limit"] is None
    assert (await api.http.get(f"/v1/tenants/{tenant_id}/domains")).json()["count"] == 1
    assert len((await api.http.get("/v1/api-keys")).json()["keys"]) == 2

    # It may rotate itself, and stays read-only.
    rotated = await reader.post("/v1/api-key/rotate")
    assert rotated.status_code == 200
    assert (await reader.get("/v1/tenants")).status_code == 401
    renewed = api.client(rotated.json()["api_key"])
    listed = (await renewed.get("/v1/api-keys")).json()["keys"]
    mine = next(key for key in listed if key["current"])
    assert (mine["name"], mine["scope"]) == ("dashboard", "read")
    assert (await renewed.post("/v1/tenants", json={"tenant_id": tenant_id})).status_code == 403


async def test_keys_are_listed_without_secrets_and_revoked_at_once(api: Api) -> None:
    first = (await api.http.get("/v1/api-keys")).json()
    assert first["count"] == 1
    [own] = first["keys"]
    assert (own["scope"], own["current"], own["name"]) == ("full", True, None)
    second = (await _create(api.http, name="ci")).json()
    assert second["scope"] == "full"
    listed = await api.http.get("/v1/api-keys")
    assert [k["id"] for k in listed.json()["keys"]] == [own["id"], second["id"]]
    assert second["api_key"] not in listed.text
    assert all("api_key" not in key for key in listed.json()["keys"])

    revoked = await api.http.delete(f"/v1/api-keys/{second['id']}")
    assert revoked.status_code == 204
    gone = await api.client(second["api_key"]).get("/v1/tenants")
    assert gone.status_code == 401
    assert gone.json()["detail"]["code"] == "invalid_api_key"
    for key_id in (second["id"], "no-such-key"):
        again = await api.http.delete(f"/v1/api-keys/{key_id}")
        assert again.status_code == 404
        assert again.json()["detail"]["code"] == "api_key_not_found"
    # Another account's key is not ours to see or revoke.
    other = api.client(await api.new_key("globex"))
    their_keys = [k["id"] for k in (await other.get("/v1/api-keys")).json()["keys"]]
    assert len(their_keys) == 1
    assert own["id"] not in their_keys
    foreign = await other.delete(f"/v1/api-keys/{own['id']}")
    assert foreign.status_code == 404
    assert (await api.http.get("/v1/tenants")).status_code == 200


async def test_the_last_full_key_cannot_be_revoked(api: Api) -> None:
    own = (await api.http.get("/v1/api-keys")).json()["keys"][0]
    read = (await _create(api.http, scope="read")).json()
    refused = await api.http.delete(f"/v1/api-keys/{own['id']}")
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "last_full_key"
    assert (await api.http.get("/v1/tenants")).status_code == 200
    # With a second full key, the caller may revoke its own, which stops at once.
    spare = (await _create(api.http, name="spare")).json()
    assert (await api.http.delete(f"/v1/api-keys/{own['id']}")).status_code == 204
    assert (await api.http.get("/v1/tenants")).status_code == 401
    spare_client = api.client(spare["api_key"])
    assert (await spare_client.delete(f"/v1/api-keys/{read['id']}")).status_code == 204
    assert (await spare_client.get("/v1/api-keys")).json()["count"] == 1


async def test_key_requests_are_validated(api: Api) -> None:
    for body in ({"scope": "admin"}, {"name": ""}, {"name": "x" * 101}, {"owner": "me"}):
        response = await _create(api.http, **body)
        assert response.status_code == 400, body
        assert response.json()["detail"]["code"] == "invalid_request", body
    assert (await api.http.get("/v1/api-keys")).json()["count"] == 1


def test_the_cli_issues_read_only_named_keys(tmp_path: Path) -> None:
    env = {**os.environ, "TENANTCORE_DATA_DIR": str(tmp_path)}
    env.pop("TENANTCORE_TEST_DATABASE_URL", None)
    env.pop("TENANTCORE_DATABASE_URL", None)
    command = [sys.executable, "-m", "tenantcore", "keys", "create", "--account", "acme"]
    done = subprocess.run(  # noqa: S603
        [*command, "--read-only", "--name", "reporting"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("tc_live_")
    with sqlite3.connect(tmp_path / "tenantcore.db") as db:
        rows = db.execute("SELECT name, scope, prefix FROM api_key").fetchall()
    assert rows == [("reporting", "read", key[len("tc_live_") : len("tc_live_") + 16])]
    bad = subprocess.run(  # noqa: S603
        [*command, "--name", " "], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert "--name" in bad.stderr


async def _last_used(api: Api) -> dict[str | None, datetime | None]:
    """Each key's `last_used_at` by name, once the writes already scheduled have landed, as
    seen by a key that is not among them."""
    await api.context.key_use.flush()
    keys = (await api.http.get("/v1/api-keys")).json()["keys"]
    return {
        key["name"]: key["last_used_at"] and datetime.fromisoformat(key["last_used_at"])
        for key in keys
        if not key["current"]
    }


async def test_each_key_shows_when_it_was_last_used_to_the_minute(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    dashboard = api.client(
        (await _create(api.http, name="dashboard", scope="read")).json()["api_key"]
    )
    ci = api.client((await _create(api.http, name="ci")).json()["api_key"])
    assert await _last_used(api) == {"dashboard": None, "ci": None}
    # The caller's own key counts the listing itself as a use.
    listing = (await api.http.get("/v1/api-keys")).json()["keys"]
    [own] = [key for key in listing if key["current"]]
    assert own["last_used_at"] is not None

    # A read on the hot path (the read pool) and a write (a session) both count; so does an
    # answer that is not a 2xx, as long as the key was good.
    started = await api.sandbox_now()
    assert (await dashboard.get(f"/v1/tenants/{tenant_id}/mailboxes")).status_code == 200
    assert (await ci.post("/v1/tenants/no-such-tenant/mailboxes", json={})).status_code in (
        400,
        404,
    )
    used = await _last_used(api)
    for name in ("dashboard", "ci"):
        moment = used[name]
        assert moment is not None
        assert started <= moment < started + timedelta(seconds=30)

    # Within the minute nothing is written again; a minute later it moves forward.
    assert (await dashboard.get("/v1/tenants")).status_code == 200
    assert await _last_used(api) == used
    await api.advance_sandbox_clock(90)
    await api.context.refresh_clock()
    assert (await dashboard.get("/v1/tenants")).status_code == 200
    later = await _last_used(api)
    assert later["ci"] == used["ci"]
    assert later["dashboard"] is not None
    assert used["dashboard"] is not None
    assert later["dashboard"] >= used["dashboard"] + timedelta(seconds=90)

    # A wrong key is no one's use.
    wrong = api.client("tc_live_" + "0" * 48)
    assert (await wrong.get("/v1/tenants")).status_code == 401
    assert await _last_used(api) == later
