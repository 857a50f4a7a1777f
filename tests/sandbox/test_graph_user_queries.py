"""Graph `GET /users` query options: paging, $filter, advanced queries, $count, $orderby, $search."""

from __future__ import annotations

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    ADVANCED,
    assert_graph_error,
    create_user,
    seed_exchange_user,
    seed_mailbox,
    verify_domain,
)


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _upn(tenant: SandboxTenant, alias: str) -> str:
    return f"{alias}@{tenant.initial_domain}"


class TestList:
    def test_paging_follows_next_link_verbatim(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        created = {create_user(graph, _upn(tenant, f"p{n}"))["id"] for n in range(5)}
        seen: list[str] = []
        response = graph.get("/users", params={"$top": "2", "$select": "id"})
        pages = 0
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            seen += [user["id"] for user in body["value"]]
            assert all(set(user) == {"id"} for user in body["value"])
            if "@odata.nextLink" not in body:
                break
            assert "$skiptoken=" in body["@odata.nextLink"]
            response = graph.get(body["@odata.nextLink"])
        assert pages == 3
        assert sorted(seen) == sorted(created)

    def test_top_bounds(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        assert graph.get("/users", params={"$top": "999"}).status_code == 200
        for top in ("1000", "0", "x"):
            assert_graph_error(
                graph.get("/users", params={"$top": top}),
                400,
                "Request_BadRequest",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )

    def test_default_filters(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        ann = create_user(graph, _upn(tenant, "ann"), displayName="Ann Smith")
        create_user(graph, _upn(tenant, "bob"), displayName="Bob Jones", accountEnabled=False)

        def names(expression: str) -> list[str]:
            response = graph.get("/users", params={"$filter": expression})
            assert response.status_code == 200, (expression, response.text)
            return sorted(user["displayName"] for user in response.json()["value"])

        assert names(f"userPrincipalName eq '{_upn(tenant, 'ANN')}'") == ["Ann Smith"]
        assert names(f"id eq '{ann['id']}'") == ["Ann Smith"]
        assert names("startswith(displayName,'bob')") == ["Bob Jones"]
        assert names("accountEnabled eq false") == ["Bob Jones"]
        assert names("mailNickname in ('ann', 'bob')") == ["Ann Smith", "Bob Jones"]
        assert names("displayName eq 'Ann Smith' or mailNickname eq 'bob'") == [
            "Ann Smith",
            "Bob Jones",
        ]
        assert names("mail eq 'nobody@example.com'") == []

    def test_endswith_needs_both_advanced_parameters(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, "outreach-example.com")
        for alias in ("a", "b", "c"):
            create_user(graph, f"{alias}@outreach-example.com")
        create_user(graph, _upn(tenant, "other"))
        expression = "endswith(userPrincipalName,'@outreach-example.com')"
        message = (
            "Operator 'endsWith' is not supported because the required parameters might be"
            " missing. Try adding $count=true query parameter and ConsistencyLevel:eventual"
            " header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        )
        for params, headers in (
            ({"$filter": expression}, {}),
            ({"$filter": expression, "$count": "true"}, {}),
            ({"$filter": expression}, ADVANCED),
        ):
            assert_graph_error(
                graph.get("/users", params=params, headers=headers),
                400,
                "Request_UnsupportedQuery",
                message,
            )
        response = graph.get(
            "/users",
            params={"$filter": expression, "$count": "true", "$top": "2"},
            headers=ADVANCED,
        )
        body = response.json()
        assert body["@odata.count"] == 3
        assert len(body["value"]) == 2
        assert "@odata.nextLink" in body

    def test_negations_are_advanced(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        create_user(graph, _upn(tenant, "on"))
        create_user(graph, _upn(tenant, "off"), accountEnabled=False)
        for expression, operator in (
            ("accountEnabled ne true", "ne"),
            ("not(accountEnabled eq true)", "not"),
        ):
            error = assert_graph_error(
                graph.get("/users", params={"$filter": expression}),
                400,
                "Request_UnsupportedQuery",
            )
            assert error["message"].startswith(f"Operator '{operator}' is not supported")
            advanced = graph.get(
                "/users", params={"$filter": expression, "$count": "true"}, headers=ADVANCED
            ).json()
            assert [user["userPrincipalName"] for user in advanced["value"]] == [
                _upn(tenant, "off")
            ]

    def test_count_option_without_header_is_ignored(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        create_user(graph, _upn(tenant, "one"))
        body = graph.get("/users", params={"$count": "true"}).json()
        assert "@odata.count" not in body
        assert len(body["value"]) == 1

    def test_count_segment(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        create_user(graph, _upn(tenant, "one"))
        create_user(graph, _upn(tenant, "two"))
        assert_graph_error(
            graph.get("/users/$count"),
            400,
            "Request_BadRequest",
            "$count is not currently supported.",
        )
        counted = graph.get("/users/$count", headers=ADVANCED)
        assert counted.status_code == 200
        assert counted.headers["Content-Type"].startswith("text/plain")
        assert counted.text == "2"
        filtered = graph.get(
            "/users/$count", params={"$filter": "startswith(mailNickname,'tw')"}, headers=ADVANCED
        )
        assert filtered.text == "1"

    def test_unsupported_filters(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        assert_graph_error(
            graph.get("/users", params={"$filter": "passwordPolicies eq 'x'"}),
            400,
            "Request_UnsupportedQuery",
            "Unsupported or invalid query filter clause specified for property 'passwordPolicies'"
            " of resource 'User'.",
        )
        assert_graph_error(
            graph.get(
                "/users",
                params={"$filter": "endswith(displayName,'x')", "$count": "true"},
                headers=ADVANCED,
            ),
            400,
            "Request_UnsupportedQuery",
        )
        assert_graph_error(
            graph.get("/users", params={"$filter": "displayName eq"}), 400, "BadRequest"
        )
        assert_graph_error(graph.get("/users", params={"$skip": "1"}), 400, "Request_BadRequest")

    def test_proxy_address_lambda(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        upn = _upn(tenant, "shared")
        user_id = seed_exchange_user(sandbox, tenant, upn)
        seed_mailbox(sandbox, tenant, user_id, [upn, _upn(tenant, "alias")])
        graph = sandbox.graph(tenant)
        response = graph.get(
            "/users",
            params={"$filter": f"proxyAddresses/any(p:p eq 'smtp:{_upn(tenant, 'alias')}')"},
        )
        assert [u["id"] for u in response.json()["value"]] == [user_id]

    def test_orderby_and_search(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        for alias, name in (("z", "Zed Alpha"), ("m", "Mia Beta"), ("a", "Abe Gamma")):
            create_user(graph, _upn(tenant, alias), displayName=name)
        ordered = graph.get("/users", params={"$orderby": "displayName desc"}).json()
        assert [u["displayName"] for u in ordered["value"]] == [
            "Zed Alpha",
            "Mia Beta",
            "Abe Gamma",
        ]
        assert_graph_error(
            graph.get(
                "/users", params={"$orderby": "displayName", "$filter": "accountEnabled eq true"}
            ),
            400,
            "Request_UnsupportedQuery",
            "Sorting not supported for current query.",
        )
        assert_graph_error(
            graph.get("/users", params={"$search": '"displayName:beta"'}),
            400,
            "Request_UnsupportedQuery",
        )
        found = graph.get("/users", params={"$search": '"displayName:beta"'}, headers=ADVANCED)
        assert [u["displayName"] for u in found.json()["value"]] == ["Mia Beta"]
