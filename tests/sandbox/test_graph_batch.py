"""Graph `POST /$batch`: items run through the same routes, dependsOn, limits, item-level errors."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    JSON_TYPE,
    PASSWORD,
    assert_graph_error,
    create_user,
    user_body,
)

JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _batch(graph: httpx2.Client, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    response = graph.post("/$batch", json={"requests": requests})
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["responses"]
    return {item["id"]: item for item in body["responses"]}


class TestItems:
    def test_mixed_items_with_a_dependency(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        upn = f"sdr@{tenant.initial_domain}"
        answers = _batch(
            graph,
            [
                {
                    "id": "2",
                    "method": "PATCH",
                    "url": f"/users/{upn}",
                    "dependsOn": ["1"],
                    "headers": JSON_HEADERS,
                    "body": {"accountEnabled": False},
                },
                {
                    "id": "1",
                    "method": "POST",
                    "url": "/users",
                    "headers": JSON_HEADERS,
                    "body": user_body(upn),
                },
                {
                    "id": "3",
                    "method": "GET",
                    "url": f"users/{upn}?$select=accountEnabled,id",
                    "dependsOn": ["2"],
                },
            ],
        )
        assert answers["1"]["status"] == 201
        assert answers["1"]["headers"]["Content-Type"] == JSON_TYPE
        assert answers["1"]["body"]["userPrincipalName"] == upn
        assert answers["2"]["status"] == 204
        assert answers["2"]["body"] is None
        assert answers["2"]["headers"] == {"Cache-Control": "no-cache", "OData-Version": "4.0"}
        assert answers["3"]["status"] == 200
        assert answers["3"]["body"]["accountEnabled"] is False

    def test_responses_keep_request_order(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        response = graph.post(
            "/$batch",
            json={
                "requests": [
                    {"id": "b", "method": "GET", "url": "/domains"},
                    {"id": "a", "method": "GET", "url": "/users"},
                ]
            },
        )
        assert [item["id"] for item in response.json()["responses"]] == ["b", "a"]

    def test_failed_dependency_is_424_and_does_not_run(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        answers = _batch(
            graph,
            [
                {
                    "id": "1",
                    "method": "POST",
                    "url": "/users",
                    "headers": JSON_HEADERS,
                    "body": user_body("x@unverified.example"),
                },
                {
                    "id": "2",
                    "method": "POST",
                    "url": "/domains",
                    "headers": JSON_HEADERS,
                    "body": {"id": "never.example"},
                    "dependsOn": ["1"],
                },
                {"id": "3", "method": "GET", "url": "/domains/never.example", "dependsOn": ["2"]},
            ],
        )
        assert answers["1"]["status"] == 400
        assert answers["1"]["body"]["error"]["code"] == "Request_BadRequest"
        for item_id in ("2", "3"):
            assert answers[item_id]["status"] == 424
            assert answers[item_id]["body"]["error"]["code"] == "FailedDependency"
        assert graph.get("/domains/never.example").status_code == 404

    def test_item_errors_keep_graph_envelope(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        answers = _batch(
            sandbox.graph(tenant),
            [
                {"id": "1", "method": "GET", "url": "/users/nobody@nowhere.example"},
                {"id": "2", "method": "POST", "url": "/users", "body": user_body("a@b.example")},
                {"id": "3", "method": "GET", "url": "/nothing-here"},
                {
                    "id": "4",
                    "method": "POST",
                    "url": "/$batch",
                    "headers": JSON_HEADERS,
                    "body": {"requests": []},
                },
            ],
        )
        assert answers["1"]["status"] == 404
        error = answers["1"]["body"]["error"]
        assert error["code"] == "Request_ResourceNotFound"
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
        assert answers["2"]["status"] == 400
        assert answers["2"]["body"]["error"]["message"] == (
            "Write request id : 2 does not contain Content-Type header or body."
        )
        assert answers["3"]["status"] == 400
        assert answers["4"]["status"] == 400

    def test_advanced_query_headers_travel_with_the_item(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        create_user(graph, f"one@{tenant.initial_domain}")
        url = f"/users?$filter=endswith(userPrincipalName,'@{tenant.initial_domain}')&$count=true"
        answers = _batch(
            graph,
            [
                {
                    "id": "1",
                    "method": "GET",
                    "url": url,
                    "headers": {"ConsistencyLevel": "eventual"},
                },
                {"id": "2", "method": "GET", "url": url},
            ],
        )
        assert answers["1"]["body"]["@odata.count"] == 1
        assert answers["2"]["status"] == 400
        assert answers["2"]["body"]["error"]["code"] == "Request_UnsupportedQuery"

    def test_each_item_counts_as_a_call(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        sandbox.http.delete("/_sandbox/counters")
        _batch(
            graph,
            [
                {"id": "1", "method": "GET", "url": "/users"},
                {"id": "2", "method": "GET", "url": "/users"},
                {"id": "3", "method": "GET", "url": "/domains"},
            ],
        )
        calls = sandbox.http.get("/_sandbox/counters").json()["calls"]
        assert calls["graph:POST /$batch"] == 1
        assert calls["graph:GET /users"] == 2
        assert calls["graph:GET /domains"] == 1


class TestThrottlingAndFaults:
    def test_items_are_throttled_individually(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(graph_writes_per_window=1, graph_write_window_seconds=60)
        graph = sandbox.graph(tenant)
        answers = _batch(
            graph,
            [
                {
                    "id": "1",
                    "method": "POST",
                    "url": "/domains",
                    "headers": JSON_HEADERS,
                    "body": {"id": "one.example"},
                },
                {
                    "id": "2",
                    "method": "POST",
                    "url": "/domains",
                    "headers": JSON_HEADERS,
                    "body": {"id": "two.example"},
                },
                {"id": "3", "method": "GET", "url": "/domains"},
            ],
        )
        assert answers["1"]["status"] == 201
        assert answers["2"]["status"] == 429
        assert answers["2"]["body"]["error"]["code"] == "TooManyRequests"
        assert 0 < float(answers["2"]["headers"]["Retry-After"]) <= 60
        assert answers["2"]["headers"]["x-ms-throttle-information"] == "WriteLimitExceeded"
        assert answers["3"]["status"] == 200

    def test_injected_fault_hits_only_its_operation(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        plan = {
            "rules": [
                {
                    "host": "graph",
                    "operation": "GET /domains",
                    "error_rate": 1.0,
                    "error_statuses": [503],
                    "retry_after_seconds": 2.128,
                }
            ]
        }
        sandbox.http.put("/_sandbox/faults", json=plan).raise_for_status()
        answers = _batch(
            sandbox.graph(tenant),
            [
                {"id": "1", "method": "GET", "url": "/domains"},
                {"id": "2", "method": "GET", "url": "/users"},
            ],
        )
        assert answers["1"]["status"] == 503
        assert answers["1"]["body"]["error"]["code"] == "serviceNotAvailable"
        assert answers["1"]["headers"]["Retry-After"] == "2.128"
        assert answers["2"]["status"] == 200


class TestMalformed:
    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"requests": "nope"},
            {"requests": []},
            {"requests": [{"id": "1", "method": "GET"}]},
            {"requests": [{"id": 1, "method": "GET", "url": "/users"}]},
            {"requests": [{"id": "1", "method": "FETCH", "url": "/users"}]},
            {
                "requests": [
                    {"id": "1", "method": "GET", "url": "/users"},
                    {"id": "1", "method": "GET", "url": "/domains"},
                ]
            },
            {"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]},
            {
                "requests": [
                    {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
                    {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]},
                ]
            },
        ],
        ids=[
            "empty",
            "not-a-list",
            "no-requests",
            "no-url",
            "numeric-id",
            "bad-method",
            "duplicate-ids",
            "unknown-dependency",
            "cycle",
        ],
    )
    def test_whole_batch_is_400(
        self, sandbox: SandboxHarness, tenant: SandboxTenant, payload: dict[str, Any]
    ) -> None:
        assert_graph_error(sandbox.graph(tenant).post("/$batch", json=payload), 400, "BadRequest")

    def test_more_than_twenty_requests(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        requests = [{"id": str(n), "method": "GET", "url": "/users"} for n in range(21)]
        assert_graph_error(
            graph.post("/$batch", json={"requests": requests}),
            400,
            "BadRequest",
            "Number of batch request steps exceeds the maximum of 20.",
        )
        assert len(_batch(graph, requests[:20])) == 20

    def test_batch_needs_a_valid_token(self, sandbox: SandboxHarness) -> None:
        response = sandbox.http.post(
            "/v1.0/$batch",
            json={"requests": [{"id": "1", "method": "GET", "url": "/users"}]},
            headers={"Authorization": "Bearer not.a.token"},
        )
        assert_graph_error(response, 401, "InvalidAuthenticationToken")


def test_password_never_leaves_in_a_batch_answer(
    sandbox: SandboxHarness, tenant: SandboxTenant
) -> None:
    graph = sandbox.graph(tenant)
    response = graph.post(
        "/$batch",
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "POST",
                    "url": "/users",
                    "headers": JSON_HEADERS,
                    "body": user_body(f"p@{tenant.initial_domain}"),
                }
            ]
        },
    )
    assert PASSWORD not in response.text
