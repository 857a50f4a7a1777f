"""Shared mailboxes and their CAS settings (wire reference 4.2, 4.3)."""

from __future__ import annotations

from tenantcore.microsoft.errors import AlreadyExists, NotFound
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import CasMailbox, Mailbox

_MAILBOX_FIELDS = [
    "Guid",
    "ExternalDirectoryObjectId",
    "Name",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "UserPrincipalName",
    "RecipientTypeDetails",
    "EmailAddresses",
    "AccountDisabled",
]


def mailbox_name_for(address: str) -> str:
    """Name/Alias for a mailbox: unique across domains (`info@d1` and `info@d2` both work).

    Exchange needs distinct Name and Alias values when the same local part is reused on
    several domains (wire reference 4.3.1), so the domain is folded into the name.
    """
    local, _, domain = address.lower().partition("@")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_")
    folded = "".join(ch if ch in allowed else "-" for ch in f"{local}-{domain}")
    return folded.strip("-")[:64]


class MailboxOps(ExchangeTransport):
    async def new_shared_mailbox(
        self,
        tenant_id: str,
        *,
        primary_smtp_address: str,
        display_name: str,
        alias: str | None = None,
    ) -> Mailbox:
        """Create a shared mailbox, or return it if a previous attempt already did.

        Safe to repeat: an "already exists" for the same address resolves to the existing
        shared mailbox; a clash with anything else stays an `AlreadyExists` error. `alias`
        defaults to the Name (unique per address, see `mailbox_name_for`).
        """
        name = mailbox_name_for(primary_smtp_address)
        try:
            result = await self.invoke(
                tenant_id,
                "New-Mailbox",
                {
                    "Shared": True,
                    "Name": name,
                    "Alias": alias or name,
                    "DisplayName": display_name,
                    "PrimarySmtpAddress": primary_smtp_address,
                },
            )
        except AlreadyExists:
            existing = await self.find_mailbox(tenant_id, primary_smtp_address)
            if (
                existing is not None
                and existing.primary_smtp_address.lower() == primary_smtp_address.lower()
                and existing.recipient_type_details == "SharedMailbox"
            ):
                return existing
            raise
        return Mailbox.model_validate(result.rows[0])

    async def get_mailbox(self, tenant_id: str, identity: str, *, fresh: bool = False) -> Mailbox:
        """One mailbox; `fresh=True` retries the replication-lag 404 right after a create."""
        result = await self.invoke(
            tenant_id,
            "Get-Mailbox",
            {"Identity": identity},
            select=_MAILBOX_FIELDS,
            retry_not_found=fresh,
        )
        if not result.rows:
            raise NotFound(f"mailbox {identity} not found", operation="Get-Mailbox")
        return Mailbox.model_validate(result.rows[0])

    async def find_mailbox(self, tenant_id: str, identity: str) -> Mailbox | None:
        try:
            return await self.get_mailbox(tenant_id, identity)
        except NotFound:
            return None

    async def list_shared_mailboxes(
        self, tenant_id: str, *, domain: str | None = None
    ) -> list[Mailbox]:
        parameters: dict[str, object] = {
            "RecipientTypeDetails": "SharedMailbox",
            "ResultSize": "Unlimited",
        }
        if domain is not None:
            parameters["Filter"] = f"EmailAddresses -like '*@{domain}'"
        result = await self.invoke(tenant_id, "Get-Mailbox", parameters, select=_MAILBOX_FIELDS)
        return [Mailbox.model_validate(row) for row in result.rows]

    async def set_mailbox(
        self,
        tenant_id: str,
        identity: str,
        *,
        display_name: str | None = None,
        recipient_limits: int | None = None,
    ) -> None:
        parameters: dict[str, object] = {"Identity": identity}
        if display_name is not None:
            parameters["DisplayName"] = display_name
        if recipient_limits is not None:
            parameters["RecipientLimits"] = recipient_limits
        await self.invoke(
            tenant_id, "Set-Mailbox", parameters, anchor=identity, retry_not_found=True
        )

    async def remove_mailbox(self, tenant_id: str, identity: str) -> bool:
        """Remove a mailbox (and its account); False if it was already gone."""
        try:
            await self.invoke(tenant_id, "Remove-Mailbox", {"Identity": identity}, anchor=identity)
        except NotFound:
            return False
        return True

    async def get_cas_mailbox(self, tenant_id: str, identity: str) -> CasMailbox:
        result = await self.invoke(
            tenant_id,
            "Get-CASMailbox",
            {"Identity": identity},
            anchor=identity,
            retry_not_found=True,
        )
        if not result.rows:
            raise NotFound(f"mailbox {identity} not found", operation="Get-CASMailbox")
        return CasMailbox.model_validate(result.rows[0])

    async def list_cas_mailboxes(self, tenant_id: str) -> list[CasMailbox]:
        """Every mailbox's client-access settings (SMTP AUTH among them), all pages."""
        result = await self.invoke(tenant_id, "Get-CASMailbox", {"ResultSize": "Unlimited"})
        return [CasMailbox.model_validate(row) for row in result.rows]

    async def set_mailbox_smtp_auth(
        self, tenant_id: str, identity: str, *, disabled: bool | None
    ) -> None:
        """Per-mailbox SMTP AUTH: False enables it, True blocks it, None inherits the org."""
        await self.invoke(
            tenant_id,
            "Set-CASMailbox",
            {"Identity": identity, "SmtpClientAuthenticationDisabled": disabled},
            anchor=identity,
            retry_not_found=True,
        )
