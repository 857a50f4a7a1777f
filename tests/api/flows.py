"""Multi-step arrangements through the API itself, shared by the API tests."""

from __future__ import annotations

from tests.api.conftest import Api


async def verified_domain(api: Api, tenant_id: str, name: str) -> dict[str, object]:
    """Add a domain (the sandbox publishes its records) and verify it."""
    added = await api.http.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": name})
    assert added.status_code in (200, 201), added.text
    verified = await api.http.post(f"/v1/tenants/{tenant_id}/domains/{name}/verify")
    assert verified.status_code == 200, verified.text
    body: dict[str, object] = verified.json()
    return body
