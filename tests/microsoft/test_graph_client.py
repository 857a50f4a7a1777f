"""Every Graph operation of the connector against the sandbox: happy paths and typed errors."""

from __future__ import annotations

import pytest

from tenantcore.microsoft.errors import Forbidden, InvalidPassword, InvalidRequest, NotFound
from tenantcore.tenants.sending_limit import Licenses, exchange_licenses, external_recipient_limit
from tests.microsoft.conftest import World
from tests.microsoft.flows import PASSWORD, verified_domain


async def test_domain_add_verify_and_enable_email(world: World) -> None:
    tenant = await world.tenant()
    graph = world.connector.graph
    added = await graph.add_domain(tenant, "mail.acmecorp.com")
    assert added.is_verified is False
    assert (await graph.add_domain(tenant, "mail.acmecorp.com")).id == "mail.acmecorp.com"

    records = await graph.verification_records(tenant, "mail.acmecorp.com")
    txt = next(r for r in records if r.record_type.lower() == "txt")
    assert txt.text is not None
    assert txt.text.startswith("MS=ms")
    with pytest.raises(InvalidRequest):
        await graph.verify_domain(tenant, "mail.acmecorp.com")

    domain = await verified_domain(world, tenant, "mail.acmecorp.com")
    assert domain.is_verified is True
    assert "Email" in domain.supported_services
    service = await graph.service_configuration_records(tenant, "mail.acmecorp.com")
    assert {r.record_type.lower() for r in service} >= {"mx", "txt"}
    listed = {d.id for d in await graph.list_domains(tenant)}
    assert "mail.acmecorp.com" in listed

    await graph.delete_domain(tenant, "mail.acmecorp.com")
    with pytest.raises(NotFound):
        await graph.get_domain(tenant, "mail.acmecorp.com")


async def test_user_of_a_shared_mailbox_gets_password_and_sign_in(world: World) -> None:
    tenant = await world.tenant()
    await verified_domain(world, tenant, "mail.users.com")
    exchange, graph = world.connector.exchange, world.connector.graph
    mailbox = await exchange.new_shared_mailbox(
        tenant, primary_smtp_address="sdr1@mail.users.com", display_name="SDR 1"
    )
    user = await graph.get_user(tenant, mailbox.external_directory_object_id, fresh=True)
    assert user.account_enabled is False

    with pytest.raises(InvalidPassword):
        await graph.update_user(tenant, user.id, password="weakweak")
    await graph.update_user(tenant, user.id, account_enabled=True, password=PASSWORD)
    assert (await graph.get_user(tenant, user.id)).account_enabled is True

    in_domain = await graph.list_users_in_domain(tenant, "mail.users.com")
    assert [u.id for u in in_domain] == [user.id]

    await graph.delete_user(tenant, user.id)
    with pytest.raises(NotFound):
        await graph.get_user(tenant, user.id)


async def test_unknown_user_is_not_found(world: World) -> None:
    tenant = await world.tenant()
    with pytest.raises(NotFound) as caught:
        await world.connector.graph.get_user(tenant, "00000000-0000-0000-0000-000000000abc")
    assert caught.value.code == "Request_ResourceNotFound"
    assert caught.value.request_id


async def test_missing_graph_permission_is_forbidden(world: World) -> None:
    tenant = await world.tenant(graph_roles=[])
    with pytest.raises(Forbidden) as caught:
        await world.connector.graph.add_domain(tenant, "mail.denied.com")
    assert caught.value.code == "Authorization_RequestDenied"


async def test_security_defaults_are_read_and_need_policy_read(world: World) -> None:
    graph = world.connector.graph
    assert await graph.security_defaults_enabled(await world.tenant()) is False
    enforced = await world.tenant(security_defaults_enabled=True)
    assert await graph.security_defaults_enabled(enforced) is True
    without = await world.tenant(graph_roles=["User.ReadWrite.All"])
    with pytest.raises(Forbidden) as caught:
        await graph.security_defaults_enabled(without)
    assert caught.value.code == "Authorization_RequestDenied"


async def test_subscriptions_are_read_with_their_exchange_licenses(world: World) -> None:
    graph = world.connector.graph
    tenant = await world.tenant()
    [default] = await graph.subscriptions(tenant)
    assert (default.sku_part_number, default.total_licenses, default.is_trial) == (
        "EXCHANGESTANDARD",
        1,
        False,
    )
    assert exchange_licenses([default]) == Licenses(exchange_licenses=1, trial_only=False)
    bought = [
        {
            "skuPartNumber": "ENTERPRISEPACK",
            "totalLicenses": 40,
            "servicePlans": ["EXCHANGE_S_ENTERPRISE"],
        },
        {
            "skuPartNumber": "POWER_BI_PRO",
            "totalLicenses": 9,
            "servicePlans": ["EXCHANGE_S_FOUNDATION"],
        },
        {
            "skuPartNumber": "EXCHANGESTANDARD",
            "totalLicenses": 5,
            "status": "Suspended",
            "servicePlans": ["EXCHANGE_S_STANDARD"],
        },
    ]
    response = await world.control.patch(
        f"/_sandbox/tenants/{tenant}", json={"subscriptions": bought}
    )
    assert response.status_code == 200, response.text
    read = await graph.subscriptions(tenant)
    assert [(s.sku_part_number, s.status) for s in read] == [
        ("ENTERPRISEPACK", "Enabled"),
        ("POWER_BI_PRO", "Enabled"),
        ("EXCHANGESTANDARD", "Suspended"),
    ]
    assert read[0].service_status[0].service_plan_name == "EXCHANGE_S_ENTERPRISE"
    # Only working subscriptions with a mailbox plan count: 40, and the sandbox agrees.
    assert exchange_licenses(read) == Licenses(exchange_licenses=40, trial_only=False)
    sandbox_view = (await world.control.get(f"/_sandbox/tenants/{tenant}")).json()
    assert external_recipient_limit(40, False) == sandbox_view["external_recipient_limit"]
    without = await world.tenant(graph_roles=["User.ReadWrite.All"])
    with pytest.raises(Forbidden):
        await graph.subscriptions(without)


async def test_conditional_access_policies_are_read_and_need_policy_read(world: World) -> None:
    graph = world.connector.graph
    tenant = await world.tenant()
    assert await graph.conditional_access_policies(tenant) == []
    policy = {
        "displayName": "Block legacy authentication",
        "conditions": {
            "clientAppTypes": ["exchangeActiveSync", "other"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"], "excludeGroups": ["g-1"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    response = await world.control.patch(
        f"/_sandbox/tenants/{tenant}", json={"conditional_access_policies": [policy]}
    )
    assert response.status_code == 200, response.text
    [read] = await graph.conditional_access_policies(tenant)
    assert (read.display_name, read.state) == ("Block legacy authentication", "enabled")
    assert read.conditions.client_app_types == ["exchangeActiveSync", "other"]
    assert read.conditions.users is not None
    assert read.conditions.users.exclude_groups == ["g-1"]
    assert read.grant_controls is not None
    assert read.grant_controls.built_in_controls == ["block"]
    without = await world.tenant(graph_roles=["User.ReadWrite.All"])
    with pytest.raises(Forbidden):
        await graph.conditional_access_policies(without)
