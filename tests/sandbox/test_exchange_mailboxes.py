"""New-Mailbox -Shared and Get-Mailbox."""

from __future__ import annotations

import uuid

import pytest

from tenantcore.sandbox.store import dumps
from tenantcore.sandbox.timeutil import iso, parse
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.test_exchange_support import (
    add_domain,
    cause,
    core,
    new_shared_mailbox,
    plain,
    rows,
    sandbox_now,
    values,
    warnings,
)

DOMAIN = "outreach.example"


def _seed_many(sandbox: SandboxHarness, tenant: SandboxTenant, count: int) -> None:
    """Many mailboxes at once, as New-Mailbox leaves them (HTTP would make this slow)."""
    store = core(sandbox).store
    stamp = iso(sandbox_now(sandbox))
    with store.transaction():
        for index in range(count):
            user_id, guid, address = str(uuid.uuid4()), str(uuid.uuid4()), f"m{index:04}@{DOMAIN}"
            store.execute(
                "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
                " mail_nickname, mail, account_enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
                (user_id, tenant.tenant_id, address, address, f"m{index}", address, stamp),
            )
            store.execute(
                "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias,"
                " display_name, primary_smtp_address, email_addresses, recipient_type_details,"
                " created_at, changed_at, ready_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SharedMailbox', ?, ?, ?)",
                (
                    guid,
                    tenant.tenant_id,
                    user_id,
                    str(uuid.uuid4()),
                    f"m{index:04}",
                    f"m{index:04}",
                    address,
                    address,
                    dumps([f"SMTP:{address}"]),
                    stamp,
                    stamp,
                    stamp,
                ),
            )


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    created = sandbox.create_tenant()
    add_domain(sandbox, created, DOMAIN)
    return created


