"""Custom domains (wire reference 2.6): add, verify, enable for Email, DNS records."""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists
from tenantcore.microsoft.graph.transport import GraphTransport
from tenantcore.microsoft.models import DnsRecord, Domain


class DomainOps(GraphTransport):
    async def add_domain(self, tenant_id: str, name: str) -> Domain:
        """Add a domain, or return it if this tenant already has it (safe to repeat)."""
        try:
            body = await self.request(
                tenant_id, "POST", "/domains", operation="POST /domains", json={"id": name}
            )
        except AlreadyExists:
            return await self.get_domain(tenant_id, name)
        return Domain.model_validate(body)

    async def get_domain(self, tenant_id: str, name: str) -> Domain:
        body = await self.request(
            tenant_id,
            "GET",
            f"/domains/{name}",
            operation="GET /domains/{id}",
            retry_not_found=True,
        )
        return Domain.model_validate(body)

    async def list_domains(self, tenant_id: str) -> list[Domain]:
        rows = await self.collect(tenant_id, "/domains", operation="GET /domains")
        return [Domain.model_validate(row) for row in rows]

    async def verification_records(self, tenant_id: str, name: str) -> list[DnsRecord]:
        rows = await self.collect(
            tenant_id,
            f"/domains/{name}/verificationDnsRecords",
            operation="GET /domains/{id}/verificationDnsRecords",
        )
        return [DnsRecord.model_validate(row) for row in rows]

    async def service_configuration_records(self, tenant_id: str, name: str) -> list[DnsRecord]:
        rows = await self.collect(
            tenant_id,
            f"/domains/{name}/serviceConfigurationRecords",
            operation="GET /domains/{id}/serviceConfigurationRecords",
        )
        return [DnsRecord.model_validate(row) for row in rows]

    async def verify_domain(self, tenant_id: str, name: str) -> Domain:
        """Ask Microsoft to check the verification record; raises when it is not published."""
        body = await self.request(
            tenant_id, "POST", f"/domains/{name}/verify", operation="POST /domains/{id}/verify"
        )
        return Domain.model_validate(body)

    async def enable_email(self, tenant_id: str, name: str, current: list[str]) -> None:
        """Add Email to the domain's supported services (keeping the ones it has)."""
        services = sorted({*current, "Email"})
        await self.request(
            tenant_id,
            "PATCH",
            f"/domains/{name}",
            operation="PATCH /domains/{id}",
            json={"supportedServices": services},
        )

    async def delete_domain(self, tenant_id: str, name: str) -> None:
        await self.request(
            tenant_id, "DELETE", f"/domains/{name}", operation="DELETE /domains/{id}"
        )
