"""Outbound spam policy limits over SMTP: recipients per UTC day, first-match policies, actions."""

from __future__ import annotations

from typing import Any

from tenantcore.sandbox.timeutil import iso, next_utc_midnight, utc_day
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.smtp_seed import (
    PASSWORD,
    SeededMailbox,
    add_domain,
    add_group,
    add_mailbox,
    add_spam_policy,
    now,
    remove_block,
    rows,
    seconds_past_next_midnight,
    send,
    set_default_policy,
    smtp_session,
    write,
)

RESTRICTED = (550, b"5.1.8 Access denied, bad outbound sender AS(42004)")
DOMAIN = "outreach.example"


def _setup(sandbox: SandboxHarness, *names: str) -> tuple[SandboxTenant, list[SeededMailbox]]:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, DOMAIN)
    return tenant, [add_mailbox(sandbox, tenant, f"{name}@{DOMAIN}") for name in names]


def _blocks(sandbox: SandboxHarness, tenant: SandboxTenant) -> list[dict[str, Any]]:
    found = rows(sandbox, "SELECT * FROM blocked_sender WHERE tenant_id = ?", (tenant.tenant_id,))
    return [dict(row) for row in found]


def _statuses(sandbox: SandboxHarness, tenant: SandboxTenant) -> list[str]:
    found = rows(
        sandbox,
        "SELECT status FROM trace WHERE tenant_id = ? ORDER BY received",
        (tenant.tenant_id,),
    )
    return [row["status"] for row in found]


