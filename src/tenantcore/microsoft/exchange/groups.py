"""Mail-enabled security groups and their members (the enforcement switch's group)."""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists, NotFound
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import DistributionGroup, GroupMember


class GroupOps(ExchangeTransport):
    async def ensure_security_group(
        self, tenant_id: str, *, name: str, primary_smtp_address: str
    ) -> DistributionGroup:
        """Create a mail-enabled security group, or return the one a previous attempt made."""
        try:
            result = await self.invoke(
                tenant_id,
                "New-DistributionGroup",
                {
                    "Name": name,
                    "Alias": name,
                    "DisplayName": name,
                    "PrimarySmtpAddress": primary_smtp_address,
                    "Type": "Security",
                },
            )
        except AlreadyExists:
            return await self.get_group(tenant_id, name)
        return DistributionGroup.model_validate(result.rows[0])

    async def get_group(self, tenant_id: str, identity: str) -> DistributionGroup:
        result = await self.invoke(
            tenant_id, "Get-DistributionGroup", {"Identity": identity}, retry_not_found=True
        )
        if not result.rows:
            raise NotFound(f"group {identity} not found", operation="Get-DistributionGroup")
        return DistributionGroup.model_validate(result.rows[0])

    async def find_group(self, tenant_id: str, identity: str) -> DistributionGroup | None:
        try:
            result = await self.invoke(tenant_id, "Get-DistributionGroup", {"Identity": identity})
        except NotFound:
            return None
        return DistributionGroup.model_validate(result.rows[0]) if result.rows else None

    async def remove_group(self, tenant_id: str, identity: str) -> bool:
        try:
            await self.invoke(tenant_id, "Remove-DistributionGroup", {"Identity": identity})
        except NotFound:
            return False
        return True

    async def add_group_member(self, tenant_id: str, group: str, member: str) -> bool:
        """Add a member; False if it already was one."""
        try:
            await self.invoke(
                tenant_id,
                "Add-DistributionGroupMember",
                {"Identity": group, "Member": member},
                retry_not_found=True,
            )
        except AlreadyExists:
            return False
        return True

    async def remove_group_member(self, tenant_id: str, group: str, member: str) -> bool:
        """Remove a member; False if it was not one."""
        try:
            await self.invoke(
                tenant_id,
                "Remove-DistributionGroupMember",
                {"Identity": group, "Member": member},
            )
        except NotFound:
            return False
        return True

    async def list_group_members(self, tenant_id: str, group: str) -> list[GroupMember]:
        result = await self.invoke(
            tenant_id, "Get-DistributionGroupMember", {"Identity": group, "ResultSize": "Unlimited"}
        )
        return [GroupMember.model_validate(row) for row in result.rows]
