"""What the sandbox's Exchange holds for a tenant, read over loopback through the connector
(the same client the product uses), to look for duplicates after crashes."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from tenantcore.assembly import sandbox_settings
from tenantcore.enforcement.caps import cap_from_name
from tenantcore.microsoft.connector import build_connector
from tenantcore.settings import SandboxSettings, Settings


@dataclass
class Inventory:
    mailboxes: Counter[str]
    policies: Counter[str]
    policy_rules: Counter[str]
    transport_rules: Counter[str]
    senders_by_cap: dict[int, list[str]]


async def _read(http_port: int, tenant_id: str) -> Inventory:
    settings = sandbox_settings(
        Settings(sandbox=SandboxSettings(http_port=http_port)), in_process=False
    )
    connector = build_connector(settings.microsoft)
    try:
        exchange = connector.exchange
        shared = await exchange.list_shared_mailboxes(tenant_id)
        policies = await exchange.list_outbound_spam_policies(tenant_id)
        rules = await exchange.list_outbound_spam_rules(tenant_id)
        transport = await exchange.list_transport_rules(tenant_id)
    finally:
        await connector.aclose()
    senders: dict[int, list[str]] = {}
    for rule in rules:
        cap = cap_from_name(rule.name)
        if cap is not None:
            senders[cap] = sorted(address.lower() for address in rule.sender_from)
    return Inventory(
        mailboxes=Counter(m.primary_smtp_address.lower() for m in shared),
        policies=Counter(p.name for p in policies if cap_from_name(p.name) is not None),
        policy_rules=Counter(r.name for r in rules if cap_from_name(r.name) is not None),
        transport_rules=Counter(r.name for r in transport),
        senders_by_cap=senders,
    )


def read_inventory(http_port: int, tenant_id: str) -> Inventory:
    return asyncio.run(_read(http_port, tenant_id))
