"""Bring Exchange in line with the enforcement TenantCore holds for a tenant (DESIGN.md §4).

(a) Exact caps: one outbound spam policy per distinct effective cap (`RecipientLimitPerDay` =
    cap, `BlockUserForToday`; the Default policy's external auto-forwarding and, when stricter,
    hourly limits), each bound to a rule naming the mailboxes at that cap, lowest cap first. Exchange counts every submission itself, so nobody sends past a cap even between
    two usage syncs. Caps nobody uses any more are removed.
(b) The switch: per scope, a mail-enabled security group and a transport rule rejecting its
    members with TenantCore's message. The usage sync adds a mailbox to the group when its cap
    is reached but Exchange has not blocked it, and empties it at the day boundary.
Every step is idempotent (the connector's `ensure_*`), so a retry after a crash converges.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from tenantcore.enforcement.caps import CapGroup, cap_from_name
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE
from tenantcore.microsoft.connector import MicrosoftConnector
from tenantcore.microsoft.errors import NotFound
from tenantcore.microsoft.models import OutboundSpamPolicy

REJECT_TEXT = (
    "This mailbox has reached its daily send limit set in TenantCore. Sending resumes at 00:00 UTC."
)
REJECT_CODE = "5.7.901"
T = TypeVar("T")


@dataclass(frozen=True)
class Switch:
    """The group and transport rule that block a scope's mailboxes on demand."""

    scope_key: str
    group_name: str
    group_address: str
    rule_name: str


def switch_for(scope_key: str, initial_domain: str) -> Switch:
    if scope_key == TENANT_WIDE_SCOPE:
        token = "all-domains"  # noqa: S105 - a name part, not a secret
        label = "all domains"
    else:
        # Aliases are limited to 64 characters: long domains get a short stable digest.
        digest = hashlib.sha256(scope_key.encode()).hexdigest()[:8]
        token = scope_key.replace(".", "-")[:40] + "-" + digest
        label = scope_key
    alias = f"tc-blocked-{token}"
    return Switch(
        scope_key=scope_key,
        group_name=alias,
        group_address=f"{alias}@{initial_domain}",
        rule_name=f"TenantCore daily limit ({label})",
    )


async def apply(
    connector: MicrosoftConnector,
    tenant_guid: str,
    *,
    caps: list[CapGroup],
    switches: list[Switch],
    members: Mapping[str, set[str]],
) -> None:
    """Make Exchange hold `caps` and `switches`, each switch's group exactly its scope's
    `members` (addresses by scope key, see caps.blocked_members): whatever a failed change, an
    admin or an earlier scope left there is put right."""
    exchange = connector.exchange
    existing = await exchange.list_outbound_spam_policies(tenant_guid)
    kept = _customer_settings(existing)
    for priority, group in enumerate(caps):
        await exchange.ensure_outbound_spam_policy(
            tenant_guid,
            name=group.name,
            recipient_limit_per_day=group.cap,
            external_per_hour=kept.external_per_hour,
            internal_per_hour=kept.internal_per_hour,
            auto_forwarding_mode=kept.auto_forwarding_mode,
        )
        await exchange.ensure_outbound_spam_rule(
            tenant_guid,
            name=group.name,
            policy=group.name,
            priority=priority,
            senders=list(group.senders),
        )
    wanted = {group.cap for group in caps}
    for rule in await exchange.list_outbound_spam_rules(tenant_guid):
        cap = cap_from_name(rule.name)
        if cap is not None and cap not in wanted:
            await exchange.remove_outbound_spam_rule(tenant_guid, rule.name)
    for policy in existing:  # a policy created above is wanted: the earlier list suffices
        cap = cap_from_name(policy.name)
        if cap is not None and cap not in wanted:
            await exchange.remove_outbound_spam_policy(tenant_guid, policy.name)
    for switch in switches:
        await exchange.ensure_security_group(
            tenant_guid, name=switch.group_name, primary_smtp_address=switch.group_address
        )
        await exchange.ensure_reject_rule_for_group(
            tenant_guid,
            name=switch.rule_name,
            group=switch.group_name,
            reason_text=REJECT_TEXT,
            enhanced_status_code=REJECT_CODE,
        )
        await _hold_exactly(connector, tenant_guid, switch, members.get(switch.scope_key, set()))


async def _hold_exactly(
    connector: MicrosoftConnector, tenant_guid: str, switch: Switch, wanted: set[str]
) -> None:
    exchange = connector.exchange
    held = {
        member.primary_smtp_address.lower()
        for member in await exchange.list_group_members(tenant_guid, switch.group_name)
    }
    for address in sorted(held - wanted):
        await exchange.remove_group_member(tenant_guid, switch.group_name, address)
    for address in sorted(wanted - held):
        try:
            await exchange.add_group_member(tenant_guid, switch.group_name, address)
        except NotFound:  # the mailbox is gone from Exchange: nothing of it to block
            continue


