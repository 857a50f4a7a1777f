"""Distribution groups / mail-enabled security groups and their members."""

from __future__ import annotations

import httpx2
import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.test_exchange_support import (
    cause,
    new_shared_mailbox,
    plain,
    rows,
    values,
)


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _group(
    sandbox: SandboxHarness, client: httpx2.Client, name: str, **extra: object
) -> dict[str, object]:
    return plain(values(sandbox.invoke(client, "New-DistributionGroup", Name=name, **extra))[0])


class TestGroups:
    def test_new_security_group(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        member = new_shared_mailbox(sandbox, client, f"m@{tenant.initial_domain}")
        group = _group(
            sandbox,
            client,
            "Blocked senders",
            Alias="blocked",
            Type="security",
            PrimarySmtpAddress=f"blocked@{tenant.initial_domain}",
            Members=[member["PrimarySmtpAddress"]],
        )
        assert group["GroupType"] == "Universal, SecurityEnabled"
        assert group["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
        assert group["PrimarySmtpAddress"] == f"blocked@{tenant.initial_domain}"
        assert group["EmailAddresses"] == [f"SMTP:blocked@{tenant.initial_domain}"]
        [stored] = rows(sandbox, "SELECT * FROM distribution_group")
        assert stored["guid"] == group["Guid"]
        assert stored["group_type"] == "Security"
        assert [r["member_guid"] for r in rows(sandbox, "SELECT * FROM group_member")] == [
            member["Guid"]
        ]

    def test_defaults_to_distribution(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        group = _group(sandbox, sandbox.exchange(tenant), "Team")
        assert group["GroupType"] == "Universal"
        assert group["PrimarySmtpAddress"] == f"Team@{tenant.initial_domain}"

    def test_clashes_with_mailboxes(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(
            sandbox, client, f"info@{tenant.initial_domain}", Name="info", Alias="info"
        )
        by_name = sandbox.invoke(client, "New-DistributionGroup", Name="info", Alias="g1")
        assert cause(by_name)[0].endswith("ADObjectAlreadyExistsException")
        by_address = sandbox.invoke(
            client,
            "New-DistributionGroup",
            Name="g2",
            PrimarySmtpAddress=f"info@{tenant.initial_domain}",
        )
        assert cause(by_address)[0].endswith("ProxyAddressExistsException")
        bad_type = sandbox.invoke(client, "New-DistributionGroup", Name="g3", Type="Dynamic")
        assert cause(bad_type)[0].endswith("ParameterTransformationException")
        unknown_member = sandbox.invoke(
            client, "New-DistributionGroup", Name="g4", Members=["ghost@x.example"]
        )
        assert unknown_member.status_code == 404
        assert not rows(sandbox, "SELECT 1 FROM distribution_group")

    def test_get_set_remove(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        created = _group(sandbox, client, "sales", Type="Security")
        for identity in ("sales", created["Guid"], f"sales@{tenant.initial_domain}"):
            got = plain(
                values(sandbox.invoke(client, "Get-DistributionGroup", Identity=identity))[0]
            )
            assert got["Guid"] == created["Guid"]
        changed = sandbox.invoke(
            client,
            "Set-DistributionGroup",
            Identity="sales",
            DisplayName="Sales team",
            PrimarySmtpAddress=f"team@{tenant.initial_domain}",
        )
        assert values(changed) == []
        got = plain(values(sandbox.invoke(client, "Get-DistributionGroup", Identity="sales"))[0])
        assert got["DisplayName"] == "Sales team"
        assert got["EmailAddresses"] == [
            f"SMTP:team@{tenant.initial_domain}",
            f"smtp:sales@{tenant.initial_domain}",
        ]
        listed = values(
            sandbox.invoke(client, "Get-DistributionGroup", Filter="DisplayName -like 'Sales*'")
        )
        assert [row["Name"] for row in listed] == ["sales"]
        assert values(sandbox.invoke(client, "Remove-DistributionGroup", Identity="sales")) == []
        assert not rows(sandbox, "SELECT 1 FROM proxy_address")
        assert sandbox.invoke(client, "Get-DistributionGroup", Identity="sales").status_code == 404
        assert (
            sandbox.invoke(client, "Remove-DistributionGroup", Identity="sales").status_code == 404
        )


class TestMembers:
    def test_add_list_remove(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        _group(sandbox, client, "blocked", Type="Security")
        for local in ("b", "a"):
            new_shared_mailbox(sandbox, client, f"{local}@{tenant.initial_domain}")
            added = sandbox.invoke(
                client,
                "Add-DistributionGroupMember",
                Identity="blocked",
                Member=f"{local}@{tenant.initial_domain}",
            )
            assert values(added) == []
        members = values(
            sandbox.invoke(
                client, "Get-DistributionGroupMember", Identity="blocked", ResultSize="Unlimited"
            )
        )
        assert [plain(row)["PrimarySmtpAddress"] for row in members] == [
            f"a@{tenant.initial_domain}",
            f"b@{tenant.initial_domain}",
        ]
        removed = sandbox.invoke(
            client,
            "Remove-DistributionGroupMember",
            Identity="blocked",
            Member=f"a@{tenant.initial_domain}",
        )
        assert values(removed) == []
        members = values(sandbox.invoke(client, "Get-DistributionGroupMember", Identity="blocked"))
        assert len(members) == 1

    def test_duplicate_and_missing_members(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        _group(sandbox, client, "blocked")
        address = f"m@{tenant.initial_domain}"
        new_shared_mailbox(sandbox, client, address)
        values(
            sandbox.invoke(
                client, "Add-DistributionGroupMember", Identity="blocked", Member=address
            )
        )
        duplicate = sandbox.invoke(
            client, "Add-DistributionGroupMember", Identity="blocked", Member=address
        )
        assert duplicate.status_code == 400
        exception_type, message = cause(duplicate)
        assert exception_type.endswith("MemberAlreadyExistsException")
        assert message == f'The recipient "{address}" is already a member of the group "blocked".'
        values(
            sandbox.invoke(
                client, "Remove-DistributionGroupMember", Identity="blocked", Member=address
            )
        )
        not_member = sandbox.invoke(
            client, "Remove-DistributionGroupMember", Identity="blocked", Member=address
        )
        assert not_member.status_code == 400
        assert cause(not_member)[0].endswith("MemberNotFoundException")
        ghost = sandbox.invoke(
            client, "Add-DistributionGroupMember", Identity="blocked", Member="ghost"
        )
        assert ghost.status_code == 404
        assert 'Couldn\'t find object "ghost"' in cause(ghost)[1]
        no_group = sandbox.invoke(
            client, "Add-DistributionGroupMember", Identity="nope", Member=address
        )
        assert no_group.status_code == 404
