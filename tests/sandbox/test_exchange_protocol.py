"""InvokeCommand's protocol: auth, tenant naming, binding errors, paging, $select, throttling."""

from __future__ import annotations

import threading
from collections import Counter

import httpx2

from tests.conftest import EXCHANGE_SCOPE, GRAPH_SCOPE, SandboxHarness
from tests.sandbox.test_exchange_support import (
    add_domain,
    cause,
    new_shared_mailbox,
    plain,
    rows,
    values,
)

ORG = "Get-OrganizationConfig"


def _post(harness: SandboxHarness, url: str, token: str, body: object) -> httpx2.Response:
    return harness.http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


class TestAuthentication:
    def test_missing_token_is_401_with_bearer_challenge(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.http.post(
            f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
            json={"CmdletInput": {"CmdletName": ORG, "Parameters": {}}},
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]

    def test_graph_token_is_refused(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = _post(
            sandbox,
            f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
            sandbox.token(tenant, GRAPH_SCOPE),
            {"CmdletInput": {"CmdletName": ORG}},
        )
        assert response.status_code == 401
        assert "audience" in response.headers["x-ms-diagnostics"]

    def test_token_of_another_tenant_is_refused(self, sandbox: SandboxHarness) -> None:
        first = sandbox.create_tenant()
        second = sandbox.create_tenant()
        response = _post(
            sandbox,
            f"/adminapi/beta/{second.tenant_id}/InvokeCommand",
            sandbox.token(first, EXCHANGE_SCOPE),
            {"CmdletInput": {"CmdletName": ORG}},
        )
        assert response.status_code == 401

    def test_expired_token_is_refused(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)
        sandbox.advance_clock(3600)
        response = sandbox.invoke(client, ORG)
        assert response.status_code == 401
        assert "expired" in response.headers["x-ms-diagnostics"]

    def test_missing_role_is_403_with_nul_body(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant(exchange_roles=[])
        response = sandbox.invoke(sandbox.exchange(tenant), ORG)
        assert response.status_code == 403
        assert response.content
        assert set(response.content) == {0}

    def test_tenant_may_be_named_by_initial_or_verified_domain(
        self, sandbox: SandboxHarness
    ) -> None:
        tenant = sandbox.create_tenant()
        add_domain(sandbox, tenant, "contoso.example")
        token = sandbox.token(tenant, EXCHANGE_SCOPE)
        body = {"CmdletInput": {"CmdletName": ORG, "Parameters": {}}}
        for ref in (tenant.initial_domain, "Contoso.Example", tenant.tenant_id.upper()):
            response = _post(sandbox, f"/adminapi/beta/{ref}/InvokeCommand", token, body)
            assert plain(values(response)[0])["Name"] == tenant.initial_domain, ref
        unverified = sandbox.create_tenant()
        add_domain(sandbox, unverified, "pending.example", verified=False)
        response = _post(
            sandbox,
            "/adminapi/beta/pending.example/InvokeCommand",
            sandbox.token(unverified, EXCHANGE_SCOPE),
            body,
        )
        assert response.status_code == 401

    def test_only_beta_answers(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = _post(
            sandbox,
            f"/adminapi/v1.0/{tenant.tenant_id}/InvokeCommand",
            sandbox.token(tenant, EXCHANGE_SCOPE),
            {"CmdletInput": {"CmdletName": ORG}},
        )
        assert response.status_code == 405


ISSUE_CMDLETS = (
    "Get-OrganizationConfig",
    "Enable-OrganizationCustomization",
    "Get-TransportConfig",
    "Set-TransportConfig",
    "New-Mailbox",
    "Get-Mailbox",
    "Set-Mailbox",
    "Remove-Mailbox",
    "Get-CASMailbox",
    "Set-CASMailbox",
    *(f"{verb}-DistributionGroup" for verb in ("New", "Get", "Set", "Remove")),
    *(f"{verb}-DistributionGroupMember" for verb in ("Add", "Remove", "Get")),
    *(f"{verb}-TransportRule" for verb in ("New", "Get", "Set", "Remove")),
    *(f"{verb}-HostedOutboundSpamFilterPolicy" for verb in ("New", "Get", "Set", "Remove")),
    *(f"{verb}-HostedOutboundSpamFilterRule" for verb in ("New", "Get", "Set", "Remove")),
    "Get-BlockedSenderAddress",
    "Remove-BlockedSenderAddress",
    "Get-AcceptedDomain",
    "Get-MessageTraceV2",
)


class TestBinding:
    def test_every_cmdlet_of_the_issue_is_answered(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        for cmdlet in ISSUE_CMDLETS:
            response = sandbox.invoke(client, cmdlet)
            assert response.status_code in (200, 400, 404), cmdlet
            assert response.json()["error" if response.status_code != 200 else "value"] is not None

    def test_names_are_case_insensitive(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)
        response = client.post(
            "/InvokeCommand",
            json={
                "cmdletinput": {
                    "cmdletname": "get-acceptedDOMAIN",
                    "parameters": {"identity": tenant.initial_domain},
                }
            },
        )
        assert plain(values(response)[0])["DomainName"] == tenant.initial_domain

    def test_unknown_cmdlet_is_403_with_nul_body(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        response = sandbox.invoke(client, "Get-Nonsense")
        assert response.status_code == 403
        assert response.headers["content-encoding"] == "gzip"
        assert set(response.content) == {0}

    def test_unknown_parameter_names_it(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        response = sandbox.invoke(client, "Get-Mailbox", BogusParameter=1)
        assert response.status_code == 400
        exception_type, message = cause(response)
        assert exception_type.endswith("AmbiguousParameterSetException")
        assert message.endswith("Invalid cmdlet parameters specified. BogusParameter")

    def test_missing_mandatory_parameter(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        response = sandbox.invoke(client, "Set-Mailbox", DisplayName="x")
        assert response.status_code == 400
        assert cause(response)[1].endswith("missing mandatory parameters: Identity.")

    def test_bad_enum_lists_the_names(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        response = sandbox.invoke(
            client,
            "New-HostedOutboundSpamFilterPolicy",
            Name="p",
            ActionWhenThresholdReached="Nope",
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert "details" not in error
        exception_type, message = cause(response)
        assert exception_type.endswith("ParameterTransformationException")
        assert "'ActionWhenThresholdReached'" in message
        assert "Alert, BlockUserForToday, BlockUser" in message

    def test_wrong_value_type_and_range(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        not_a_number = sandbox.invoke(
            client, "New-HostedOutboundSpamFilterPolicy", Name="p", RecipientLimitPerDay="many"
        )
        assert not_a_number.status_code == 400
        assert "Input string was not in a correct format" in cause(not_a_number)[1]
        too_big = sandbox.invoke(
            client, "New-HostedOutboundSpamFilterPolicy", Name="p", RecipientLimitPerDay=20000
        )
        assert too_big.status_code == 400
        assert "maximum allowed range of 10000" in cause(too_big)[1]

    def test_malformed_body_is_400(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        garbage = client.post("/InvokeCommand", content=b"{not json")
        assert garbage.status_code == 400
        no_name = client.post("/InvokeCommand", json={"CmdletInput": {"Parameters": {}}})
        assert no_name.status_code == 400

    def test_common_parameters_are_accepted(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        response = sandbox.invoke(client, ORG, Confirm=False, ErrorAction="Stop")
        assert response.status_code == 200


class TestSelectAndPaging:
    def test_select_projects_properties_with_their_annotations(
        self, sandbox: SandboxHarness
    ) -> None:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)
        new_shared_mailbox(sandbox, client, f"a@{tenant.initial_domain}")
        response = client.post(
            "/InvokeCommand?$select=guid,PrimarySmtpAddress,EmailAddresses",
            json={"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}},
        )
        assert values(response)[0].keys() == {
            "Guid@data.type",
            "Guid@odata.type",
            "Guid",
            "PrimarySmtpAddress",
            "EmailAddresses@odata.type",
            "EmailAddresses",
        }

    def _three_mailboxes(self, sandbox: SandboxHarness) -> tuple[httpx2.Client, str]:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)
        for local in ("a", "b", "c"):
            new_shared_mailbox(sandbox, client, f"{local}@{tenant.initial_domain}")
        return client, tenant.initial_domain

    def test_pages_follow_next_link_with_post(self, sandbox: SandboxHarness) -> None:
        client, domain = self._three_mailboxes(sandbox)
        body = {"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}}
        headers = {"Prefer": "odata.maxpagesize=2"}
        first = client.post("/InvokeCommand?$select=PrimarySmtpAddress", json=body, headers=headers)
        assert len(values(first)) == 2
        next_link = first.json()["@odata.nextLink"]
        assert next_link.startswith(f"{sandbox.url}/adminapi/beta/")
        assert "/InvokeCommand?$skiptoken=" in next_link
        second = client.post(next_link, json=body, headers=headers)
        assert "@odata.nextLink" not in second.json()
        addresses = [row["PrimarySmtpAddress"] for row in values(first) + values(second)]
        assert addresses == [f"{x}@{domain}" for x in ("a", "b", "c")]
        assert values(second)[0].keys() == {"PrimarySmtpAddress"}

    def test_pages_follow_next_link_with_get(self, sandbox: SandboxHarness) -> None:
        client, _ = self._three_mailboxes(sandbox)
        first = client.post(
            "/InvokeCommand",
            json={"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}},
            headers={"Prefer": "odata.maxpagesize = 1;odata.continue-on-error"},
        )
        seen = [values(first)[0]["Guid"]]
        link = first.json().get("@odata.nextLink")
        while link:
            page = client.get(link, headers={"Prefer": "odata.maxpagesize=1"})
            seen += [row["Guid"] for row in values(page)]
            link = page.json().get("@odata.nextLink")
        assert len(set(seen)) == 3

    def test_skiptoken_is_bound_to_the_tenant(self, sandbox: SandboxHarness) -> None:
        client, _ = self._three_mailboxes(sandbox)
        first = client.post(
            "/InvokeCommand",
            json={"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}},
            headers={"Prefer": "odata.maxpagesize=1"},
        )
        token = first.json()["@odata.nextLink"].split("$skiptoken=")[1]
        other = sandbox.create_tenant()
        stolen = sandbox.exchange(other).get(f"/InvokeCommand?$skiptoken={token}")
        assert stolen.status_code == 400
        assert client.get("/InvokeCommand?$skiptoken=bogus").status_code == 400


class TestHeaders:
    def test_success_headers(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        response = sandbox.invoke(sandbox.exchange(tenant), ORG)
        assert response.headers["content-type"] == (
            "application/json;odata.metadata=minimal;odata.streaming=true;"
            "IEEE754Compatible=false;charset=utf-8"
        )
        assert response.headers["odata-version"] == "4.0"
        assert response.headers["rate-limit-limit"] == "30000"
        assert int(response.headers["rate-limit-remaining"]) < 30000
        assert response.headers["rate-limit-reset"].endswith("Z")
        assert response.headers["x-concurrencycount"] == "0"
        assert len(response.headers["request-id"]) == 36
        assert response.headers["x-ms-appid"] == tenant.client_id


class TestThrottling:
    def test_concurrent_requests_over_the_cap_get_429(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        token = sandbox.token(tenant, EXCHANGE_SCOPE)
        sandbox.http.put(
            "/_sandbox/faults",
            json={"rules": [{"host": "exchange", "operation": ORG, "latency_ms": 400}]},
        ).raise_for_status()
        sandbox.http.delete("/_sandbox/counters").raise_for_status()
        workers = 7
        barrier = threading.Barrier(workers)
        results: list[httpx2.Response] = []

        def call() -> None:
            with httpx2.Client(base_url=sandbox.url, timeout=30) as http:
                barrier.wait()
                results.append(
                    http.post(
                        f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
                        json={"CmdletInput": {"CmdletName": ORG, "Parameters": {}}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                )

        threads = [threading.Thread(target=call) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = Counter(response.status_code for response in results)
        assert statuses[200] >= 3
        assert statuses[429] >= 1
        assert statuses[200] + statuses[429] == workers
        rejected = next(r for r in results if r.status_code == 429)
        assert rejected.text == (
            "You have reached the maximum number of concurrent requests per tenant. Please wait"
            " and try again."
        )
        assert "retry-after" in rejected.headers
        counters = sandbox.http.get("/_sandbox/counters").json()
        assert counters["exchange_peak_concurrency"][tenant.tenant_id] > 3
        assert counters["calls"][f"exchange:{ORG}"] == statuses[200]

    def test_injected_faults_carry_retry_after(self, sandbox: SandboxHarness) -> None:
        client = sandbox.exchange(sandbox.create_tenant())
        for status in (429, 503):
            sandbox.http.put(
                "/_sandbox/faults",
                json={
                    "rules": [
                        {
                            "host": "exchange",
                            "operation": "get-*",
                            "error_rate": 1,
                            "error_statuses": [status],
                            "retry_after_seconds": 2.5,
                        }
                    ]
                },
            ).raise_for_status()
            response = sandbox.invoke(client, ORG)
            assert response.status_code == status
            assert response.headers["retry-after"] == "2.5"
        assert response.headers["content-type"].startswith("text/html")

    def test_after_phase_fault_applies_the_cmdlet(self, sandbox: SandboxHarness) -> None:
        tenant = sandbox.create_tenant()
        client = sandbox.exchange(tenant)
        sandbox.http.put(
            "/_sandbox/faults",
            json={
                "rules": [
                    {
                        "host": "exchange",
                        "operation": "New-Mailbox",
                        "error_rate": 1,
                        "error_statuses": [503],
                        "phase": "after",
                    }
                ]
            },
        ).raise_for_status()
        response = sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="lost",
            PrimarySmtpAddress=f"lost@{tenant.initial_domain}",
        )
        assert response.status_code == 503
        assert rows(sandbox, "SELECT name FROM mailbox WHERE name = 'lost'")
