"""Service principals and mailbox permissions: an application sends as a mailbox over SMTP
with OAuth (XOAUTH2) once its service principal is registered in Exchange and holds FullAccess
on the mailbox (wire reference 1.4, 7.1)."""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists, NotFound
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import ExchangeServicePrincipal, MailboxPermission

FULL_ACCESS = "FullAccess"


class PermissionOps(ExchangeTransport):
    async def get_service_principal(
        self, tenant_id: str, identity: str
    ) -> ExchangeServicePrincipal | None:
        """By app id or object id; None when Exchange has no reference to it."""
        try:
            result = await self.invoke(tenant_id, "Get-ServicePrincipal", {"Identity": identity})
        except NotFound:
            return None
        return ExchangeServicePrincipal.model_validate(result.rows[0]) if result.rows else None

    async def ensure_service_principal(
        self, tenant_id: str, app_id: str, object_id: str, display_name: str
    ) -> ExchangeServicePrincipal:
        """Register the application's service principal in Exchange unless it is already."""
        existing = await self.get_service_principal(tenant_id, app_id)
        if existing is not None:
            return existing
        try:
            result = await self.invoke(
                tenant_id,
                "New-ServicePrincipal",
                {"AppId": app_id, "ObjectId": object_id, "DisplayName": display_name},
            )
        except AlreadyExists:
            found = await self.get_service_principal(tenant_id, app_id)
            if found is None:
                raise
            return found
        return ExchangeServicePrincipal.model_validate(result.rows[0])

    async def remove_service_principal(self, tenant_id: str, identity: str) -> None:
        """Remove the reference and with it every mailbox permission it holds; done already
        when Exchange has none."""
        try:
            await self.invoke(tenant_id, "Remove-ServicePrincipal", {"Identity": identity})
        except NotFound:
            return

    async def grant_full_access(self, tenant_id: str, mailbox: str, trustee: str) -> None:
        """FullAccess on the mailbox for the service principal; a grant that exists already
        is accepted (Exchange warns)."""
        await self.invoke(
            tenant_id,
            "Add-MailboxPermission",
            {
                "Identity": mailbox,
                "User": trustee,
                "AccessRights": [FULL_ACCESS],
                "InheritanceType": "All",
                "AutoMapping": False,
            },
        )

    async def mailbox_permissions(self, tenant_id: str, mailbox: str) -> list[MailboxPermission]:
        result = await self.invoke(tenant_id, "Get-MailboxPermission", {"Identity": mailbox})
        return [MailboxPermission.model_validate(row) for row in result.rows]
