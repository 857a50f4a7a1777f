"""Transport rules and outbound spam filter policies/rules, as stored for the SMTP host."""

from __future__ import annotations

import json
from typing import Any

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


def _stored(sandbox: SandboxHarness, table: str) -> list[dict[str, Any]]:
    return [dict(row) for row in rows(sandbox, f"SELECT * FROM {table} ORDER BY priority")]  # noqa: S608


def _names_by_priority(
    sandbox: SandboxHarness, client: httpx2.Client, cmdlet: str
) -> list[tuple[str, int]]:
    return [(row["Name"], row["Priority"]) for row in values(sandbox.invoke(client, cmdlet))]


class TestTransportRules:
    def test_new_rule_stores_resolved_conditions(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        sender = new_shared_mailbox(sandbox, client, f"sdr1@{tenant.initial_domain}", Name="sdr1")
        group = plain(
            values(sandbox.invoke(client, "New-DistributionGroup", Name="capped", Type="Security"))[
                0
            ]
        )
        response = sandbox.invoke(
            client,
            "New-TransportRule",
            Name="TenantCore block",
            FromMemberOf=["capped"],
            From=["sdr1", "Outside@Partner.Example"],
            SenderDomainIs=["Outreach.Example"],
            SentToScope="NotInOrganization",
            RejectMessageEnhancedStatusCode="5.7.901",
            RejectMessageReasonText="Daily send limit reached",
            Mode="Enforce",
            StopRuleProcessing=True,
        )
        rule = plain(values(response)[0])
        assert rule["State"] == "Enabled"
        assert rule["Priority"] == 0
        assert rule["FromMemberOf"] == [f"capped@{tenant.initial_domain}"]
        assert rule["From"] == [sender["PrimarySmtpAddress"].lower(), "outside@partner.example"]
        assert rule["ExceptIfFrom"] is None
        assert rule["RejectMessageReasonText"] == "Daily send limit reached"
        [stored] = _stored(sandbox, "transport_rule")
        assert json.loads(stored["conditions"]) == {
            "From": [sender["PrimarySmtpAddress"].lower(), "outside@partner.example"],
            "FromMemberOf": [group["Guid"]],
            "SenderDomainIs": ["outreach.example"],
            "SentToScope": "NotInOrganization",
        }
        assert json.loads(stored["actions"]) == {
            "RejectMessageEnhancedStatusCode": "5.7.901",
            "RejectMessageReasonText": "Daily send limit reached",
            "StopRuleProcessing": True,
        }

    def test_priorities_shift_like_exchange(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        for name in ("a", "b", "c"):
            values(sandbox.invoke(client, "New-TransportRule", Name=name, DeleteMessage=True))
        values(
            sandbox.invoke(
                client, "New-TransportRule", Name="first", Priority=0, DeleteMessage=True
            )
        )
        assert _names_by_priority(sandbox, client, "Get-TransportRule") == [
            ("first", 0),
            ("a", 1),
            ("b", 2),
            ("c", 3),
        ]
        values(sandbox.invoke(client, "Set-TransportRule", Identity="first", Priority=2))
        assert [n for n, _ in _names_by_priority(sandbox, client, "Get-TransportRule")] == [
            "a",
            "b",
            "first",
            "c",
        ]
        values(sandbox.invoke(client, "Remove-TransportRule", Identity="a"))
        assert _names_by_priority(sandbox, client, "Get-TransportRule") == [
            ("b", 0),
            ("first", 1),
            ("c", 2),
        ]
        too_far = sandbox.invoke(
            client, "New-TransportRule", Name="z", Priority=7, DeleteMessage=True
        )
        assert too_far.status_code == 400

    def test_set_enable_disable_and_errors(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        values(
            sandbox.invoke(
                client, "New-TransportRule", Name="r", Enabled=False, SenderDomainIs="a.example"
            )
        )
        assert (
            plain(values(sandbox.invoke(client, "Get-TransportRule", Identity="r"))[0])["State"]
            == "Disabled"
        )
        values(sandbox.invoke(client, "Enable-TransportRule", Identity="r", Mode="Audit"))
        values(
            sandbox.invoke(
                client,
                "Set-TransportRule",
                Identity="r",
                SenderDomainIs=None,
                From=["x@b.example"],
                RejectMessageReasonText="No",
            )
        )
        rule = plain(values(sandbox.invoke(client, "Get-TransportRule", Identity="r"))[0])
        assert (rule["State"], rule["Mode"]) == ("Enabled", "Audit")
        assert rule["SenderDomainIs"] is None
        assert rule["From"] == ["x@b.example"]
        duplicate = sandbox.invoke(client, "New-TransportRule", Name="R", DeleteMessage=True)
        assert cause(duplicate)[0].endswith("ADObjectAlreadyExistsException")
        bad_code = sandbox.invoke(
            client, "New-TransportRule", Name="x", RejectMessageEnhancedStatusCode="5.7.2"
        )
        assert cause(bad_code)[0].endswith("ParameterTransformationException")
        no_group = sandbox.invoke(client, "New-TransportRule", Name="y", FromMemberOf=["ghosts"])
        assert no_group.status_code == 404
        missing = sandbox.invoke(client, "Remove-TransportRule", Identity="nope")
        assert missing.status_code == 404
        assert len(_stored(sandbox, "transport_rule")) == 1


class TestSpamPolicies:
    def test_default_policy_exists_and_can_be_changed(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        [default] = [
            plain(row)
            for row in values(sandbox.invoke(client, "Get-HostedOutboundSpamFilterPolicy"))
        ]
        assert default["Name"] == "Default"
        assert default["IsDefault"] is True
        assert default["ActionWhenThresholdReached"] == "BlockUserForToday"
        values(
            sandbox.invoke(
                client,
                "Set-HostedOutboundSpamFilterPolicy",
                Identity="Default",
                RecipientLimitPerDay=100,
            )
        )
        changed = plain(
            values(
                sandbox.invoke(client, "Get-HostedOutboundSpamFilterPolicy", Identity="default")
            )[0]
        )
        assert changed["RecipientLimitPerDay"] == 100
        removal = sandbox.invoke(
            client, "Remove-HostedOutboundSpamFilterPolicy", Identity="Default"
        )
        assert removal.status_code == 400

    def test_policy_lifecycle(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        created = plain(
            values(
                sandbox.invoke(
                    client,
                    "New-HostedOutboundSpamFilterPolicy",
                    Name="TenantCore cap",
                    RecipientLimitPerDay=25,
                    RecipientLimitExternalPerHour=25,
                    RecipientLimitInternalPerHour=25,
                    ActionWhenThresholdReached="blockuser",
                )
            )[0]
        )
        assert created["ActionWhenThresholdReached"] == "BlockUser"
        assert created["IsDefault"] is False
        [stored] = rows(sandbox, "SELECT * FROM spam_policy WHERE name = 'TenantCore cap'")
        assert (stored["recipient_limit_per_day"], stored["action"]) == (25, "BlockUser")
        duplicate = sandbox.invoke(
            client, "New-HostedOutboundSpamFilterPolicy", Name="tenantcore CAP"
        )
        assert cause(duplicate)[0].endswith("ADObjectAlreadyExistsException")
        values(
            sandbox.invoke(
                client,
                "Set-HostedOutboundSpamFilterPolicy",
                Identity="TenantCore cap",
                RecipientLimitPerDay=10,
            )
        )
        again = plain(
            values(
                sandbox.invoke(
                    client, "Get-HostedOutboundSpamFilterPolicy", Identity=created["Guid"]
                )
            )[0]
        )
        assert again["RecipientLimitPerDay"] == 10
        values(
            sandbox.invoke(
                client, "Remove-HostedOutboundSpamFilterPolicy", Identity="TenantCore cap"
            )
        )
        assert (
            sandbox.invoke(
                client, "Get-HostedOutboundSpamFilterPolicy", Identity="TenantCore cap"
            ).status_code
            == 404
        )

    def test_rules_bind_one_policy_each(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        client = sandbox.exchange(tenant)
        for name in ("p1", "p2"):
            values(
                sandbox.invoke(
                    client, "New-HostedOutboundSpamFilterPolicy", Name=name, RecipientLimitPerDay=5
                )
            )
        created = plain(
            values(
                sandbox.invoke(
                    client,
                    "New-HostedOutboundSpamFilterRule",
                    Name="r1",
                    HostedOutboundSpamFilterPolicy="p1",
                    SenderDomainIs=["Outreach.example"],
                    Priority=0,
                )
            )[0]
        )
        assert created["HostedOutboundSpamFilterPolicy"] == "p1"
        assert created["State"] == "Enabled"
        assert created["SenderDomainIs"] == ["outreach.example"]
        second_binding = sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterRule",
            Name="r2",
            HostedOutboundSpamFilterPolicy="p1",
            From=["a@b.example"],
        )
        assert second_binding.status_code == 400
        default_binding = sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterRule",
            Name="r3",
            HostedOutboundSpamFilterPolicy="Default",
            From=["a@b.example"],
        )
        assert default_binding.status_code == 400
        no_condition = sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterRule",
            Name="r4",
            HostedOutboundSpamFilterPolicy="p2",
        )
        assert no_condition.status_code == 400
        no_policy = sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterRule",
            Name="r5",
            HostedOutboundSpamFilterPolicy="p9",
            From=["a@b.example"],
        )
        assert no_policy.status_code == 404
        values(
            sandbox.invoke(
                client,
                "New-HostedOutboundSpamFilterRule",
                Name="r2",
                HostedOutboundSpamFilterPolicy="p2",
                From=["a@b.example"],
                Priority=0,
            )
        )
        assert _names_by_priority(sandbox, client, "Get-HostedOutboundSpamFilterRule") == [
            ("r2", 0),
            ("r1", 1),
        ]
        [r1] = rows(sandbox, "SELECT * FROM spam_rule WHERE name = 'r1'")
        assert (r1["policy_name"], r1["priority"], r1["enabled"]) == ("p1", 1, 1)
        assert json.loads(r1["conditions"]) == {"SenderDomainIs": ["outreach.example"]}
        values(sandbox.invoke(client, "Disable-HostedOutboundSpamFilterRule", Identity="r1"))
        values(
            sandbox.invoke(
                client,
                "Set-HostedOutboundSpamFilterRule",
                Identity="r1",
                Priority=0,
                From=["c@d.example"],
            )
        )
        rule = plain(
            values(sandbox.invoke(client, "Get-HostedOutboundSpamFilterRule", Identity="r1"))[0]
        )
        assert (rule["State"], rule["Priority"], rule["From"]) == ("Disabled", 0, ["c@d.example"])
        values(sandbox.invoke(client, "Remove-HostedOutboundSpamFilterRule", Identity="r1"))
        assert _names_by_priority(sandbox, client, "Get-HostedOutboundSpamFilterRule") == [
            ("r2", 0)
        ]


class TestDehydratedOrganization:
    @pytest.mark.parametrize(
        ("cmdlet", "params"),
        [
            ("New-HostedOutboundSpamFilterPolicy", {"Name": "p"}),
            (
                "Set-HostedOutboundSpamFilterPolicy",
                {"Identity": "Default", "RecipientLimitPerDay": 5},
            ),
            ("Remove-HostedOutboundSpamFilterPolicy", {"Identity": "Default"}),
            (
                "New-HostedOutboundSpamFilterRule",
                {"Name": "r", "HostedOutboundSpamFilterPolicy": "x"},
            ),
            ("Set-HostedOutboundSpamFilterRule", {"Identity": "r"}),
            ("Remove-HostedOutboundSpamFilterRule", {"Identity": "r"}),
            ("New-TransportRule", {"Name": "t", "DeleteMessage": True}),
            ("Set-TransportRule", {"Identity": "t"}),
            ("Remove-TransportRule", {"Identity": "t"}),
        ],
    )
    def test_changes_need_customization(
        self, sandbox: SandboxHarness, cmdlet: str, params: dict[str, Any]
    ) -> None:
        tenant = sandbox.create_tenant(dehydrated=True)
        response = sandbox.invoke(sandbox.exchange(tenant), cmdlet, **params)
        assert response.status_code == 400
        exception_type, message = cause(response)
        assert exception_type.endswith("CmdletInvalidOperationInDehydratedContextException")
        assert message == (
            "The command you tried to run isn't currently allowed in your organization. To run"
            " this command, you first need to run the command: Enable-OrganizationCustomization."
        )

    def test_reads_work_and_enable_unblocks(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(dehydrated=True)
        client = sandbox.exchange(tenant)
        assert sandbox.invoke(client, "Get-HostedOutboundSpamFilterPolicy").status_code == 200
        assert values(sandbox.invoke(client, "Get-TransportRule")) == []
        values(sandbox.invoke(client, "Enable-OrganizationCustomization"))
        assert (
            sandbox.invoke(client, "New-HostedOutboundSpamFilterPolicy", Name="p").status_code
            == 200
        )
