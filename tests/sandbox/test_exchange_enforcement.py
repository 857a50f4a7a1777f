"""What the Exchange host stores is what the SMTP host enforces.

Mailboxes, groups, transport rules, outbound spam policies and restricted-sender removals are
made through InvokeCommand only; the one stand-in is the password, which Graph's
`PATCH /users/{id}` sets (written here straight into the store, hashed as Graph does).
"""

from __future__ import annotations

import httpx2

from tenantcore.sandbox.passwords import hash_password
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.smtp_seed import PASSWORD, SeededMailbox, send
from tests.sandbox.test_exchange_support import add_domain, new_shared_mailbox, values, write

DOMAIN = "outreach.example"
LEAD = "lead@prospect.example"


def _sending_mailbox(
    sandbox: SandboxHarness, tenant: SandboxTenant, client: httpx2.Client, address: str
) -> SeededMailbox:
    created = new_shared_mailbox(sandbox, client, address)
    write(
        sandbox,
        "UPDATE directory_user SET account_enabled = 1, password_hash = ? WHERE id = ?",
        (hash_password(PASSWORD), created["ExternalDirectoryObjectId"]),
    )
    values(
        sandbox.invoke(
            client, "Set-CASMailbox", Identity=address, SmtpClientAuthenticationDisabled=False
        )
    )
    return SeededMailbox(
        guid=created["Guid"], user_id=created["ExternalDirectoryObjectId"], address=address
    )


def test_transport_rule_on_a_group_rejects_its_members(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, DOMAIN)
    client = sandbox.exchange(tenant)
    sender = _sending_mailbox(sandbox, tenant, client, f"sdr1@{DOMAIN}")
    assert send(sandbox, sender, [LEAD])[0] == 250

    values(sandbox.invoke(client, "New-DistributionGroup", Name="capped", Type="Security"))
    values(
        sandbox.invoke(
            client, "Add-DistributionGroupMember", Identity="capped", Member=sender.address
        )
    )
    values(
        sandbox.invoke(
            client,
            "New-TransportRule",
            Name="TenantCore cap reached",
            FromMemberOf=["capped"],
            RejectMessageEnhancedStatusCode="5.7.901",
            RejectMessageReasonText="Daily send limit reached",
            StopRuleProcessing=True,
        )
    )
    code, reply = send(sandbox, sender, [LEAD])
    assert (code, reply.decode()) == (550, "5.7.901 Daily send limit reached")

    values(
        sandbox.invoke(
            client, "Remove-DistributionGroupMember", Identity="capped", Member=sender.address
        )
    )
    assert send(sandbox, sender, [LEAD])[0] == 250


def test_outbound_spam_policy_blocks_and_admin_unblock_holds_for_the_day(
    sandbox: SandboxHarness,
) -> None:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, DOMAIN)
    client = sandbox.exchange(tenant)
    sender = _sending_mailbox(sandbox, tenant, client, f"sdr2@{DOMAIN}")
    values(
        sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterPolicy",
            Name="cap",
            RecipientLimitPerDay=2,
            ActionWhenThresholdReached="BlockUser",
        )
    )
    values(
        sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterRule",
            Name="cap",
            HostedOutboundSpamFilterPolicy="cap",
            SenderDomainIs=[DOMAIN],
        )
    )
    assert [send(sandbox, sender, [LEAD])[0] for _ in range(2)] == [250, 250]
    code, reply = send(sandbox, sender, [LEAD])
    assert code == 550
    assert reply.decode().startswith("5.1.8 Access denied, bad outbound sender")

    blocked = values(sandbox.invoke(client, "Get-BlockedSenderAddress"))
    assert [(row["SenderAddress"], row["TemporaryBlock"]) for row in blocked] == [
        (sender.address, False)
    ]
    values(sandbox.invoke(client, "Remove-BlockedSenderAddress", SenderAddress=sender.address))
    assert send(sandbox, sender, [LEAD])[0] == 250

    trace = values(sandbox.invoke(client, "Get-MessageTraceV2", SenderAddress=[sender.address]))
    # The refused attempt stopped at MAIL FROM, so it left no trace row.
    assert [row["Status"] for row in trace] == ["Delivered"] * 3