class TestDailyCap:
    def test_cap_accepts_exactly_n_then_blocks_for_today(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        add_spam_policy(
            sandbox, tenant, "TenantCore cap", limit=3, conditions={"SenderDomainIs": [DOMAIN]}
        )
        for index in range(3):
            assert send(sandbox, sdr1, [f"lead{index}@prospect.example"])[0] == 250
        (blocked,) = _blocks(sandbox, tenant)
        assert blocked["sender_address"] == sdr1.address
        assert blocked["reason"] == "Outbound spam policy: daily recipient limit reached"
        assert blocked["expires_at"] == iso(next_utc_midnight(now(sandbox)))
        assert send(sandbox, sdr1, ["lead4@prospect.example"]) == RESTRICTED
        assert _statuses(sandbox, tenant) == ["Delivered"] * 3

    def test_recipients_are_counted_not_messages(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1, sdr2) = _setup(sandbox, "sdr1", "sdr2")
        add_spam_policy(sandbox, tenant, "cap", limit=5, conditions={"SenderDomainIs": [DOMAIN]})
        three = ["a@p.example", "b@p.example", "c@p.example"]
        assert send(sandbox, sdr1, three)[0] == 250
        # 3 + 3 > 5: the whole message is refused, traced as failed, and the sender blocked.
        assert send(sandbox, sdr1, three) == RESTRICTED
        assert [b["sender_address"] for b in _blocks(sandbox, tenant)] == [sdr1.address]
        assert _statuses(sandbox, tenant) == ["Delivered"] * 3 + ["Failed"] * 3
        # 3 + 2 == 5: accepted, then blocked.
        assert send(sandbox, sdr2, three)[0] == 250
        assert send(sandbox, sdr2, ["d@p.example", "e@p.example"])[0] == 250
        assert send(sandbox, sdr2, ["f@p.example"]) == RESTRICTED
        counters = rows(
            sandbox,
            "SELECT sender_address, recipients, messages FROM send_counter WHERE tenant_id = ?"
            " ORDER BY sender_address",
            (tenant.tenant_id,),
        )
        assert [tuple(row) for row in counters] == [(sdr1.address, 3, 1), (sdr2.address, 5, 2)]

    def test_a_session_opened_before_the_block_cannot_overshoot(
        self, sandbox: SandboxHarness
    ) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        set_default_policy(sandbox, tenant, recipient_limit_per_day=1)
        login = (sdr1.address, PASSWORD)
        with smtp_session(sandbox, login) as first, smtp_session(sandbox, login) as second:
            for client in (first, second):
                assert client.mail(sdr1.address)[0] == 250
                assert client.rcpt("lead@prospect.example")[0] == 250
            assert first.data(b"Subject: one\r\n\r\nhi\r\n")[0] == 250
            assert second.data(b"Subject: two\r\n\r\nhi\r\n") == RESTRICTED
        assert _statuses(sandbox, tenant) == ["Delivered", "Failed"]

    def test_block_user_for_today_lifts_after_utc_midnight(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        set_default_policy(sandbox, tenant, recipient_limit_per_day=1)
        assert send(sandbox, sdr1, ["a@p.example"])[0] == 250
        assert send(sandbox, sdr1, ["b@p.example"]) == RESTRICTED
        sandbox.advance_clock(seconds_past_next_midnight(sandbox) - 120)
        assert send(sandbox, sdr1, ["b@p.example"]) == RESTRICTED
        sandbox.advance_clock(120)
        assert send(sandbox, sdr1, ["b@p.example"])[0] == 250
        # A new day, a new count: the cap applies again.
        assert send(sandbox, sdr1, ["c@p.example"]) == RESTRICTED

    def test_block_user_stays_until_removed(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        set_default_policy(sandbox, tenant, recipient_limit_per_day=1, action="BlockUser")
        assert send(sandbox, sdr1, ["a@p.example"])[0] == 250
        (blocked,) = _blocks(sandbox, tenant)
        assert blocked["expires_at"] is None
        sandbox.advance_clock(seconds_past_next_midnight(sandbox))
        assert send(sandbox, sdr1, ["b@p.example"]) == RESTRICTED
        remove_block(sandbox, tenant, sdr1.address)
        # Removed by an admin: not restricted again that day, whatever the count.
        for recipient in ("b@p.example", "c@p.example", "d@p.example"):
            assert send(sandbox, sdr1, [recipient])[0] == 250
        assert _blocks(sandbox, tenant) == []
        sandbox.advance_clock(seconds_past_next_midnight(sandbox))
        assert send(sandbox, sdr1, ["e@p.example"])[0] == 250
        assert send(sandbox, sdr1, ["f@p.example"]) == RESTRICTED

    def test_alert_never_blocks(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        set_default_policy(sandbox, tenant, recipient_limit_per_day=1, action="Alert")
        for recipient in ("a@p.example", "b@p.example", "c@p.example"):
            assert send(sandbox, sdr1, [recipient])[0] == 250
        assert _blocks(sandbox, tenant) == []

    def test_zero_means_the_service_default_of_10000(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        write(
            sandbox,
            "INSERT INTO send_counter(tenant_id, sender_address, day, recipients, messages)"
            " VALUES (?, ?, ?, 9999, 9999)",
            (tenant.tenant_id, sdr1.address, utc_day(now(sandbox))),
        )
        assert send(sandbox, sdr1, ["a@p.example", "b@p.example"]) == RESTRICTED
        assert send(sandbox, sdr1, ["a@p.example"]) == RESTRICTED  # blocked for today now
        assert _blocks(sandbox, tenant)[0]["sender_address"] == sdr1.address

    def test_hourly_external_limit(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        set_default_policy(
            sandbox, tenant, recipient_limit_per_day=100, recipient_limit_external_per_hour=2
        )
        internal = [f"colleague{i}@{DOMAIN}" for i in range(3)]
        assert send(sandbox, sdr1, internal)[0] == 250
        assert send(sandbox, sdr1, ["a@p.example"])[0] == 250
        assert _blocks(sandbox, tenant) == []
        assert send(sandbox, sdr1, ["b@p.example"])[0] == 250
        (blocked,) = _blocks(sandbox, tenant)
        assert blocked["reason"] == "Outbound spam policy: hourly external recipient limit reached"


class TestPolicySelection:
    def test_first_matching_rule_by_priority_wins(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1, sdr2, sdr3) = _setup(sandbox, "sdr1", "sdr2", "sdr3")
        group = add_group(sandbox, tenant, "capped", [sdr3])
        add_spam_policy(
            sandbox,
            tenant,
            "domain cap",
            limit=3,
            priority=1,
            conditions={"SenderDomainIs": ["example"], "ExceptIfFromMemberOf": [group]},
        )
        add_spam_policy(
            sandbox, tenant, "sdr1 cap", limit=1, priority=0, conditions={"From": [sdr1.address]}
        )
        set_default_policy(sandbox, tenant, recipient_limit_per_day=2)
        sent = {
            mailbox.address: sum(
                send(sandbox, mailbox, [f"lead{i}@p.example"])[0] == 250 for i in range(5)
            )
            for mailbox in (sdr1, sdr2, sdr3)
        }
        # sdr1: its own rule (1); sdr2: the domain rule (3); sdr3: excepted, so Default (2).
        assert sent == {sdr1.address: 1, sdr2.address: 3, sdr3.address: 2}

    def test_disabled_rule_is_skipped(self, sandbox: SandboxHarness) -> None:
        tenant, (sdr1,) = _setup(sandbox, "sdr1")
        add_spam_policy(sandbox, tenant, "tight", limit=1, conditions={"From": [sdr1.address]})
        write(sandbox, "UPDATE spam_rule SET enabled = 0 WHERE tenant_id = ?", (tenant.tenant_id,))
        assert send(sandbox, sdr1, ["a@p.example"])[0] == 250
        assert send(sandbox, sdr1, ["b@p.example"])[0] == 250
        assert _blocks(sandbox, tenant) == []
