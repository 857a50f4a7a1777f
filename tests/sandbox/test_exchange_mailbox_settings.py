"""Set-Mailbox, Remove-Mailbox and Get/Set-CASMailbox."""

from __future__ import annotations

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.test_exchange_support import (
    add_domain,
    cause,
    new_shared_mailbox,
    plain,
    rows,
    values,
)

DOMAIN = "outreach.example"


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    created = sandbox.create_tenant()
    add_domain(sandbox, created, DOMAIN)
    return created


class TestSetMailbox:
    def test_display_name_and_recipient_limits(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        created = new_shared_mailbox(sandbox, client, f"s@{DOMAIN}")
        response = sandbox.invoke(
            client, "Set-Mailbox", Identity=f"s@{DOMAIN}", DisplayName="Sam", RecipientLimits=25
        )
        assert values(response) == []
        mailbox = plain(values(sandbox.invoke(client, "Get-Mailbox", Identity=created["Guid"]))[0])
        assert mailbox["DisplayName"] == "Sam"
        assert mailbox["RecipientLimits"] == "25"
        [user] = rows(
            sandbox,
            "SELECT display_name FROM directory_user WHERE id = ?",
            (created["ExternalDirectoryObjectId"],),
        )
        assert user["display_name"] == "Sam"
        for limit in (0, 1001):
            bad = sandbox.invoke(
                client, "Set-Mailbox", Identity=f"s@{DOMAIN}", RecipientLimits=limit
            )
            assert bad.status_code == 400

    def test_email_addresses_add_and_remove(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"s@{DOMAIN}", Name="s", Alias="s")
        added = sandbox.invoke(
            client,
            "Set-Mailbox",
            Identity="s",
            EmailAddresses={
                "@odata.type": "#Exchange.GenericHashTable",
                "Add": [f"sales@{DOMAIN}"],
            },
        )
        assert added.status_code == 200
        mailbox = plain(
            values(sandbox.invoke(client, "Get-Mailbox", Identity=f"sales@{DOMAIN}"))[0]
        )
        assert f"smtp:sales@{DOMAIN}" in mailbox["EmailAddresses"]
        promoted = sandbox.invoke(
            client, "Set-Mailbox", Identity="s", EmailAddresses={"Add": f"SMTP:sales@{DOMAIN}"}
        )
        assert promoted.status_code == 200
        mailbox = plain(values(sandbox.invoke(client, "Get-Mailbox", Identity="s"))[0])
        assert mailbox["PrimarySmtpAddress"] == f"sales@{DOMAIN}"
        assert f"smtp:s@{DOMAIN}" in mailbox["EmailAddresses"]
        removed = sandbox.invoke(
            client, "Set-Mailbox", Identity="s", EmailAddresses={"Remove": [f"s@{DOMAIN}"]}
        )
        assert removed.status_code == 200
        assert not rows(sandbox, "SELECT 1 FROM proxy_address WHERE address = ?", (f"s@{DOMAIN}",))
        primary = sandbox.invoke(
            client, "Set-Mailbox", Identity="s", EmailAddresses={"Remove": [f"sales@{DOMAIN}"]}
        )
        assert primary.status_code == 400

    def test_email_address_taken_by_another_recipient(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"one@{DOMAIN}", Name="one")
        new_shared_mailbox(sandbox, client, f"two@{DOMAIN}", Name="two")
        response = sandbox.invoke(
            client, "Set-Mailbox", Identity="two", EmailAddresses={"Add": [f"one@{DOMAIN}"]}
        )
        assert response.status_code == 400
        assert cause(response)[0].endswith("ProxyAddressExistsException")

    def test_unknown_mailbox(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        response = sandbox.invoke(
            sandbox.exchange(tenant), "Set-Mailbox", Identity="ghost", DisplayName="x"
        )
        assert response.status_code == 404


class TestRemoveMailbox:
    def test_removes_mailbox_account_addresses_and_memberships(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        created = new_shared_mailbox(sandbox, client, f"gone@{DOMAIN}")
        values(
            sandbox.invoke(client, "New-DistributionGroup", Name="g", Members=[f"gone@{DOMAIN}"])
        )
        assert (
            values(
                sandbox.invoke(client, "Remove-Mailbox", Identity=f"gone@{DOMAIN}", Confirm=False)
            )
            == []
        )
        assert not rows(sandbox, "SELECT 1 FROM mailbox")
        assert not rows(
            sandbox,
            "SELECT 1 FROM directory_user WHERE id = ?",
            (created["ExternalDirectoryObjectId"],),
        )
        assert not rows(sandbox, "SELECT 1 FROM proxy_address WHERE owner_kind = 'mailbox'")
        assert not rows(sandbox, "SELECT 1 FROM group_member")
        again = sandbox.invoke(client, "Remove-Mailbox", Identity=f"gone@{DOMAIN}")
        assert again.status_code == 404
        # The address is free again.
        new_shared_mailbox(sandbox, client, f"gone@{DOMAIN}")

    def test_never_lags(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"new@{DOMAIN}")
        sandbox.configure(replication_lag_probability=1)
        assert sandbox.invoke(client, "Remove-Mailbox", Identity=f"new@{DOMAIN}").status_code == 200


class TestCasMailbox:
    def test_smtp_auth_switch_is_tri_state(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"c@{DOMAIN}")

        def current() -> object:
            response = sandbox.invoke(client, "Get-CASMailbox", Identity=f"c@{DOMAIN}")
            return plain(values(response)[0])["SmtpClientAuthenticationDisabled"]

        assert current() is None
        for value in (False, True, None):
            response = sandbox.invoke(
                client,
                "Set-CASMailbox",
                Identity=f"c@{DOMAIN}",
                SmtpClientAuthenticationDisabled=value,
            )
            assert values(response) == []
            assert current() is value
        [stored] = rows(sandbox, "SELECT smtp_auth_disabled FROM mailbox")
        assert stored["smtp_auth_disabled"] is None

    def test_lists_and_validates(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"c@{DOMAIN}")
        listed = values(sandbox.invoke(client, "Get-CASMailbox"))
        assert [row["PrimarySmtpAddress"] for row in listed] == [f"c@{DOMAIN}"]
        bad = sandbox.invoke(
            client,
            "Set-CASMailbox",
            Identity=f"c@{DOMAIN}",
            SmtpClientAuthenticationDisabled="maybe",
        )
        assert bad.status_code == 400
        assert cause(bad)[0].endswith("ParameterTransformationException")
        missing = sandbox.invoke(client, "Get-CASMailbox", Identity="nobody")
        assert missing.status_code == 404