class TestNewMailbox:
    def test_creates_disabled_account_and_shared_mailbox(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        response = sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="sdr1-outreach-example",
            Alias="sdr1-outreach-example",
            DisplayName="Jane from Outreach",
            PrimarySmtpAddress=f"sdr1@{DOMAIN}",
        )
        mailbox = plain(values(response)[0])
        assert mailbox["RecipientTypeDetails"] == "SharedMailbox"
        assert mailbox["IsShared"] is True
        assert mailbox["AccountDisabled"] is True
        assert mailbox["PrimarySmtpAddress"] == f"sdr1@{DOMAIN}"
        assert mailbox["UserPrincipalName"] == f"sdr1@{DOMAIN}"
        assert mailbox["EmailAddresses"] == [
            f"SMTP:sdr1@{DOMAIN}",
            f"smtp:sdr1-outreach-example@{tenant.initial_domain}",
        ]
        assert mailbox["DisplayName"] == "Jane from Outreach"
        [user] = rows(
            sandbox,
            "SELECT * FROM directory_user WHERE id = ?",
            (mailbox["ExternalDirectoryObjectId"],),
        )
        assert user["account_enabled"] == 0
        assert user["password_hash"] is None
        assert user["mail"] == f"sdr1@{DOMAIN}"
        [stored] = rows(sandbox, "SELECT * FROM mailbox WHERE guid = ?", (mailbox["Guid"],))
        assert stored["smtp_auth_disabled"] is None
        proxies = rows(
            sandbox, "SELECT address FROM proxy_address WHERE owner_guid = ?", (mailbox["Guid"],)
        )
        assert sorted(row["address"] for row in proxies) == [
            f"sdr1-outreach-example@{tenant.initial_domain}",
            f"sdr1@{DOMAIN}",
        ]

    def test_propagation_delay_sets_ready_at(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(propagation_min_seconds=120, propagation_max_seconds=120)
        mailbox = new_shared_mailbox(sandbox, sandbox.exchange(tenant), f"late@{DOMAIN}")
        [stored] = rows(sandbox, "SELECT * FROM mailbox WHERE guid = ?", (mailbox["Guid"],))
        delay = parse(stored["ready_at"]) - parse(stored["created_at"])
        assert delay.total_seconds() == pytest.approx(120)

    def test_upn_on_initial_domain_when_configured(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(shared_mailbox_upn="initial_domain")
        mailbox = new_shared_mailbox(sandbox, sandbox.exchange(tenant), f"x@{DOMAIN}", Alias="xa")
        assert mailbox["UserPrincipalName"] == f"xa@{tenant.initial_domain}"

    def test_default_address_is_alias_at_default_domain(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = sandbox.invoke(
            sandbox.exchange(tenant), "New-Mailbox", Shared=True, Name="Front Desk"
        )
        mailbox = plain(values(response)[0])
        assert mailbox["Alias"] == "FrontDesk"
        assert mailbox["PrimarySmtpAddress"] == f"FrontDesk@{tenant.initial_domain}"

    def test_requires_the_shared_switch(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = sandbox.invoke(sandbox.exchange(tenant), "New-Mailbox", Name="user")
        assert response.status_code == 400
        assert cause(response)[0].endswith("AmbiguousParameterSetException")

    @pytest.mark.parametrize(
        ("field", "value", "needle"),
        [
            ("Name", "n" * 65, "maximum length is 64"),
            ("Alias", "a" * 65, "maximum length is 64"),
            ("Alias", "bad alias", "characters that aren't valid"),
            ("Alias", ".dot", "characters that aren't valid"),
            ("DisplayName", "d" * 257, "maximum length is 256"),
            ("Name", "a/b", "characters that aren't allowed"),
        ],
    )
    def test_validates_names(
        self, sandbox: SandboxHarness, tenant: SandboxTenant, field: str, value: str, needle: str
    ) -> None:
        params = {"Shared": True, "Name": "ok", "PrimarySmtpAddress": f"ok@{DOMAIN}", field: value}
        response = sandbox.invoke(sandbox.exchange(tenant), "New-Mailbox", **params)
        assert response.status_code == 400
        assert needle in cause(response)[1]

    def test_address_must_be_on_an_accepted_domain(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        add_domain(sandbox, tenant, "noemail.example", services=())
        add_domain(sandbox, tenant, "unverified.example", verified=False)
        client = sandbox.exchange(tenant)
        for address in ("a@noemail.example", "a@unverified.example", "a@elsewhere.example"):
            response = sandbox.invoke(
                client, "New-Mailbox", Shared=True, Name="a", PrimarySmtpAddress=address
            )
            assert response.status_code == 400, address
            assert "isn't an accepted domain" in cause(response)[1]
        malformed = sandbox.invoke(
            client, "New-Mailbox", Shared=True, Name="a", PrimarySmtpAddress="not-an-address"
        )
        assert malformed.status_code == 400
        assert "isn't correct" in cause(malformed)[1]

    def test_name_alias_and_address_clashes(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"info@{DOMAIN}", Name="info", Alias="info")
        same_name = sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="INFO",
            Alias="x",
            PrimarySmtpAddress=f"x@{DOMAIN}",
        )
        assert same_name.status_code == 400
        assert cause(same_name)[0].endswith("ADObjectAlreadyExistsException")
        assert "already exists" in cause(same_name)[1]
        same_alias = sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="other",
            Alias="info",
            PrimarySmtpAddress=f"y@{DOMAIN}",
        )
        assert cause(same_alias)[0].endswith("ADObjectAlreadyExistsException")
        same_address = sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="z",
            Alias="z",
            PrimarySmtpAddress=f"Info@{DOMAIN}",
        )
        assert same_address.status_code == 400
        exception_type, message = cause(same_address)
        assert exception_type.endswith("ProxyAddressExistsException")
        assert message == (
            f'The proxy address "SMTP:Info@{DOMAIN}" is already being used by the proxy'
            ' addresses or LegacyExchangeDN of "info". Please choose another proxy address.'
        )
        assert len(rows(sandbox, "SELECT * FROM mailbox")) == 1

    def test_same_local_part_on_two_domains(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        add_domain(sandbox, tenant, "second.example")
        client = sandbox.exchange(tenant)
        first = new_shared_mailbox(sandbox, client, f"info@{DOMAIN}")
        second = new_shared_mailbox(sandbox, client, "info@second.example")
        assert first["Guid"] != second["Guid"]

    def test_json_error_style_renders_shape_c(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(exchange_error_detail_style="json")
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"info@{DOMAIN}", Name="info")
        response = sandbox.invoke(
            client, "New-Mailbox", Shared=True, Name="info", PrimarySmtpAddress=f"q@{DOMAIN}"
        )
        assert response.status_code == 400
        detail = response.json()["error"]["details"][0]
        assert detail["code"] == "Context"
        assert (
            '"TypeName": "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"'
            in detail["message"]
        )


class TestGetMailbox:
    def _seed(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        add_domain(sandbox, tenant, "other.example")
        for address in (f"a@{DOMAIN}", f"b@{DOMAIN}", "c@other.example"):
            new_shared_mailbox(sandbox, client, address)

    def test_by_any_identity(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        created = new_shared_mailbox(sandbox, client, f"a@{DOMAIN}", Name="alpha", Alias="al")
        for identity in (
            f"A@{DOMAIN}",
            "alpha",
            "al",
            created["Guid"],
            created["ExternalDirectoryObjectId"],
            f"al@{tenant.initial_domain}",
        ):
            response = sandbox.invoke(client, "Get-Mailbox", Identity=identity)
            assert plain(values(response)[0])["Guid"] == created["Guid"], identity

    def test_unknown_identity_is_404_shape_a(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = sandbox.invoke(sandbox.exchange(tenant), "Get-Mailbox", Identity=f"x@{DOMAIN}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NotFound"
        exception_type, message = cause(response)
        assert (
            exception_type
            == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
        )
        assert message.startswith(
            f"The operation couldn't be performed because object 'x@{DOMAIN}'"
        )

    def test_filter_by_domain_and_address(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        self._seed(sandbox, tenant)
        client = sandbox.exchange(tenant)
        by_domain = sandbox.invoke(
            client,
            "Get-Mailbox",
            RecipientTypeDetails="SharedMailbox",
            Filter=f"EmailAddresses -like '*@{DOMAIN}'",
            ResultSize="Unlimited",
        )
        assert [row["PrimarySmtpAddress"] for row in values(by_domain)] == [
            f"a@{DOMAIN}",
            f"b@{DOMAIN}",
        ]
        by_address = sandbox.invoke(
            client, "Get-Mailbox", Filter="PrimarySmtpAddress -eq 'C@other.example'"
        )
        assert [row["PrimarySmtpAddress"] for row in values(by_address)] == ["c@other.example"]
        combined = sandbox.invoke(
            client,
            "Get-Mailbox",
            Filter=f"(EmailAddresses -like '*@{DOMAIN}') -and -not (Alias -eq 'a-outreach-example')",
        )
        assert [row["PrimarySmtpAddress"] for row in values(combined)] == [f"b@{DOMAIN}"]

    def test_bad_filter_is_a_binding_error(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        syntax = sandbox.invoke(client, "Get-Mailbox", Filter="EmailAddresses -like")
        assert syntax.status_code == 400
        assert "Invalid filter syntax" in cause(syntax)[1]
        unknown = sandbox.invoke(client, "Get-Mailbox", Filter="Shoe -eq 'x'")
        assert unknown.status_code == 400
        assert "not a recognized filterable property" in cause(unknown)[1]

    def test_recipient_type_details_filters(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        self._seed(sandbox, tenant)
        response = sandbox.invoke(
            sandbox.exchange(tenant), "Get-Mailbox", RecipientTypeDetails="UserMailbox"
        )
        assert values(response) == []

    def test_result_size_truncates_with_a_warning(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        self._seed(sandbox, tenant)
        client = sandbox.exchange(tenant)
        response = sandbox.invoke(client, "Get-Mailbox", ResultSize=2)
        assert len(values(response)) == 2
        assert warnings(response) == [
            "There are more results available than are currently displayed. To view them,"
            " increase the value for the ResultSize parameter."
        ]
        everything = sandbox.invoke(client, "Get-Mailbox", ResultSize="unlimited")
        assert len(values(everything)) == 3
        assert warnings(everything) == []
        bad = sandbox.invoke(client, "Get-Mailbox", ResultSize=0)
        assert bad.status_code == 400

    def test_default_result_size_and_page_size(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        _seed_many(sandbox, tenant, 1001)
        client = sandbox.exchange(tenant)
        capped = sandbox.invoke(client, "Get-Mailbox")
        assert len(values(capped)) == 1000
        assert "@odata.nextLink" not in capped.json()
        assert warnings(capped)[0].startswith("By default, only the first 1000 items are returned.")
        everything = sandbox.invoke(client, "Get-Mailbox", ResultSize="Unlimited")
        assert len(values(everything)) == 1000
        rest = client.get(everything.json()["@odata.nextLink"])
        assert len(values(rest)) == 1
        assert "@odata.nextLink" not in rest.json()

    def test_replication_lag_404s_right_after_create(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"fresh@{DOMAIN}")
        sandbox.configure(replication_lag_probability=1, replication_lag_seconds=60)
        for cmdlet in ("Get-Mailbox", "Set-Mailbox", "Get-CASMailbox", "Set-CASMailbox"):
            response = sandbox.invoke(client, cmdlet, Identity=f"fresh@{DOMAIN}")
            assert response.status_code == 404, cmdlet
        sandbox.advance_clock(61)
        client = sandbox.exchange(tenant)
        assert sandbox.invoke(client, "Get-Mailbox", Identity=f"fresh@{DOMAIN}").status_code == 200
