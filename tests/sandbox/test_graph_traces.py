"""Graph `GET /admin/exchange/tracing/messageTraces`: filters, window limits, paging, throttling."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx2
import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    assert_graph_error,
    assert_throttled,
    sandbox_now,
    seed_trace,
)

PATH = "/admin/exchange/tracing/messageTraces"
SENDER = "sdr1@outreach-example.com"


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(now: datetime, hours: float = 24) -> str:
    start = now - timedelta(hours=hours)
    return f"receivedDateTime ge {_z(start)} and receivedDateTime le {_z(now)}"


def _all_pages(graph: httpx2.Client, params: dict[str, str]) -> tuple[list[dict[str, object]], int]:
    response = graph.get(PATH, params=params)
    rows: list[dict[str, object]] = []
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        rows += body["value"]
        if "@odata.nextLink" not in body:
            return rows, pages
        response = graph.get(body["@odata.nextLink"])


class TestRows:
    def test_row_shape_and_default_window(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        trace_id = seed_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="Lead@Prospect.com",
            received=now - timedelta(minutes=30),
            status="FilteredAsSpam",
        )
        seed_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="old@prospect.com",
            received=now - timedelta(hours=49),
        )
        body = sandbox.graph(tenant).get(PATH).json()
        assert body["@odata.context"] == (
            "https://graph.microsoft.com/v1.0/$metadata#admin/exchange/tracing/messageTraces"
        )
        assert len(body["value"]) == 1  # the default window is the last 48 hours
        row = body["value"][0]
        assert row == {
            "id": trace_id,
            "senderAddress": SENDER,
            "recipientAddress": "lead@prospect.com",
            "messageId": f"<{trace_id}@sandbox.test>",
            "receivedDateTime": _z(now - timedelta(minutes=30)),
            "subject": "Quick question",
            "size": 2048,
            "fromIP": "203.0.113.5",
            "toIP": "",
            "status": "filteredAsSpam",
        }

    def test_rows_not_yet_visible_are_hidden(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        seed_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="a@p.com",
            received=now,
            visible_at=now + timedelta(minutes=5),
        )
        graph = sandbox.graph(tenant)
        assert graph.get(PATH).json()["value"] == []
        sandbox.advance_clock(301)
        assert len(sandbox.graph(tenant).get(PATH).json()["value"]) == 1

    def test_filters(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        now = sandbox_now(sandbox)
        first = seed_trace(
            sandbox, tenant, sender=SENDER, recipient="a@p.com", received=now - timedelta(hours=1)
        )
        seed_trace(
            sandbox,
            tenant,
            sender=SENDER,
            recipient="b@p.com",
            received=now - timedelta(hours=2),
            status="Failed",
            subject="Weekly digest",
        )
        seed_trace(
            sandbox,
            tenant,
            sender="other@outreach-example.com",
            recipient="a@p.com",
            received=now - timedelta(hours=3),
        )
        graph = sandbox.graph(tenant)

        def recipients(clause: str) -> list[str]:
            response = graph.get(PATH, params={"$filter": f"{clause} and {_window(now)}"})
            assert response.status_code == 200, (clause, response.text)
            return [str(row["recipientAddress"]) for row in response.json()["value"]]

        assert recipients(f"senderAddress eq '{SENDER.upper()}'") == ["a@p.com", "b@p.com"]
        assert recipients("recipientAddress eq 'a@p.com'") == ["a@p.com", "a@p.com"]
        assert recipients("status eq 'failed'") == ["b@p.com"]
        assert recipients(f"messageId eq '<{first}@sandbox.test>'") == ["a@p.com"]
        assert recipients(f"id eq '{first}'") == ["a@p.com"]
        assert recipients("contains(subject, 'digest')") == ["b@p.com"]
        assert recipients(f"senderAddress eq '{SENDER}' and status eq 'delivered'") == ["a@p.com"]

    def test_other_tenants_rows_are_invisible(self, sandbox: SandboxHarness) -> None:
        mine, theirs = sandbox.create_tenant(), sandbox.create_tenant()
        seed_trace(
            sandbox, theirs, sender=SENDER, recipient="a@p.com", received=sandbox_now(sandbox)
        )
        assert sandbox.graph(mine).get(PATH).json()["value"] == []


class TestLimits:
    @pytest.mark.parametrize(
        ("start_days", "end_days"),
        [(11, 0), (95, 89), (0, -1)],
        ids=["longer-than-10-days", "older-than-90-days", "ends-in-the-future"],
    )
    def test_window_limits(
        self, sandbox: SandboxHarness, tenant: SandboxTenant, start_days: int, end_days: int
    ) -> None:
        now = sandbox_now(sandbox)
        start, end = now - timedelta(days=start_days), now - timedelta(days=end_days)
        response = sandbox.graph(tenant).get(
            PATH,
            params={
                "$filter": f"receivedDateTime ge {_z(start)} and receivedDateTime le {_z(end)}"
            },
        )
        assert_graph_error(response, 400, "BadRequest")

    def test_both_bounds_are_required(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        now = sandbox_now(sandbox)
        assert_graph_error(
            sandbox.graph(tenant).get(
                PATH, params={"$filter": f"receivedDateTime ge {_z(now - timedelta(hours=1))}"}
            ),
            400,
            "BadRequest",
        )

    def test_unsupported_filters(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        for expression in (
            "senderAddress ne 'a@b.com'",
            "shoeSize eq '9'",
            "senderAddress eq 'a@b.com' or recipientAddress eq 'c@d.com'",
            "status eq 'exploded'",
        ):
            assert_graph_error(graph.get(PATH, params={"$filter": expression}), 400, "BadRequest")

    def test_top_bounds(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        assert graph.get(PATH, params={"$top": "5000"}).status_code == 200
        for top in ("0", "5001"):
            assert_graph_error(graph.get(PATH, params={"$top": top}), 400, "Request_BadRequest")

    def test_query_budget_is_shared_and_throttles(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(trace_queries_per_window=2, trace_window_seconds=300)
        graph = sandbox.graph(tenant)
        assert graph.get(PATH).status_code == 200
        assert graph.get(PATH).status_code == 200
        retry_after = assert_throttled(graph.get(PATH))
        assert 0 < retry_after <= 300

    def test_needs_the_message_trace_role(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(graph_roles=["User.ReadWrite.All", "Domain.ReadWrite.All"])
        assert_graph_error(
            sandbox.graph(tenant).get(PATH),
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )


class TestPaging:
    def test_next_link_returns_every_row_once_newest_first(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        same_moment = now - timedelta(minutes=10)
        expected = []
        for index in range(7):  # three recipients of one message share a received time
            received = same_moment if index < 3 else now - timedelta(minutes=20 + index)
            recipient = f"r{index}@p.com"
            seed_trace(sandbox, tenant, sender=SENDER, recipient=recipient, received=received)
            expected.append(recipient)
        rows, pages = _all_pages(sandbox.graph(tenant), {"$filter": _window(now), "$top": "2"})
        assert [row["recipientAddress"] for row in rows] == expected
        assert pages == 4

    def test_next_link_keeps_filters_and_skips_non_matching_rows(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        now = sandbox_now(sandbox)
        for index in range(6):
            status = "Delivered" if index % 2 == 0 else "Failed"
            seed_trace(
                sandbox,
                tenant,
                sender=SENDER,
                recipient=f"r{index}@p.com",
                received=now - timedelta(minutes=index + 1),
                status=status,
            )
        rows, pages = _all_pages(
            sandbox.graph(tenant),
            {"$filter": f"status eq 'delivered' and {_window(now)}", "$top": "2"},
        )
        assert [row["recipientAddress"] for row in rows] == ["r0@p.com", "r2@p.com", "r4@p.com"]
        assert pages == 2

    def test_forged_skiptoken_is_rejected(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        assert_graph_error(
            sandbox.graph(tenant).get(PATH, params={"$skiptoken": "bm90LWEtdG9rZW4"}),
            400,
            "Request_BadRequest",
        )
