"""Organization cmdlets, accepted domains and restricted senders."""

from __future__ import annotations

from datetime import timedelta

from tenantcore.sandbox.timeutil import utc_day
from tests.conftest import SandboxHarness
from tests.sandbox.test_exchange_support import (
    add_block,
    add_domain,
    cause,
    plain,
    rows,
    sandbox_now,
    values,
)


class TestBootstrap:
    def test_dehydrated_until_customization_is_enabled(self, sandbox: SandboxHarness) -> None:
        sandbox.configure(bootstrap_seconds=600)
        tenant = sandbox.create_tenant(dehydrated=True, display_name="Fabrikam")
        client = sandbox.exchange(tenant)

        def org() -> dict[str, object]:
            return plain(values(sandbox.invoke(client, "Get-OrganizationConfig"))[0])

        config = org()
        assert config["IsDehydrated"] is True
        assert config["DisplayName"] == "Fabrikam"
        assert config["Name"] == tenant.initial_domain
        assert values(sandbox.invoke(client, "Enable-OrganizationCustomization")) == []
        assert org()["IsDehydrated"] is True
        again = sandbox.invoke(client, "Enable-OrganizationCustomization")
        assert again.status_code == 400
        assert cause(again)[1] == (
            "This operation is not required. Organization is already enabled for customization."
        )
        sandbox.advance_clock(601)
        client = sandbox.exchange(tenant)
        assert org()["IsDehydrated"] is False

    def test_hydrated_tenant_needs_no_customization(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant(dehydrated=False))
        response = sandbox.invoke(client, "Enable-OrganizationCustomization")
        assert response.status_code == 400
        assert "already enabled for customization" in cause(response)[1]


class TestTransportConfig:
    def test_org_smtp_auth_switch(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)

        def disabled() -> object:
            response = sandbox.invoke(client, "Get-TransportConfig")
            return plain(values(response)[0])["SmtpClientAuthenticationDisabled"]

        assert disabled() is True
        response = sandbox.invoke(
            client, "Set-TransportConfig", SmtpClientAuthenticationDisabled=False
        )
        assert values(response) == []
        assert disabled() is False
        [tenant_row] = rows(sandbox, "SELECT smtp_auth_disabled FROM tenant")
        assert tenant_row["smtp_auth_disabled"] == 0
        null = sandbox.invoke(client, "Set-TransportConfig", SmtpClientAuthenticationDisabled=None)
        assert null.status_code == 400


class TestAcceptedDomains:
    def test_lists_initial_and_email_enabled_verified_domains(
        self, sandbox: SandboxHarness
    ) -> None:
        tenant = sandbox.create_tenant()
        add_domain(sandbox, tenant, "mail.example")
        add_domain(sandbox, tenant, "web.example", services=("OfficeCommunicationsOnline",))
        add_domain(sandbox, tenant, "pending.example", verified=False)
        client = sandbox.exchange(tenant)
        listed = [plain(row) for row in values(sandbox.invoke(client, "Get-AcceptedDomain"))]
        assert [(row["DomainName"], row["Default"], row["DomainType"]) for row in listed] == [
            (tenant.initial_domain, True, "Authoritative"),
            ("mail.example", False, "Authoritative"),
        ]
        one = values(sandbox.invoke(client, "Get-AcceptedDomain", Identity="MAIL.example"))
        assert plain(one[0])["Name"] == "mail.example"
        missing = sandbox.invoke(client, "Get-AcceptedDomain", Identity="web.example")
        assert missing.status_code == 404


class TestBlockedSenders:
    def test_lists_active_blocks(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        add_block(sandbox, tenant, "perm@contoso.example")
        add_block(sandbox, tenant, "today@contoso.example", expires_in=timedelta(hours=2))
        add_block(sandbox, tenant, "lifted@contoso.example", expires_in=timedelta(hours=-1))
        client = sandbox.exchange(tenant)
        listed = [plain(row) for row in values(sandbox.invoke(client, "Get-BlockedSenderAddress"))]
        assert {row["SenderAddress"]: row["TemporaryBlock"] for row in listed} == {
            "perm@contoso.example": False,
            "today@contoso.example": True,
        }
        assert listed[0]["Reason"].startswith("Outbound spam policy")
        assert listed[0]["CreatedDatetime"].endswith("+00:00")
        one = values(
            sandbox.invoke(client, "Get-BlockedSenderAddress", SenderAddress="PERM@contoso.example")
        )
        assert len(one) == 1
        nobody = values(
            sandbox.invoke(client, "Get-BlockedSenderAddress", SenderAddress="x@contoso.example")
        )
        assert nobody == []
        sandbox.configure(list_temporary_blocks=False)
        listed = values(sandbox.invoke(client, "Get-BlockedSenderAddress"))
        assert [row["SenderAddress"] for row in listed] == ["perm@contoso.example"]

    def test_remove_permanent_block_exempts_the_day(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        add_block(sandbox, tenant, "perm@contoso.example")
        client = sandbox.exchange(tenant)
        response = sandbox.invoke(
            client,
            "Remove-BlockedSenderAddress",
            SenderAddress="perm@contoso.example",
            Reason="daily reset",
        )
        assert values(response) == []
        assert not rows(sandbox, "SELECT 1 FROM blocked_sender")
        [exemption] = rows(sandbox, "SELECT * FROM block_exemption")
        assert exemption["day"] == utc_day(sandbox_now(sandbox))
        assert exemption["sender_address"] == "perm@contoso.example"
        again = sandbox.invoke(
            client, "Remove-BlockedSenderAddress", SenderAddress="perm@contoso.example"
        )
        assert again.status_code == 404
        assert cause(again)[0].endswith("ManagementObjectNotFoundException")

    def test_remove_temporary_block_leaves_no_exemption(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        add_block(sandbox, tenant, "today@contoso.example", expires_in=timedelta(hours=2))
        client = sandbox.exchange(tenant)
        values(
            sandbox.invoke(
                client, "Remove-BlockedSenderAddress", SenderAddress="today@contoso.example"
            )
        )
        assert not rows(sandbox, "SELECT 1 FROM blocked_sender")
        assert not rows(sandbox, "SELECT 1 FROM block_exemption")
        missing = sandbox.invoke(client, "Remove-BlockedSenderAddress")
        assert missing.status_code == 400
