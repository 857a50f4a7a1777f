"""Every Exchange operation of the connector against the sandbox: happy paths and typed errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tenantcore.microsoft.errors import (
    AlreadyExists,
    DehydratedOrganization,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from tests.microsoft.conftest import World
from tests.microsoft.flows import ready_mailbox, verified_domain


async def test_bootstrap_hydrates_and_enables_smtp_auth(world: World) -> None:
    tenant = await world.tenant(dehydrated=True)
    exchange = world.connector.exchange
    assert (await exchange.get_organization_config(tenant)).is_dehydrated is True
    with pytest.raises(DehydratedOrganization):
        await exchange.ensure_outbound_spam_policy(
            tenant, name="TenantCore cap 5", recipient_limit_per_day=5
        )
    assert await exchange.enable_organization_customization(tenant) is True
    assert (await exchange.get_organization_config(tenant)).is_dehydrated is False
    # Repeating it is harmless: Exchange says it is not required, the connector says False.
    assert await exchange.enable_organization_customization(tenant) is False

    assert (await exchange.get_transport_config(tenant)).smtp_client_authentication_disabled
    await exchange.set_smtp_client_authentication(tenant, disabled=False)
    transport = await exchange.get_transport_config(tenant)
    assert transport.smtp_client_authentication_disabled is False


async def test_accepted_domains_follow_graph_verification(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.acme-accepted.com")
    names = {d.domain_name for d in await world.connector.exchange.list_accepted_domains(tenant)}
    assert "mail.acme-accepted.com" in names


async def test_shared_mailbox_lifecycle(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.lifecycle.com")
    exchange = world.connector.exchange
    created = await exchange.new_shared_mailbox(
        tenant, primary_smtp_address="john@mail.lifecycle.com", display_name="John Doe"
    )
    assert created.recipient_type_details == "SharedMailbox"
    assert created.primary_smtp_address == "john@mail.lifecycle.com"
    # Safe to repeat: the second create returns the same mailbox.
    again = await exchange.new_shared_mailbox(
        tenant, primary_smtp_address="john@mail.lifecycle.com", display_name="John Doe"
    )
    assert again.guid == created.guid

    jane = await exchange.new_shared_mailbox(
        tenant, primary_smtp_address="jane@mail.lifecycle.com", display_name="Jane"
    )
    listed = await exchange.list_shared_mailboxes(tenant, domain="mail.lifecycle.com")
    assert {m.guid for m in listed} == {created.guid, jane.guid}

    await exchange.set_mailbox(tenant, "john@mail.lifecycle.com", display_name="Johnny")
    fetched = await exchange.get_mailbox(tenant, "john@mail.lifecycle.com")
    assert fetched.display_name == "Johnny"

    await exchange.set_mailbox_smtp_auth(tenant, "john@mail.lifecycle.com", disabled=False)
    cas = await exchange.get_cas_mailbox(tenant, "john@mail.lifecycle.com")
    assert cas.smtp_client_authentication_disabled is False
    # Every mailbox's switch in one (paged) list: set, or inheriting the tenant's (None).
    switches = {
        cas.primary_smtp_address: cas.smtp_client_authentication_disabled
        for cas in await exchange.list_cas_mailboxes(tenant)
    }
    assert switches["john@mail.lifecycle.com"] is False
    assert switches["jane@mail.lifecycle.com"] is None
    # Removed by the GUID New-Mailbox returned, as TenantCore names its own mailboxes.
    assert await exchange.remove_mailbox(tenant, jane.guid) is True
    assert await exchange.find_mailbox(tenant, "jane@mail.lifecycle.com") is None

    assert await exchange.remove_mailbox(tenant, "john@mail.lifecycle.com") is True
    assert await exchange.remove_mailbox(tenant, "john@mail.lifecycle.com") is False
    with pytest.raises(NotFound):
        await exchange.get_mailbox(tenant, "john@mail.lifecycle.com")
    assert await exchange.find_mailbox(tenant, "john@mail.lifecycle.com") is None


async def test_address_taken_by_another_recipient_stays_a_conflict(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.clash.com")
    exchange = world.connector.exchange
    await exchange.ensure_security_group(
        tenant, name="clash-group", primary_smtp_address="sales@mail.clash.com"
    )
    with pytest.raises(AlreadyExists):
        await exchange.new_shared_mailbox(
            tenant, primary_smtp_address="sales@mail.clash.com", display_name="Sales"
        )


async def test_groups_and_members_are_idempotent(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.groups.com")
    exchange = world.connector.exchange
    await ready_mailbox(world, tenant, "a@mail.groups.com", "A")
    group = await exchange.ensure_security_group(
        tenant, name="tc-blocked", primary_smtp_address="tc-blocked@mail.groups.com"
    )
    assert (
        await exchange.ensure_security_group(
            tenant, name="tc-blocked", primary_smtp_address="tc-blocked@mail.groups.com"
        )
    ).guid == group.guid
    assert await exchange.add_group_member(tenant, "tc-blocked", "a@mail.groups.com") is True
    assert await exchange.add_group_member(tenant, "tc-blocked", "a@mail.groups.com") is False
    members = await exchange.list_group_members(tenant, "tc-blocked")
    assert [m.primary_smtp_address for m in members] == ["a@mail.groups.com"]
    assert await exchange.remove_group_member(tenant, "tc-blocked", "a@mail.groups.com") is True
    assert await exchange.remove_group_member(tenant, "tc-blocked", "a@mail.groups.com") is False
    assert await exchange.remove_group(tenant, "tc-blocked") is True
    assert await exchange.remove_group(tenant, "tc-blocked") is False


async def test_transport_rule_and_spam_policies_converge(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.rules.com")
    exchange = world.connector.exchange
    await exchange.ensure_security_group(
        tenant, name="tc-switch", primary_smtp_address="tc-switch@mail.rules.com"
    )
    rule = await exchange.ensure_reject_rule_for_group(
        tenant,
        name="TenantCore daily limit",
        group="tc-switch",
        reason_text="Daily send limit reached",
    )
    assert rule.reject_message_reason_text == "Daily send limit reached"
    changed = await exchange.ensure_reject_rule_for_group(
        tenant,
        name="TenantCore daily limit",
        group="tc-switch",
        reason_text="Daily limit reached (TenantCore)",
    )
    assert changed.reject_message_reason_text == "Daily limit reached (TenantCore)"
    assert [r.name for r in await exchange.list_transport_rules(tenant)] == [
        "TenantCore daily limit"
    ]

    policy = await exchange.ensure_outbound_spam_policy(
        tenant, name="TenantCore cap 5", recipient_limit_per_day=5
    )
    assert policy.recipient_limit_per_day == 5
    assert policy.action_when_threshold_reached == "BlockUserForToday"
    await exchange.ensure_outbound_spam_policy(
        tenant, name="TenantCore cap 5", recipient_limit_per_day=5
    )
    spam_rule = await exchange.ensure_outbound_spam_rule(
        tenant,
        name="TenantCore cap 5",
        policy="TenantCore cap 5",
        priority=0,
        from_member_of=["tc-switch"],
    )
    assert spam_rule.policy == "TenantCore cap 5"
    policies = {p.name for p in await exchange.list_outbound_spam_policies(tenant)}
    assert policies == {"Default", "TenantCore cap 5"}
    assert len(await exchange.list_outbound_spam_rules(tenant)) == 1

    assert await exchange.remove_outbound_spam_rule(tenant, "TenantCore cap 5") is True
    assert await exchange.remove_outbound_spam_policy(tenant, "TenantCore cap 5") is True
    assert await exchange.remove_transport_rule(tenant, "TenantCore daily limit") is True
    assert await exchange.remove_transport_rule(tenant, "TenantCore daily limit") is False


async def test_blocked_senders_list_and_release(world: World) -> None:
    tenant = await world.tenant()
    exchange = world.connector.exchange
    assert await exchange.list_blocked_senders(tenant) == []
    assert await exchange.remove_blocked_sender(tenant, "nobody@example.com") is False


async def test_message_trace_of_an_empty_day(world: World) -> None:
    tenant = await world.tenant()
    now = datetime.now(UTC)
    rows, queries = await world.connector.exchange.message_trace(
        tenant, start=now - timedelta(hours=1), end=now
    )
    assert rows == []
    assert queries == 1


async def test_missing_role_is_forbidden(world: World) -> None:
    tenant = await world.tenant(exchange_roles=[])
    with pytest.raises(Forbidden):
        await world.connector.exchange.get_organization_config(tenant)


async def test_dkim_signing_is_configured_then_enabled_once_its_cnames_resolve(
    world: World,
) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.acme-dkim.com")
    exchange = world.connector.exchange
    assert await exchange.get_dkim_config(tenant, "mail.acme-dkim.com") is None
    config = await exchange.ensure_dkim_config(tenant, "mail.acme-dkim.com")
    assert (config.domain, config.enabled, config.status) == (
        "mail.acme-dkim.com",
        False,
        "CnameMissing",
    )
    assert config.selector1_cname is not None
    assert config.selector2_cname is not None
    assert await exchange.ensure_dkim_config(tenant, "mail.acme-dkim.com") == config
    # Not before Exchange can see both CNAMEs.
    assert await exchange.enable_dkim_signing(tenant, "mail.acme-dkim.com") is False
    await world.publish_dns(
        "mail.acme-dkim.com",
        [
            {"type": "CNAME", "name": "selector1._domainkey", "value": config.selector1_cname},
            {"type": "CNAME", "name": "selector2._domainkey", "value": config.selector2_cname},
        ],
    )
    assert await exchange.enable_dkim_signing(tenant, "mail.acme-dkim.com") is True
    enabled = await exchange.get_dkim_config(tenant, "mail.acme-dkim.com")
    assert enabled is not None
    assert (enabled.enabled, enabled.status) == (True, "Valid")

    with pytest.raises(InvalidRequest):  # not an accepted domain of the tenant
        await exchange.ensure_dkim_config(tenant, "not-ours.example.com")
    with pytest.raises(NotFound):
        await exchange.enable_dkim_signing(tenant, "not-ours.example.com")


async def test_an_app_is_registered_and_given_full_access_for_oauth_sending(
    world: World,
) -> None:
    tenant = await world.tenant()
    sender_app = str(uuid.uuid4())
    consented = await world.control.post(  # the customer's own app, consented in the tenant
        "/_sandbox/tenants",
        json={
            "tenant_id": tenant,
            "client_id": sender_app,
            "client_secret": "sender-secret",
            "exchange_roles": ["SMTP.SendAsApp"],
        },
    )
    assert consented.status_code == 200, consented.text
    await verified_domain(world, tenant, "mail.acme-oauth.com")
    await ready_mailbox(world, tenant, "sdr@mail.acme-oauth.com", "SDR")
    graph, exchange = world.connector.graph, world.connector.exchange

    principal = await graph.service_principal(tenant, sender_app)
    assert principal.app_id == sender_app
    with pytest.raises(NotFound):  # not consented in this tenant
        await graph.service_principal(tenant, str(uuid.uuid4()))

    assert await exchange.get_service_principal(tenant, sender_app) is None
    registered = await exchange.ensure_service_principal(tenant, sender_app, principal.id, "Sender")
    assert (registered.app_id, registered.object_id) == (sender_app, principal.id)
    again = await exchange.ensure_service_principal(tenant, sender_app, principal.id, "Sender")
    assert again == registered

    await exchange.grant_full_access(tenant, "sdr@mail.acme-oauth.com", principal.id)
    await exchange.grant_full_access(tenant, "sdr@mail.acme-oauth.com", principal.id)
    [permission] = await exchange.mailbox_permissions(tenant, "sdr@mail.acme-oauth.com")
    assert (permission.user, permission.access_rights) == ("Sender", ["FullAccess"])
    with pytest.raises(NotFound):
        await exchange.grant_full_access(tenant, "nobody@mail.acme-oauth.com", principal.id)

    await exchange.remove_service_principal(tenant, sender_app)
    await exchange.remove_service_principal(tenant, sender_app)  # gone already: done
    assert await exchange.get_service_principal(tenant, sender_app) is None
    assert await exchange.mailbox_permissions(tenant, "sdr@mail.acme-oauth.com") == []