@dataclass(frozen=True)
class _CustomerSettings:
    """What the tenant's Default outbound spam policy says beyond the daily cap."""

    external_per_hour: int | None
    internal_per_hour: int | None
    auto_forwarding_mode: str | None


def _customer_settings(policies: list[OutboundSpamPolicy]) -> _CustomerSettings:
    """The Default policy's hourly limits (0: the service's) and external auto-forwarding.

    Only the first policy whose rule matches a sender applies to it, so a mailbox under a cap
    policy no longer gets the Default policy's other settings; copying them keeps enforcement
    to the daily cap: forwarding the customer turned on keeps working, and a stricter hourly
    limit stays."""
    default = next((policy for policy in policies if policy.is_default), None)
    if default is None:
        return _CustomerSettings(None, None, None)
    return _CustomerSettings(
        external_per_hour=default.recipient_limit_external_per_hour or None,
        internal_per_hour=default.recipient_limit_internal_per_hour or None,
        auto_forwarding_mode=default.auto_forwarding_mode,
    )


async def withdraw(connector: MicrosoftConnector, tenant_guid: str, switches: list[Switch]) -> None:
    """Remove everything TenantCore created for enforcement: the cap rules and policies, then
    each switch's transport rule and group (rule first, so no mailbox is rejected by a rule
    whose group is half gone). Mailboxes, users and domains are the customer's and stay.
    Safe to repeat: what is already gone is skipped."""
    exchange = connector.exchange
    for rule in await exchange.list_outbound_spam_rules(tenant_guid):
        if cap_from_name(rule.name) is not None:
            await exchange.remove_outbound_spam_rule(tenant_guid, rule.name)
    for policy in await exchange.list_outbound_spam_policies(tenant_guid):
        if cap_from_name(policy.name) is not None:
            await exchange.remove_outbound_spam_policy(tenant_guid, policy.name)
    for switch in switches:
        await remove_switch(connector, tenant_guid, switch)


async def remove_switch(connector: MicrosoftConnector, tenant_guid: str, switch: Switch) -> None:
    """Remove one scope's transport rule, then its group (safe to repeat)."""
    await connector.exchange.remove_transport_rule(tenant_guid, switch.rule_name)
    await connector.exchange.remove_group(tenant_guid, switch.group_name)


def _answer(result: T | BaseException) -> T:
    if isinstance(result, BaseException):
        raise result
    return result


async def read_state(
    connector: MicrosoftConnector, tenant_guid: str, switch: Switch
) -> dict[str, Any]:
    """What exists in Exchange now: TenantCore's cap policies and rules, and the scope's switch.
    The independent reads run at once (the connector keeps within the tenant's concurrency)."""
    exchange = connector.exchange
    spam_rules, spam_policies, transport_rules, group = await asyncio.gather(
        exchange.list_outbound_spam_rules(tenant_guid),
        exchange.list_outbound_spam_policies(tenant_guid),
        exchange.list_transport_rules(tenant_guid),
        exchange.find_group(tenant_guid, switch.group_name),
        return_exceptions=True,
    )
    # Every read is awaited before any failure is raised: none is left running unobserved.
    spam_rules, spam_policies = _answer(spam_rules), _answer(spam_policies)
    transport_rules, group = _answer(transport_rules), _answer(group)
    rules = {rule.name: rule for rule in spam_rules if cap_from_name(rule.name) is not None}
    policies = [
        {
            "name": policy.name,
            "recipient_limit_per_day": policy.recipient_limit_per_day,
            "action_when_threshold_reached": policy.action_when_threshold_reached,
            "recipient_limit_external_per_hour": policy.recipient_limit_external_per_hour,
            "recipient_limit_internal_per_hour": policy.recipient_limit_internal_per_hour,
            "auto_forwarding_mode": policy.auto_forwarding_mode,
            "rule_priority": rules[policy.name].priority if policy.name in rules else None,
            "senders": sorted(rules[policy.name].sender_from) if policy.name in rules else [],
        }
        for policy in spam_policies
        if cap_from_name(policy.name) is not None
    ]
    transport_rule = next((rule for rule in transport_rules if rule.name == switch.rule_name), None)
    members = (
        [
            m.primary_smtp_address
            for m in await exchange.list_group_members(tenant_guid, switch.group_name)
        ]
        if group is not None
        else []
    )
    return {
        "outbound_spam_policies": sorted(policies, key=lambda p: p["recipient_limit_per_day"]),
        "block_group": None
        if group is None
        else {"name": group.name, "address": group.primary_smtp_address, "members": members},
        "transport_rule": None
        if transport_rule is None
        else {
            "name": transport_rule.name,
            "state": transport_rule.state,
            "reject_message": transport_rule.reject_message_reason_text,
            "reject_status_code": transport_rule.reject_message_enhanced_status_code,
        },
    }
