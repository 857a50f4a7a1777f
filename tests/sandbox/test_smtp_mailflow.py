"""Accepted mail becomes message-trace rows; transport rules reject or drop; injected faults."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

import pytest

from tenantcore.sandbox import tracequery
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.smtp_seed import (
    PASSWORD,
    SeededMailbox,
    add_domain,
    add_group,
    add_mailbox,
    add_transport_rule,
    core,
    now,
    rows,
    send,
    smtp_session,
)


def _tenant_with_mailbox(sandbox: SandboxHarness) -> tuple[SandboxTenant, SeededMailbox]:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, "outreach.example")
    return tenant, add_mailbox(sandbox, tenant, "sdr1@outreach.example")


def _visible_traces(sandbox: SandboxHarness, tenant: SandboxTenant) -> list[dict[str, Any]]:
    moment = now(sandbox)
    found = tracequery.query(
        core(sandbox),
        tenant.tenant_id,
        start=moment - timedelta(days=1),
        end=moment + timedelta(days=1),
    )
    return [dict(row) for row in found]


def _counter(sandbox: SandboxHarness, tenant: SandboxTenant) -> int:
    found = rows(
        sandbox,
        "SELECT SUM(recipients) AS n FROM send_counter WHERE tenant_id = ?",
        (tenant.tenant_id,),
    )
    return int(found[0]["n"] or 0)


class TestTrace:
    def test_accepted_mail_is_traced_per_recipient_after_the_delay(
        self, sandbox: SandboxHarness
    ) -> None:
        sandbox.configure(trace_delay_min_seconds=60, trace_delay_max_seconds=60)
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        body = (
            b"From: sdr1@outreach.example\r\nTo: a@prospect.example\r\n"
            b"Subject: Quick question\r\nMessage-ID: <abc@outreach.example>\r\n\r\nHello\r\n"
        )
        with smtp_session(sandbox, (mailbox.address, PASSWORD)) as client:
            client.sendmail(
                "sdr1@outreach.example", ["a@prospect.example", "B@Prospect.example"], body
            )
        assert _visible_traces(sandbox, tenant) == []
        sandbox.advance_clock(61)
        traces = _visible_traces(sandbox, tenant)
        assert sorted(t["recipient_address"] for t in traces) == [
            "a@prospect.example",
            "b@prospect.example",
        ]
        for trace in traces:
            assert trace["status"] == "Delivered"
            assert trace["sender_address"] == "sdr1@outreach.example"
            assert trace["subject"] == "Quick question"
            assert trace["message_id"] == "<abc@outreach.example>"
            assert trace["from_ip"] == "127.0.0.1"
            assert trace["to_ip"] == ""
            assert trace["size"] == len(body)
        assert len({t["message_trace_id"] for t in traces}) == 1
        assert _counter(sandbox, tenant) == 2

    def test_message_without_message_id_gets_one(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        code, reply = send(sandbox, mailbox, ["a@prospect.example"])
        assert code == 250
        generated = reply.split(b" ")[2].decode()
        assert generated.startswith("<")
        assert generated.endswith(">")
        assert _visible_traces(sandbox, tenant)[0]["message_id"] == generated

    def test_duplicate_recipients_count_once(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        assert send(sandbox, mailbox, ["a@prospect.example", "A@prospect.example"])[0] == 250
        assert _counter(sandbox, tenant) == 1
        assert len(_visible_traces(sandbox, tenant)) == 1

    def test_recipient_limit_per_message(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        mailbox = add_mailbox(sandbox, tenant, f"sdr1@{tenant.initial_domain}", recipient_limits=2)
        code, reply = send(sandbox, mailbox, ["a@p.example", "b@p.example", "c@p.example"])
        assert (code, reply) == (550, b"5.5.3 Too many recipients")
        assert send(sandbox, mailbox, ["a@p.example", "b@p.example"])[0] == 250


class TestTransportRules:
    def test_group_member_gets_the_rules_rejection(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        other = add_mailbox(sandbox, tenant, "sdr2@outreach.example")
        group = add_group(sandbox, tenant, "blocked-senders", [mailbox])
        add_transport_rule(
            sandbox,
            tenant,
            "TenantCore block",
            priority=0,
            conditions={"FromMemberOf": [group]},
            actions={
                "RejectMessageEnhancedStatusCode": "5.7.901",
                "RejectMessageReasonText": "Daily send limit reached",
            },
        )
        code, reply = send(sandbox, mailbox, ["a@prospect.example"])
        assert (code, reply) == (550, b"5.7.901 Daily send limit reached")
        assert send(sandbox, other, ["a@prospect.example"])[0] == 250
        statuses = {(t["sender_address"], t["status"]) for t in _visible_traces(sandbox, tenant)}
        assert statuses == {
            ("sdr1@outreach.example", "Failed"),
            ("sdr2@outreach.example", "Delivered"),
        }
        assert _counter(sandbox, tenant) == 1

    def test_default_code_and_text(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        add_transport_rule(
            sandbox,
            tenant,
            "by address",
            priority=0,
            conditions={"From": ["sdr1@outreach.example"]},
            actions={"RejectMessageEnhancedStatusCode": "5.7.950"},
        )
        add_transport_rule(
            sandbox,
            tenant,
            "by domain",
            priority=1,
            conditions={"SenderDomainIs": ["example"]},
            actions={"RejectMessageReasonText": "Subdomains match too"},
        )
        code, reply = send(sandbox, mailbox, ["a@prospect.example"])
        assert (code, reply) == (550, b"5.7.950 Delivery not authorized, message refused")
        other = add_mailbox(sandbox, tenant, "sdr2@outreach.example")
        assert send(sandbox, other, ["a@prospect.example"]) == (
            550,
            b"5.7.1 Subdomains match too",
        )

    def test_exceptions_scopes_and_inactive_rules(self, sandbox: SandboxHarness) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        reject = {"RejectMessageReasonText": "no"}
        add_transport_rule(
            sandbox,
            tenant,
            "external only, except sdr1",
            priority=0,
            conditions={"SentToScope": "NotInOrganization", "ExceptIfFrom": [mailbox.address]},
            actions=reject,
        )
        add_transport_rule(
            sandbox, tenant, "disabled", priority=1, conditions={}, actions=reject, state="Disabled"
        )
        add_transport_rule(
            sandbox, tenant, "audit", priority=2, conditions={}, actions=reject, mode="Audit"
        )
        other = add_mailbox(sandbox, tenant, "sdr2@outreach.example")
        assert send(sandbox, mailbox, ["a@prospect.example"])[0] == 250
        assert send(sandbox, other, ["colleague@outreach.example"])[0] == 250
        assert send(sandbox, other, ["a@prospect.example"]) == (550, b"5.7.1 no")

    def test_delete_message_drops_silently_and_stop_processing(
        self, sandbox: SandboxHarness
    ) -> None:
        tenant, mailbox = _tenant_with_mailbox(sandbox)
        other = add_mailbox(sandbox, tenant, "sdr2@outreach.example")
        add_transport_rule(
            sandbox,
            tenant,
            "let sdr2 through",
            priority=0,
            conditions={"From": [other.address]},
            actions={"StopRuleProcessing": True},
        )
        add_transport_rule(
            sandbox,
            tenant,
            "drop everything",
            priority=1,
            conditions={"FromScope": "InOrganization"},
            actions={"DeleteMessage": True},
        )
        code, reply = send(sandbox, mailbox, ["a@prospect.example"])
        assert code == 250
        assert reply.startswith(b"2.0.0 OK <")
        assert send(sandbox, other, ["a@prospect.example"])[0] == 250
        statuses = {(t["sender_address"], t["status"]) for t in _visible_traces(sandbox, tenant)}
        assert statuses == {
            ("sdr1@outreach.example", "Failed"),
            ("sdr2@outreach.example", "Delivered"),
        }
        assert _counter(sandbox, tenant) == 1


class TestFaults:
    def test_injected_throttle_is_transient_451(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _tenant_with_mailbox(sandbox)
        fault = {"host": "smtp", "operation": "DATA", "error_rate": 1, "error_statuses": [429]}
        sandbox.http.put("/_sandbox/faults", json={"rules": [fault]}).raise_for_status()
        code, reply = send(sandbox, mailbox, ["a@prospect.example"])
        assert code == 451
        assert reply.startswith(b"4.3.2 ")
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["injected_faults"]["smtp:DATA"] == 1

    def test_injected_outage_answers_421_and_closes(self, sandbox: SandboxHarness) -> None:
        _, mailbox = _tenant_with_mailbox(sandbox)
        fault = {"host": "smtp", "operation": "AUTH", "error_rate": 1, "error_statuses": [503]}
        sandbox.http.put("/_sandbox/faults", json={"rules": [fault]}).raise_for_status()
        with smtp_session(sandbox) as client:
            client.user, client.password = mailbox.address, PASSWORD
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                client.auth("PLAIN", client.auth_plain)
            assert err.value.smtp_code == 421
            reply = err.value.smtp_error
            assert isinstance(reply, bytes)
            assert reply.startswith(b"4.3.2 ")
            with pytest.raises(smtplib.SMTPServerDisconnected):
                client.noop()
