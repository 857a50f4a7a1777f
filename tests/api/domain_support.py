"""Arrangements shared by the domain tests: adding a domain, playing the registrar in the
sandbox's DNS, and reading a domain's records and health verdicts."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.api.conftest import Api

DOMAIN = "mail.acmecorp.com"
MX_HOST = "mail-acmecorp-com.mail.protection.outlook.com"
DOMAIN_FIELDS = {
    "id",
    "domain_name",
    "is_default",
    "is_verified",
    "spf_status",
    "dkim_status",
    "dmarc_status",
    "mx_status",
    "last_checked",
    "email_enabled",
    "created_at",
    "dns_records",
}
RECORD_FIELDS = {"type", "name", "host", "value", "priority", "ttl", "purpose", "required"}


def manual_dns(api: Api) -> None:
    """Turn off the sandbox's automatic publication: the test plays the registrar."""
    settings = api.context.settings
    sandbox = settings.sandbox.model_copy(update={"auto_publish_dns": False})
    api.context.settings = settings.model_copy(update={"sandbox": sandbox})


async def add(client: httpx2.AsyncClient, tenant_id: str, name: str = DOMAIN) -> httpx2.Response:
    return await client.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": name})


def by_purpose(domain: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {record["purpose"]: record for record in domain["dns_records"]}


def statuses(domain: dict[str, Any]) -> dict[str, str]:
    return {k: domain[f"{k}_status"] for k in ("spf", "dkim", "dmarc", "mx")}


async def zone(api: Api, name: str = DOMAIN) -> list[dict[str, Any]]:
    response = await api.control.get(f"/_sandbox/dns/{name}")
    return list(response.json()["records"])


async def publish(api: Api, records: list[dict[str, Any]], name: str = DOMAIN) -> None:
    response = await api.control.put(f"/_sandbox/dns/{name}", json={"records": records})
    response.raise_for_status()
