"""Multi-step arrangements the connector tests share (all through the connector itself)."""

from __future__ import annotations

from tenantcore.microsoft.models import Domain, Mailbox
from tests.microsoft.conftest import World

PASSWORD = "Sandbox-Pa55word!"


async def verified_domain(world: World, tenant_id: str, name: str) -> Domain:
    """Add a domain, publish its verification TXT in the sandbox's DNS, verify, enable Email."""
    graph = world.connector.graph
    await graph.add_domain(tenant_id, name)
    records = await graph.verification_records(tenant_id, name)
    txt = next(record for record in records if record.record_type.lower() == "txt")
    assert txt.text is not None
    await world.publish_dns(name, [{"type": "TXT", "name": "@", "value": txt.text}])
    domain = await graph.verify_domain(tenant_id, name)
    assert domain.is_verified
    await graph.enable_email(tenant_id, name, domain.supported_services)
    return await graph.get_domain(tenant_id, name)


async def ready_mailbox(world: World, tenant_id: str, address: str, name: str) -> Mailbox:
    """The provisioning sequence of the wire reference: New-Mailbox, PATCH user, CAS."""
    exchange, graph = world.connector.exchange, world.connector.graph
    mailbox = await exchange.new_shared_mailbox(
        tenant_id, primary_smtp_address=address, display_name=name
    )
    await graph.update_user(
        tenant_id,
        mailbox.external_directory_object_id,
        account_enabled=True,
        password=PASSWORD,
        fresh=True,
    )
    await exchange.set_mailbox_smtp_auth(tenant_id, address, disabled=False)
    return mailbox
