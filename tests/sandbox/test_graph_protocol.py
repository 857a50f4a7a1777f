"""Graph's protocol behaviour: token checks, roles, headers, write throttling, faults, routing."""

from __future__ import annotations

import re

import httpx2
import pytest

from tests.conftest import EXCHANGE_SCOPE, SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    assert_graph_error,
    assert_graph_headers,
    assert_throttled,
    user_body,
)


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _raw(sandbox: SandboxHarness, token: str | None) -> httpx2.Client:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx2.Client(base_url=f"{sandbox.url}/v1.0", headers=headers, timeout=30)


class TestAuthentication:
    def test_missing_token(self, sandbox: SandboxHarness) -> None:
        response = _raw(sandbox, None).get("/users")
        assert_graph_error(response, 401, "InvalidAuthenticationToken", "Access token is empty.")
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")

    def test_expired_by_the_sandbox_clock(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        assert graph.get("/users").status_code == 200
        sandbox.advance_clock(3600)
        assert_graph_error(
            graph.get("/users"),
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )

    def test_exchange_token_is_the_wrong_audience(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = _raw(sandbox, sandbox.token(tenant, EXCHANGE_SCOPE)).get("/users")
        assert_graph_error(
            response,
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure. Invalid audience.",
        )

    def test_forged_token(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        token = sandbox.graph(tenant).headers["Authorization"].split()[1]
        header, payload, _ = token.split(".")
        for forged in (f"{header}.{payload}.c2lnbmF0dXJl", "garbage"):
            assert_graph_error(
                _raw(sandbox, forged).get("/users"), 401, "InvalidAuthenticationToken"
            )

    def test_deleted_tenant(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        sandbox.http.delete(f"/_sandbox/tenants/{tenant.tenant_id}").raise_for_status()
        assert_graph_error(graph.get("/users"), 401, "InvalidAuthenticationToken")


class TestRoles:
    def test_read_role_cannot_write_users(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(graph_roles=["User.Read.All"])
        graph = sandbox.graph(tenant)
        assert graph.get("/users").status_code == 200
        assert_graph_error(
            graph.post("/users", json=user_body(f"a@{tenant.initial_domain}")),
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
        assert_graph_error(
            graph.patch("/users/x@y.com", json={}), 403, "Authorization_RequestDenied"
        )

    def test_directory_read_write_covers_users_and_domains(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(graph_roles=["Directory.ReadWrite.All"])
        graph = sandbox.graph(tenant)
        assert graph.post("/users", json=user_body(f"a@{tenant.initial_domain}")).status_code == 201
        assert graph.post("/domains", json={"id": "d.example"}).status_code == 201

    def test_roles_are_checked_before_the_resource(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(graph_roles=["Domain.ReadWrite.All"])
        assert_graph_error(
            sandbox.graph(tenant).get("/users/nobody@nowhere.example"),
            403,
            "Authorization_RequestDenied",
        )


class TestHeaders:
    def test_client_request_id_is_echoed(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        echoed = graph.get("/users", headers={"client-request-id": "my-correlation-1"})
        assert_graph_headers(echoed)
        assert echoed.headers["client-request-id"] == "my-correlation-1"
        plain = graph.get("/users")
        assert plain.headers["client-request-id"] == plain.headers["request-id"]
        assert plain.headers["request-id"] != echoed.headers["request-id"]

    def test_errors_echo_it_in_inner_error(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = sandbox.graph(tenant).get(
            "/users/nobody@nowhere.example", headers={"client-request-id": "corr-404"}
        )
        error = assert_graph_error(response, 404, "Request_ResourceNotFound")
        assert error["innerError"]["client-request-id"] == "corr-404"

    def test_no_content_has_no_body_or_content_type(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        user = graph.post("/users", json=user_body(f"a@{tenant.initial_domain}")).json()
        response = graph.patch(f"/users/{user['id']}", json={"accountEnabled": False})
        assert response.status_code == 204
        assert response.content == b""
        assert "Content-Type" not in response.headers
        assert_graph_headers(response)

    def test_graph_host_header_is_routed(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        response = sandbox.graph(tenant).get("/users", headers={"Host": "graph.microsoft.com"})
        assert response.status_code == 200
        assert_graph_headers(response)


class TestWriteThrottling:
    def test_write_quota_per_app_and_tenant(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        sandbox.configure(graph_writes_per_window=2, graph_write_window_seconds=60)
        graph = sandbox.graph(tenant)
        assert graph.post("/domains", json={"id": "a.example"}).status_code == 201
        assert graph.patch("/domains/a.example", json={}).status_code == 204
        throttled = graph.post("/domains", json={"id": "b.example"})
        retry_after = assert_throttled(throttled)
        assert re.fullmatch(r"\d+\.\d{3}", throttled.headers["Retry-After"])
        assert 0 < retry_after <= 60
        assert throttled.headers["x-ms-throttle-scope"] == (
            f"Tenant_Application/ReadWrite/{tenant.client_id}/{tenant.tenant_id}"
        )
        assert throttled.headers["x-ms-throttle-information"] == "WriteLimitExceeded"
        assert graph.get("/domains/b.example").status_code == 404  # the write never happened
        assert graph.get("/domains").status_code == 200  # reads are not writes
        other = sandbox.create_tenant()
        assert sandbox.graph(other).post("/domains", json={"id": "c.example"}).status_code == 201
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["throttled"]["graph_write"] == 1


class TestInjectedFaults:
    def _inject(self, sandbox: SandboxHarness, status: int, retry_after: float = 1.5) -> None:
        plan = {
            "rules": [
                {
                    "host": "graph",
                    "operation": "GET /users/{id}",
                    "error_rate": 1.0,
                    "error_statuses": [status],
                    "retry_after_seconds": retry_after,
                }
            ]
        }
        sandbox.http.put("/_sandbox/faults", json=plan).raise_for_status()

    def test_injected_429_keeps_fractional_retry_after(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        self._inject(sandbox, 429, 2.128)
        graph = sandbox.graph(tenant)
        response = graph.get("/users/anyone@nowhere.example")
        assert assert_throttled(response) == 2.128
        assert response.headers["Retry-After"] == "2.128"
        assert graph.get("/users").status_code == 200  # other operations are unaffected
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["injected_faults"]["graph:GET /users/{id}"] == 1

    @pytest.mark.parametrize(
        ("status", "code", "retry_after"),
        [
            (503, "serviceNotAvailable", "1.5"),
            (504, "gatewayTimeout", "1.5"),
            (500, "generalException", None),
        ],
    )
    def test_injected_service_errors(
        self,
        sandbox: SandboxHarness,
        tenant: SandboxTenant,
        status: int,
        code: str,
        retry_after: str | None,
    ) -> None:
        self._inject(sandbox, status)
        response = sandbox.graph(tenant).get("/users/anyone@nowhere.example")
        assert_graph_error(response, status, code)
        assert response.headers.get("Retry-After") == retry_after


class TestRouting:
    def test_unknown_segment(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(
            sandbox.graph(tenant).get("/groupz"),
            400,
            "BadRequest",
            "Resource not found for the segment 'groupz'.",
        )

    def test_method_not_allowed(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(sandbox.graph(tenant).put("/users", json={}), 405, "Request_BadRequest")

    def test_unknown_paths_still_need_a_token(self, sandbox: SandboxHarness) -> None:
        assert_graph_error(_raw(sandbox, None).get("/groupz"), 401, "InvalidAuthenticationToken")
