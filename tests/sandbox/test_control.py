"""The sandbox's control API: tenants, DNS zones, faults, config, counters, clock, routing."""

from __future__ import annotations

import uuid

from tests.conftest import GRAPH_SCOPE, SandboxHarness


class TestTenants:
    def test_create_is_idempotent_and_attaches(self, sandbox: SandboxHarness) -> None:
        tenant_id = str(uuid.uuid4())
        body = {
            "tenant_id": tenant_id,
            "display_name": "Acme Corp",
            "initial_domain": "acmecorp.onmicrosoft.com",
            "client_id": "app-1",
            "client_secret": "secret-1",
        }
        first = sandbox.http.post("/_sandbox/tenants", json=body)
        assert first.status_code == 201
        assert first.json()["initial_domain"] == "acmecorp.onmicrosoft.com"
        assert first.json()["dehydrated"] is True
        assert first.json()["smtp_auth_disabled"] is True
        again = sandbox.http.post("/_sandbox/tenants", json=body)
        assert again.status_code == 200
        assert again.json()["tenant_id"] == tenant_id
        listed = sandbox.http.get("/_sandbox/tenants").json()["tenants"]
        assert [t["tenant_id"] for t in listed] == [tenant_id]

    def test_same_app_with_another_secret_is_refused(self, sandbox: SandboxHarness) -> None:
        sandbox.create_tenant(client_id="app-9", client_secret="one")
        response = sandbox.http.post(
            "/_sandbox/tenants",
            json={"client_id": "app-9", "client_secret": "two"},
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "app_secret_mismatch"

    def test_one_app_consented_in_many_tenants(self, sandbox: SandboxHarness) -> None:
        first = sandbox.create_tenant(client_id="shared-app", client_secret="s")
        second = sandbox.create_tenant(client_id="shared-app", client_secret="s")
        assert sandbox.token(first, GRAPH_SCOPE) != sandbox.token(second, GRAPH_SCOPE)

    def test_initial_domain_must_be_onmicrosoft(self, sandbox: SandboxHarness) -> None:
        response = sandbox.http.post(
            "/_sandbox/tenants",
            json={"initial_domain": "acme.com", "client_id": "a", "client_secret": "b"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"

    def test_initial_domain_is_unique(self, sandbox: SandboxHarness) -> None:
        body = {"initial_domain": "dup.onmicrosoft.com", "client_id": "a", "client_secret": "b"}
        assert sandbox.http.post("/_sandbox/tenants", json=body).status_code == 201
        clash = sandbox.http.post("/_sandbox/tenants", json=body)
        assert clash.status_code == 409
        assert clash.json()["error"]["code"] == "initial_domain_taken"

    def test_delete_removes_tenant(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        assert sandbox.http.delete(f"/_sandbox/tenants/{tenant.tenant_id}").status_code == 204
        assert sandbox.http.get(f"/_sandbox/tenants/{tenant.tenant_id}").status_code == 404
        assert sandbox.http.delete(f"/_sandbox/tenants/{tenant.tenant_id}").status_code == 404


class TestDns:
    def test_zone_is_replaced_as_a_whole(self, sandbox: SandboxHarness) -> None:
        sandbox.publish_dns("Mail.Acme.com", [{"type": "TXT", "value": "MS=ms1"}])
        sandbox.publish_dns(
            "mail.acme.com",
            [
                {
                    "type": "mx",
                    "name": "@",
                    "value": "x.mail.protection.outlook.com",
                    "preference": 0,
                },
                {"type": "TXT", "name": "_dmarc", "value": "v=DMARC1; p=none"},
            ],
        )
        zone = sandbox.http.get("/_sandbox/dns/mail.acme.com").json()
        assert zone["domain"] == "mail.acme.com"
        assert [(r["type"], r["name"]) for r in zone["records"]] == [("MX", "@"), ("TXT", "_dmarc")]

    def test_bad_records_are_rejected(self, sandbox: SandboxHarness) -> None:
        bad_type = sandbox.http.put(
            "/_sandbox/dns/acme.com", json={"records": [{"type": "NOPE", "value": "x"}]}
        )
        assert bad_type.status_code == 400
        bad_domain = sandbox.http.put("/_sandbox/dns/not_a_domain", json={"records": []})
        assert bad_domain.status_code == 400
        assert bad_domain.json()["error"]["code"] == "invalid_domain"


class TestClockConfigFaultsCounters:
    def test_clock_only_moves_forward(self, sandbox: SandboxHarness) -> None:
        before = sandbox.http.get("/_sandbox/clock").json()
        after = sandbox.http.post("/_sandbox/clock", json={"advance_seconds": 86400}).json()
        assert after["offset_seconds"] - before["offset_seconds"] == 86400
        assert after["now"] > before["now"]
        backwards = sandbox.http.post("/_sandbox/clock", json={"advance_seconds": -1})
        assert backwards.status_code == 400

    def test_config_patch_validates(self, sandbox: SandboxHarness) -> None:
        changed = sandbox.configure(exchange_max_concurrency=5)
        assert changed["exchange_max_concurrency"] == 5
        assert sandbox.http.get("/_sandbox/config").json()["exchange_max_concurrency"] == 5
        bad = sandbox.http.patch("/_sandbox/config", json={"exchange_max_concurrency": 0})
        assert bad.status_code == 400
        unknown = sandbox.http.patch("/_sandbox/config", json={"no_such_setting": 1})
        assert unknown.status_code == 400

    def test_injected_login_fault_and_counters(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        plan = {
            "rules": [
                {
                    "host": "login",
                    "operation": "token",
                    "error_rate": 1.0,
                    "error_statuses": [429],
                    "retry_after_seconds": 2.5,
                }
            ]
        }
        assert sandbox.http.put("/_sandbox/faults", json=plan).status_code == 200
        response = sandbox.http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": tenant.client_id,
                "client_secret": tenant.client_secret,
                "scope": GRAPH_SCOPE,
            },
        )
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "2.5"
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["calls"]["login:token"] == 1
        assert counters["injected_faults"]["login:token"] == 1
        assert sandbox.http.delete("/_sandbox/faults").status_code == 204
        assert sandbox.token(tenant, GRAPH_SCOPE)
        assert sandbox.http.delete("/_sandbox/counters").status_code == 204
        assert sandbox.http.get("/_sandbox/counters").json()["calls"] == {}

    def test_fault_plan_is_validated(self, sandbox: SandboxHarness) -> None:
        response = sandbox.http.put(
            "/_sandbox/faults", json={"rules": [{"host": "nowhere", "error_rate": 2}]}
        )
        assert response.status_code == 400

    def test_ca_certificate_is_served(self, sandbox: SandboxHarness) -> None:
        response = sandbox.http.get("/_sandbox/tls/ca.pem")
        assert response.status_code == 200
        assert response.text.startswith("-----BEGIN CERTIFICATE-----")


class TestHostRouting:
    def test_microsoft_host_header_restricts_routes(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        path = f"/{tenant.tenant_id}/v2.0/.well-known/openid-configuration"
        assert sandbox.http.get(path).status_code == 200
        login = sandbox.http.get(path, headers={"Host": "login.microsoftonline.com"})
        assert login.status_code == 200
        assert login.json()["issuer"].startswith("http://login.microsoftonline.com/")
        elsewhere = sandbox.http.get(path, headers={"Host": "graph.microsoft.com"})
        assert elsewhere.status_code == 404
        control = sandbox.http.get("/_sandbox/health", headers={"Host": "graph.microsoft.com"})
        assert control.status_code == 404


class TestAfterPhaseFaults:
    def test_change_applies_but_the_response_is_lost(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        plan = {
            "rules": [
                {
                    "host": "graph",
                    "operation": "POST /users",
                    "error_rate": 1.0,
                    "error_statuses": [503],
                    "phase": "after",
                }
            ]
        }
        assert sandbox.http.put("/_sandbox/faults", json=plan).status_code == 200
        upn = f"lost@{tenant.initial_domain}"
        with sandbox.graph(tenant) as graph:
            response = graph.post(
                "/users",
                json={
                    "accountEnabled": False,
                    "displayName": "Lost",
                    "mailNickname": "lost",
                    "userPrincipalName": upn,
                    "passwordProfile": {"password": "Aa1!aaaaaa"},
                },
            )
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "serviceNotAvailable"
            sandbox.http.delete("/_sandbox/faults").raise_for_status()
            assert graph.get(f"/users/{upn}").status_code == 200
