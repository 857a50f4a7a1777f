"""The identity platform emulation: discovery, client-credentials tokens, AADSTS errors."""

from __future__ import annotations

import base64
import json

from tests.conftest import EXCHANGE_SCOPE, GRAPH_SCOPE, SandboxHarness


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class TestTokenEndpoint:
    def test_issues_separate_tokens_per_resource(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        graph = _claims(sandbox.token(tenant, GRAPH_SCOPE))
        exchange = _claims(sandbox.token(tenant, EXCHANGE_SCOPE))
        assert graph["aud"] == "https://graph.microsoft.com"
        assert exchange["aud"] == "https://outlook.office365.com"
        assert graph["tid"] == exchange["tid"] == tenant.tenant_id
        assert "Exchange.ManageAsApp" in exchange["roles"]  # type: ignore[operator]
        assert "User.ReadWrite.All" in graph["roles"]  # type: ignore[operator]
        assert int(graph["exp"]) - int(graph["iat"]) == 3599  # type: ignore[call-overload]

    def test_tenant_may_be_named_by_initial_domain(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.initial_domain}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": GRAPH_SCOPE,
            },
        )
        assert response.status_code == 200
        assert response.json()["token_type"] == "Bearer"
        assert response.json()["expires_in"] == 3599

    def test_wrong_secret_is_aadsts7000215(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": "nope",
                "scope": GRAPH_SCOPE,
            },
        )
        assert response.status_code == 401
        body = response.json()
        assert body["error"] == "invalid_client"
        assert body["error_codes"] == [7000215]
        assert body["error_description"].startswith("AADSTS7000215: Invalid client secret")
        assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()

    def test_bad_scope_is_aadsts70011(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": "https://foo.microsoft.com/.default",
            },
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"
        assert response.json()["error_codes"] == [70011]

    def test_two_resources_in_one_request_fail(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": f"{GRAPH_SCOPE} {EXCHANGE_SCOPE}",
            },
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"

    def test_unknown_tenant_is_aadsts90002(self, sandbox: SandboxHarness) -> None:
        response = sandbox.http.post(
            "/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "x",
                "client_secret": "y",
                "scope": GRAPH_SCOPE,
            },
        )
        assert response.status_code == 400
        assert response.json()["error_codes"] == [90002]
        discovery = sandbox.http.get(
            "/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration"
        )
        assert discovery.status_code == 400
        assert discovery.json()["error_codes"] == [90002]

    def test_app_not_consented_in_tenant_is_aadsts700016(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "other-app",
                "client_secret": "y",
                "scope": GRAPH_SCOPE,
            },
        )
        assert response.status_code == 400
        assert response.json()["error"] == "unauthorized_client"
        assert response.json()["error_codes"] == [700016]

    def test_secret_in_basic_auth_header_is_accepted(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE},
            auth=(tenant.client_id, tenant.client_secret),
        )
        assert response.status_code == 200

    def test_openid_configuration_points_at_this_host(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.get(f"/{tenant.tenant_id}/v2.0/.well-known/openid-configuration")
        assert response.status_code == 200
        body = response.json()
        assert body["token_endpoint"] == f"{sandbox.url}/{tenant.tenant_id}/oauth2/v2.0/token"
        assert body["authorization_endpoint"].startswith(sandbox.url)
        assert body["issuer"] == f"{sandbox.url}/{tenant.tenant_id}/v2.0"
