"""Get-MessageTraceV2: window rules, filters, the 5,000-row cap with its continuation, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tenantcore.sandbox.timeutil import exchange_datetime_utc
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.test_exchange_support import (
    add_trace,
    cause,
    plain,
    sandbox_now,
    values,
    warnings,
)

SENDER = "sdr1@outreach.example"


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _trace(
    sandbox: SandboxHarness, tenant: SandboxTenant, **params: object
) -> list[dict[str, object]]:
    response = sandbox.invoke(sandbox.exchange(tenant), "Get-MessageTraceV2", **params)
    return [plain(row) for row in values(response)]


class TestMessageTrace:
    def test_rows_per_recipient_newest_first(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        older = add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="a@lead.example",
            received=now - timedelta(hours=2),
        )
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="b@lead.example",
            received=now - timedelta(hours=1),
        )
        response = sandbox.invoke(
            sandbox.exchange(tenant),
            "Get-MessageTraceV2",
            SenderAddress=[SENDER.upper()],
            ResultSize=5000,
        )
        raw = values(response)
        assert [row["RecipientAddress"] for row in raw] == ["b@lead.example", "a@lead.example"]
        last = raw[1]
        assert last["Received@data.type"] == "System.DateTime"
        assert last["Received"].endswith("Z")
        assert len(last["Received"].split(".")[1]) == 8
        assert last["MessageTraceId@odata.type"] == "#Guid"
        assert last["MessageTraceId"] == older
        assert (last["Status"], last["Size"], last["FromIP"], last["ToIP"]) == (
            "Delivered",
            2048,
            "203.0.113.5",
            None,
        )
        assert warnings(response) == []

    def test_default_window_is_48_hours(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="new@lead.example",
            received=now - timedelta(hours=47),
        )
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="old@lead.example",
            received=now - timedelta(hours=49),
        )
        assert [row["RecipientAddress"] for row in _trace(sandbox, tenant)] == ["new@lead.example"]

    def test_invisible_until_the_trace_delay_passed(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="a@lead.example",
            received=now,
            visible_at=now + timedelta(minutes=5),
        )
        assert _trace(sandbox, tenant) == []
        sandbox.advance_clock(301)
        assert len(_trace(sandbox, tenant)) == 1

    def test_filters(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        now = sandbox_now(sandbox)
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="a@lead.example",
            received=now - timedelta(minutes=3),
        )
        add_trace(
            sandbox,
            tenant,
            sender="other@outreach.example",
            recipient="b@lead.example",
            received=now - timedelta(minutes=2),
        )
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="c@lead.example",
            received=now - timedelta(minutes=1),
            status="Failed",
            message_id="<m1@x>",
        )
        assert len(_trace(sandbox, tenant, SenderAddress=SENDER)) == 2
        assert [
            r["RecipientAddress"]
            for r in _trace(sandbox, tenant, RecipientAddress=["b@lead.example"])
        ] == ["b@lead.example"]
        assert [r["RecipientAddress"] for r in _trace(sandbox, tenant, Status="failed")] == [
            "c@lead.example"
        ]
        assert [r["RecipientAddress"] for r in _trace(sandbox, tenant, MessageId=["<m1@x>"])] == [
            "c@lead.example"
        ]
        window = _trace(
            sandbox,
            tenant,
            StartDate=exchange_datetime_utc(now - timedelta(minutes=150 / 60)),
            EndDate=(now - timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%S"),
        )
        assert [r["RecipientAddress"] for r in window] == ["b@lead.example"]
        bad_status = sandbox.invoke(sandbox.exchange(tenant), "Get-MessageTraceV2", Status="Lost")
        assert cause(bad_status)[0].endswith("ParameterTransformationException")

    @pytest.mark.parametrize(
        ("start_days", "end_days", "needle"),
        [(11, 0, "10 days"), (95, 88, "90 days"), (0, 1, "earlier than the EndDate")],
    )
    def test_window_limits(
        self,
        sandbox: SandboxHarness,
        tenant: SandboxTenant,
        start_days: int,
        end_days: int,
        needle: str,
    ) -> None:
        now = sandbox_now(sandbox)
        response = sandbox.invoke(
            sandbox.exchange(tenant),
            "Get-MessageTraceV2",
            StartDate=exchange_datetime_utc(now - timedelta(days=start_days)),
            EndDate=exchange_datetime_utc(now - timedelta(days=end_days)),
        )
        assert response.status_code == 400
        assert needle in cause(response)[1]

    def test_result_size_limits(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        client = sandbox.exchange(tenant)
        for size in (0, 5001, "Unlimited"):
            assert sandbox.invoke(client, "Get-MessageTraceV2", ResultSize=size).status_code == 400

    def test_truncated_result_continues_with_starting_recipient(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        same_moment = now - timedelta(minutes=10)
        for recipient in ("d@lead.example", "a@lead.example", "c@lead.example", "b@lead.example"):
            add_trace(sandbox, tenant, sender=SENDER, recipient=recipient, received=same_moment)
        add_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="z@lead.example",
            received=now - timedelta(minutes=1),
        )
        client = sandbox.exchange(tenant)
        first = sandbox.invoke(client, "Get-MessageTraceV2", SenderAddress=[SENDER], ResultSize=3)
        page = [plain(row) for row in values(first)]
        assert [row["RecipientAddress"] for row in page] == [
            "z@lead.example",
            "a@lead.example",
            "b@lead.example",
        ]
        [warning] = warnings(first)
        assert '-StartingRecipientAddress "b@lead.example"' in warning
        rest = sandbox.invoke(
            client,
            "Get-MessageTraceV2",
            SenderAddress=[SENDER],
            ResultSize=3,
            StartDate=exchange_datetime_utc(now - timedelta(hours=48)),
            EndDate=page[-1]["Received"],
            StartingRecipientAddress=page[-1]["RecipientAddress"],
        )
        assert [row["RecipientAddress"] for row in values(rest)] == [
            "c@lead.example",
            "d@lead.example",
        ]
        assert warnings(rest) == []

    def test_large_results_are_paged_and_pages_cost_no_query(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(trace_queries_per_window=1)
        now = sandbox_now(sandbox)
        for index in range(5):
            add_trace(
                sandbox,
                tenant,
                sender=SENDER,
                recipient=f"r{index}@lead.example",
                received=now - timedelta(minutes=index + 1),
            )
        client = sandbox.exchange(tenant)
        first = client.post(
            "/InvokeCommand",
            json={
                "CmdletInput": {
                    "CmdletName": "Get-MessageTraceV2",
                    "Parameters": {"ResultSize": 5000},
                }
            },
            headers={"Prefer": "odata.maxpagesize=2"},
        )
        received = values(first)
        link = first.json().get("@odata.nextLink")
        while link:
            page = client.get(link)
            received += values(page)
            link = page.json().get("@odata.nextLink")
        assert len(received) == 5

    def test_throttled_after_the_query_budget(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(trace_queries_per_window=2)
        client = sandbox.exchange(tenant)
        for _ in range(2):
            assert sandbox.invoke(client, "Get-MessageTraceV2").status_code == 200
        throttled = sandbox.invoke(client, "Get-MessageTraceV2")
        assert throttled.status_code == 429
        assert float(throttled.headers["retry-after"]) > 0
        assert "throttled" in cause(throttled)[1]
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["throttled"]["message_trace"] >= 1
