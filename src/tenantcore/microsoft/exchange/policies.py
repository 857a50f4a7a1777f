"""Transport rules, outbound spam policies and rules, restricted senders (wire ref 4.4-4.6).

Every `ensure_*` creates the object or brings an existing one to the wanted settings, so a
provisioning step can be repeated after a crash without duplicates.
"""

from __future__ import annotations

from typing import Any

from tenantcore.microsoft.errors import AlreadyExists, NotFound
from tenantcore.microsoft.exchange.transport import ExchangeTransport
from tenantcore.microsoft.models import (
    BlockedSender,
    OutboundSpamPolicy,
    OutboundSpamRule,
    TransportRule,
)


class PolicyOps(ExchangeTransport):
    async def _ensure(
        self,
        tenant_id: str,
        noun: str,
        name: str,
        create: dict[str, Any],
        update: dict[str, Any],
    ) -> dict[str, Any]:
        try:
            result = await self.invoke(tenant_id, f"New-{noun}", {"Name": name, **create})
        except AlreadyExists:
            if update:
                await self.invoke(
                    tenant_id, f"Set-{noun}", {"Identity": name, **update}, retry_not_found=True
                )
            result = await self.invoke(
                tenant_id, f"Get-{noun}", {"Identity": name}, retry_not_found=True
            )
        return result.rows[0]

    async def _remove(self, tenant_id: str, noun: str, name: str) -> bool:
        try:
            await self.invoke(tenant_id, f"Remove-{noun}", {"Identity": name})
        except NotFound:
            return False
        return True

    async def _list(self, tenant_id: str, noun: str) -> list[dict[str, Any]]:
        return (await self.invoke(tenant_id, f"Get-{noun}")).rows

    # Transport rules -------------------------------------------------------------------

    async def ensure_reject_rule_for_group(
        self,
        tenant_id: str,
        *,
        name: str,
        group: str,
        reason_text: str,
        enhanced_status_code: str = "5.7.901",
        priority: int = 0,
    ) -> TransportRule:
        """A mail-flow rule rejecting mail from members of `group` with an NDR in our words."""
        settings = {
            "FromMemberOf": [group],
            "RejectMessageReasonText": reason_text,
            "RejectMessageEnhancedStatusCode": enhanced_status_code,
            "Priority": priority,
            "Mode": "Enforce",
            "StopRuleProcessing": True,
        }
        row = await self._ensure(tenant_id, "TransportRule", name, settings, settings)
        return TransportRule.model_validate(row)

    async def list_transport_rules(self, tenant_id: str) -> list[TransportRule]:
        return [
            TransportRule.model_validate(r) for r in await self._list(tenant_id, "TransportRule")
        ]

    async def remove_transport_rule(self, tenant_id: str, name: str) -> bool:
        return await self._remove(tenant_id, "TransportRule", name)

    # Outbound spam policies and rules ----------------------------------------------------

    async def ensure_outbound_spam_policy(
        self,
        tenant_id: str,
        *,
        name: str,
        recipient_limit_per_day: int,
        action: str = "BlockUserForToday",
        external_per_hour: int | None = None,
        internal_per_hour: int | None = None,
        auto_forwarding_mode: str | None = None,
    ) -> OutboundSpamPolicy:
        """A policy capping recipients per UTC day; hourly limits the day's unless given (then
        never looser than it); external auto-forwarding as given, else Exchange's default."""
        settings: dict[str, Any] = {
            "RecipientLimitPerDay": recipient_limit_per_day,
            "RecipientLimitExternalPerHour": min(
                external_per_hour or recipient_limit_per_day, recipient_limit_per_day
            ),
            "RecipientLimitInternalPerHour": min(
                internal_per_hour or recipient_limit_per_day, recipient_limit_per_day
            ),
            "ActionWhenThresholdReached": action,
        }
        if auto_forwarding_mode is not None:
            settings["AutoForwardingMode"] = auto_forwarding_mode
        row = await self._ensure(
            tenant_id, "HostedOutboundSpamFilterPolicy", name, settings, settings
        )
        return OutboundSpamPolicy.model_validate(row)

    async def list_outbound_spam_policies(self, tenant_id: str) -> list[OutboundSpamPolicy]:
        rows = await self._list(tenant_id, "HostedOutboundSpamFilterPolicy")
        return [OutboundSpamPolicy.model_validate(r) for r in rows]

    async def remove_outbound_spam_policy(self, tenant_id: str, name: str) -> bool:
        return await self._remove(tenant_id, "HostedOutboundSpamFilterPolicy", name)

    async def ensure_outbound_spam_rule(
        self,
        tenant_id: str,
        *,
        name: str,
        policy: str,
        priority: int,
        senders: list[str] | None = None,
        from_member_of: list[str] | None = None,
        sender_domains: list[str] | None = None,
    ) -> OutboundSpamRule:
        conditions: dict[str, Any] = {"Priority": priority}
        if senders is not None:
            conditions["From"] = senders
        if from_member_of is not None:
            conditions["FromMemberOf"] = from_member_of
        if sender_domains is not None:
            conditions["SenderDomainIs"] = sender_domains
        row = await self._ensure(
            tenant_id,
            "HostedOutboundSpamFilterRule",
            name,
            {"HostedOutboundSpamFilterPolicy": policy, "Enabled": True, **conditions},
            conditions,
        )
        return OutboundSpamRule.model_validate(row)

    async def list_outbound_spam_rules(self, tenant_id: str) -> list[OutboundSpamRule]:
        rows = await self._list(tenant_id, "HostedOutboundSpamFilterRule")
        return [OutboundSpamRule.model_validate(r) for r in rows]

    async def remove_outbound_spam_rule(self, tenant_id: str, name: str) -> bool:
        return await self._remove(tenant_id, "HostedOutboundSpamFilterRule", name)

    # Restricted senders ---------------------------------------------------------------

    async def list_blocked_senders(self, tenant_id: str) -> list[BlockedSender]:
        rows = await self._list(tenant_id, "BlockedSenderAddress")
        return [BlockedSender.model_validate(r) for r in rows]

    async def remove_blocked_sender(
        self, tenant_id: str, address: str, *, reason: str = "Released by TenantCore"
    ) -> bool:
        try:
            await self.invoke(
                tenant_id,
                "Remove-BlockedSenderAddress",
                {"SenderAddress": address, "Reason": reason},
            )
        except NotFound:
            return False
        return True
