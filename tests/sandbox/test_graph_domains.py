"""Graph `/domains`: add, read, verification records, verify against sandbox DNS, update, delete."""

from __future__ import annotations

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    assert_graph_error,
    create_user,
    seed_exchange_user,
    seed_mailbox,
    verify_domain,
)

DOMAIN = "outreach-example.com"


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _code(sandbox: SandboxHarness, tenant: SandboxTenant, name: str) -> str:
    records = sandbox.graph(tenant).get(f"/domains/{name}/verificationDnsRecords").json()["value"]
    return str(next(r["text"] for r in records if r["recordType"] == "Txt")).removeprefix("MS=")


class TestCreateAndRead:
    def test_new_domain_is_unverified_and_listed(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        response = graph.post("/domains", json={"id": "Outreach-Example.com"})
        assert response.status_code == 201
        body = response.json()
        assert body["@odata.context"] == (
            "https://graph.microsoft.com/v1.0/$metadata#domains/$entity"
        )
        assert body["id"] == DOMAIN
        assert body["isVerified"] is False
        assert body["supportedServices"] == []
        assert body["availabilityStatus"] is None
        assert body["isRoot"] is True
        assert body["isInitial"] is False
        assert graph.get(f"/domains/{DOMAIN.upper()}").json()["id"] == DOMAIN
        listed = graph.get("/domains").json()
        assert listed["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#domains"
        by_id = {d["id"]: d for d in listed["value"]}
        assert set(by_id) == {DOMAIN, tenant.initial_domain}
        initial = by_id[tenant.initial_domain]
        assert initial["isInitial"] is initial["isDefault"] is initial["isVerified"] is True

    def test_duplicate_is_object_conflict(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        message = "Another object with the same value for property id already exists."
        error = assert_graph_error(
            graph.post("/domains", json={"id": DOMAIN}), 400, "Request_BadRequest", message
        )
        assert error["details"] == [{"code": "ObjectConflict", "message": message, "target": "id"}]

    @pytest.mark.parametrize("name", ["not a domain", "nodot", "x.onmicrosoft.com", ""])
    def test_invalid_name(self, sandbox: SandboxHarness, tenant: SandboxTenant, name: str) -> None:
        assert_graph_error(
            sandbox.graph(tenant).post("/domains", json={"id": name}),
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'id' of resource 'Domain'.",
        )

    def test_only_id_is_settable(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(
            sandbox.graph(tenant).post("/domains", json={"id": DOMAIN, "isVerified": True}),
            400,
            "BadRequest",
        )

    def test_unknown_domain_is_404(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(
            sandbox.graph(tenant).get("/domains/nowhere.example"),
            404,
            "Request_ResourceNotFound",
            "Resource 'nowhere.example' does not exist or one of its queried reference-property"
            " objects are not present.",
        )

    def test_verification_records(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        body = graph.get(f"/domains/{DOMAIN}/verificationDnsRecords").json()
        assert body["@odata.context"] == (
            f"https://graph.microsoft.com/v1.0/$metadata#domains('{DOMAIN}')/verificationDnsRecords"
        )
        txt, mx = body["value"]
        code = txt["text"].removeprefix("MS=")
        assert code.startswith("ms")
        assert code[2:].isdigit()
        assert txt["@odata.type"] == "#microsoft.graph.domainDnsTxtRecord"
        assert (txt["recordType"], txt["label"], txt["ttl"]) == ("Txt", DOMAIN, 3600)
        assert mx["@odata.type"] == "#microsoft.graph.domainDnsMxRecord"
        assert mx["mailExchange"] == f"{code}.msv1.invalid"
        assert mx["preference"] == 32767
        again = graph.get(f"/domains/{DOMAIN}/verificationDnsRecords").json()
        assert again == body  # stable ids and values


class TestVerify:
    def test_fails_without_the_record(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        sandbox.publish_dns(DOMAIN, [{"type": "TXT", "name": "@", "value": "MS=ms00000000"}])
        error = assert_graph_error(
            graph.post(f"/domains/{DOMAIN}/verify"), 400, "Request_BadRequest"
        )
        assert error["message"].startswith("Domain verification failed with the following error: ")
        assert graph.get(f"/domains/{DOMAIN}").json()["isVerified"] is False

    def test_txt_record_verifies(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        code = _code(sandbox, tenant, DOMAIN)
        sandbox.publish_dns(
            DOMAIN,
            [
                {"type": "TXT", "name": "@", "value": "v=spf1 -all"},
                {"type": "TXT", "name": "@", "value": f"MS={code}"},
            ],
        )
        response = graph.post(f"/domains/{DOMAIN}/verify")
        assert response.status_code == 200
        body = response.json()
        assert body["isVerified"] is True
        assert body["availabilityStatus"] == "AvailableImmediately"
        assert graph.get(f"/domains/{DOMAIN}").json()["availabilityStatus"] is None
        assert_graph_error(
            graph.post(f"/domains/{DOMAIN}/verify"),
            400,
            "Request_BadRequest",
            "Domain is already verified.",
        )

    def test_mx_record_verifies(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        code = _code(sandbox, tenant, DOMAIN)
        sandbox.publish_dns(
            DOMAIN,
            [{"type": "MX", "name": "@", "value": f"{code}.msv1.invalid.", "preference": 32767}],
        )
        assert graph.post(f"/domains/{DOMAIN}/verify").json()["isVerified"] is True

    def test_record_on_a_subdomain_label_does_not_count(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        code = _code(sandbox, tenant, DOMAIN)
        sandbox.publish_dns(DOMAIN, [{"type": "TXT", "name": "www", "value": f"MS={code}"}])
        assert graph.post(f"/domains/{DOMAIN}/verify").status_code == 400

    def test_domain_verified_elsewhere_cannot_be_verified(self, sandbox: SandboxHarness) -> None:
        owner, other = sandbox.create_tenant(), sandbox.create_tenant()
        verify_domain(sandbox, sandbox.graph(owner), DOMAIN)
        graph = sandbox.graph(other)
        assert graph.post("/domains", json={"id": DOMAIN}).status_code == 201
        code = _code(sandbox, other, DOMAIN)
        sandbox.publish_dns(DOMAIN, [{"type": "TXT", "name": "@", "value": f"MS={code}"}])
        error = assert_graph_error(
            graph.post(f"/domains/{DOMAIN}/verify"), 400, "Request_BadRequest"
        )
        assert error["message"].startswith("Domain verification failed with the following error: ")
        assert "another organization" in error["message"]

    def test_subdomain_of_a_verified_domain_is_verified(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, DOMAIN)
        body = graph.post("/domains", json={"id": f"mail.{DOMAIN}"}).json()
        assert body["isVerified"] is True
        assert body["isRoot"] is False


class TestUpdate:
    def test_supported_services_only_on_verified_domains(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        graph.post("/domains", json={"id": DOMAIN})
        assert_graph_error(
            graph.patch(f"/domains/{DOMAIN}", json={"supportedServices": ["Email"]}),
            400,
            "Request_BadRequest",
        )
        code = _code(sandbox, tenant, DOMAIN)
        sandbox.publish_dns(DOMAIN, [{"type": "TXT", "value": f"MS={code}"}])
        graph.post(f"/domains/{DOMAIN}/verify")
        response = graph.patch(f"/domains/{DOMAIN}", json={"supportedServices": ["Email"]})
        assert response.status_code == 204
        assert response.content == b""
        assert graph.get(f"/domains/{DOMAIN}").json()["supportedServices"] == ["Email"]

    def test_only_settable_services(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, DOMAIN)
        assert_graph_error(
            graph.patch(f"/domains/{DOMAIN}", json={"supportedServices": ["Sharepoint"]}),
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'supportedServices' of resource 'Domain'.",
        )
        assert_graph_error(
            graph.patch(f"/domains/{DOMAIN}", json={"supportedServices": "Email"}),
            400,
            "BadRequest",
        )
        assert (
            graph.patch(
                f"/domains/{DOMAIN}", json={"supportedServices": ["Email", "Yammer"]}
            ).status_code
            == 204
        )

    def test_service_configuration_records(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, DOMAIN)
        body = graph.get(f"/domains/{DOMAIN}/serviceConfigurationRecords").json()
        assert body["@odata.context"] == (
            f"https://graph.microsoft.com/v1.0/$metadata#domains('{DOMAIN}')"
            "/serviceConfigurationRecords"
        )
        by_type = {record["recordType"]: record for record in body["value"]}
        assert set(by_type) == {"Mx", "Txt", "CName"}
        assert by_type["Mx"]["mailExchange"] == "outreach-example-com.mail.protection.outlook.com"
        assert by_type["Mx"]["preference"] == 0
        assert by_type["Txt"]["text"] == "v=spf1 include:spf.protection.outlook.com -all"
        assert by_type["CName"]["label"] == f"autodiscover.{DOMAIN}"
        assert by_type["CName"]["canonicalName"] == "autodiscover.outlook.com"
        assert by_type["CName"]["@odata.type"] == "#microsoft.graph.domainDnsCnameRecord"
        assert {record["supportedService"] for record in body["value"]} == {"Email"}


class TestDelete:
    def test_delete_unused_domain(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, DOMAIN)
        response = graph.delete(f"/domains/{DOMAIN}")
        assert response.status_code == 204
        assert graph.get(f"/domains/{DOMAIN}").status_code == 404

    def test_refused_while_a_user_or_mailbox_uses_it(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, DOMAIN)
        user = create_user(graph, f"sdr@{DOMAIN}")
        assert_graph_error(graph.delete(f"/domains/{DOMAIN}"), 400, "Request_BadRequest")
        graph.patch(
            f"/users/{user['id']}", json={"userPrincipalName": f"sdr@{tenant.initial_domain}"}
        )
        owner = seed_exchange_user(sandbox, tenant, f"box@{tenant.initial_domain}")
        seed_mailbox(sandbox, tenant, owner, [f"box@{tenant.initial_domain}", f"box@{DOMAIN}"])
        assert_graph_error(graph.delete(f"/domains/{DOMAIN}"), 400, "Request_BadRequest")
        assert graph.get(f"/domains/{DOMAIN}").status_code == 200

    def test_initial_domain_cannot_be_deleted(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        assert_graph_error(
            sandbox.graph(tenant).delete(f"/domains/{tenant.initial_domain}"),
            400,
            "Request_BadRequest",
            "The initial domain of the organization cannot be deleted.",
        )


def test_domain_calls_need_a_domain_role(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant(graph_roles=["User.ReadWrite.All"])
    graph = sandbox.graph(tenant)
    for response in (graph.get("/domains"), graph.post("/domains", json={"id": DOMAIN})):
        assert_graph_error(
            response,
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
