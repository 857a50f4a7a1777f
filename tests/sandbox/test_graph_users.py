"""Graph `/users`: create, get, list with OData options, update, delete, replication lag."""

from __future__ import annotations

import pytest

from tenantcore.sandbox.passwords import verify_password
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    PASSWORD,
    assert_graph_error,
    core,
    create_user,
    seed_exchange_user,
    seed_mailbox,
    user_body,
    verify_domain,
)

COMPLEXITY = (
    "The specified password does not comply with password complexity requirements."
    " Please provide a different password."
)


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def _upn(tenant: SandboxTenant, alias: str) -> str:
    return f"{alias}@{tenant.initial_domain}"


class TestCreate:
    def test_returns_default_properties_and_stores_only_a_hash(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        response = graph.post("/users", json=user_body(_upn(tenant, "AdeleV"), givenName="Adele"))
        assert response.status_code == 201
        body = response.json()
        assert body["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
        assert body["userPrincipalName"] == _upn(tenant, "AdeleV")
        assert body["givenName"] == "Adele"
        assert body["mail"] is None  # no mailbox until Exchange makes one
        assert "accountEnabled" not in body  # not a default property
        row = core(sandbox).store.one("SELECT * FROM directory_user WHERE id = ?", (body["id"],))
        assert row is not None
        assert PASSWORD not in str(dict(row))
        assert verify_password(PASSWORD, row["password_hash"])

    @pytest.mark.parametrize("missing", ["accountEnabled", "displayName", "mailNickname"])
    def test_required_property_missing(
        self, sandbox: SandboxHarness, tenant: SandboxTenant, missing: str
    ) -> None:
        body = user_body(_upn(tenant, "a"))
        del body[missing]
        assert_graph_error(
            sandbox.graph(tenant).post("/users", json=body),
            400,
            "Request_BadRequest",
            f"Property {missing} value is required but is empty or missing.",
        )

    def test_password_is_required(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        body = user_body(_upn(tenant, "a"))
        del body["passwordProfile"]
        assert_graph_error(
            sandbox.graph(tenant).post("/users", json=body),
            400,
            "Request_BadRequest",
            "A password must be specified to create a new user.",
        )

    @pytest.mark.parametrize(
        "password", ["short1A", "alllowercase1", "NoDigitsOrSymbols", "Ünïcode-12"]
    )
    def test_password_complexity(
        self, sandbox: SandboxHarness, tenant: SandboxTenant, password: str
    ) -> None:
        body = user_body(_upn(tenant, "a"), passwordProfile={"password": password})
        error = assert_graph_error(
            sandbox.graph(tenant).post("/users", json=body), 400, "Request_BadRequest", COMPLEXITY
        )
        assert "details" not in error

    def test_duplicate_upn_is_object_conflict(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        create_user(graph, _upn(tenant, "dup"))
        message = (
            "Another object with the same value for property userPrincipalName already exists."
        )
        error = assert_graph_error(
            graph.post("/users", json=user_body(_upn(tenant, "DUP"))),
            400,
            "Request_BadRequest",
            message,
        )
        assert error["details"] == [
            {"code": "ObjectConflict", "message": message, "target": "userPrincipalName"}
        ]

    def test_upn_on_a_mailbox_address_is_a_conflict(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        owner = seed_exchange_user(sandbox, tenant, _upn(tenant, "owner"))
        seed_mailbox(sandbox, tenant, owner, [_upn(tenant, "owner"), _upn(tenant, "alias2")])
        error = assert_graph_error(
            sandbox.graph(tenant).post("/users", json=user_body(_upn(tenant, "alias2"))),
            400,
            "Request_BadRequest",
        )
        assert error["details"][0]["target"] == "proxyAddresses"

    def test_upn_domain_must_be_verified(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        assert graph.post("/domains", json={"id": "unverified.example"}).status_code == 201
        message = (
            "The domain portion of the userPrincipalName property is invalid. You must use one"
            " of the verified domain names in your organization."
        )
        for upn in ("a@unverified.example", "a@nowhere.example"):
            error = assert_graph_error(
                graph.post("/users", json=user_body(upn)), 400, "Request_BadRequest", message
            )
            assert error["details"][0]["code"] == "InvalidValue"
            assert error["details"][0]["target"] == "userPrincipalName"

    def test_custom_verified_domain_is_accepted(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        verify_domain(sandbox, graph, "outreach-example.com")
        user = create_user(graph, "sdr1@Outreach-Example.com")
        assert user["userPrincipalName"] == "sdr1@outreach-example.com"

    @pytest.mark.parametrize(
        "alias", ["has space", "semi;colon", "trailingdot.", ".leadingdot", "x" * 65, "a@b"]
    )
    def test_invalid_upn(self, sandbox: SandboxHarness, tenant: SandboxTenant, alias: str) -> None:
        error = assert_graph_error(
            sandbox.graph(tenant).post(
                "/users", json=user_body(_upn(tenant, alias), mailNickname="valid")
            ),
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
        )
        assert error["details"][0]["target"] == "userPrincipalName"

    def test_invalid_mail_nickname(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(
            sandbox.graph(tenant).post(
                "/users", json=user_body(_upn(tenant, "a"), mailNickname="bad nick@")
            ),
            400,
            "Request_BadRequest",
            "Invalid value specified for property 'mailNickname' of resource 'User'.",
        )

    def test_unknown_property_and_wrong_type(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        unknown = assert_graph_error(
            graph.post("/users", json=user_body(_upn(tenant, "a"), favouriteColour="red")),
            400,
            "BadRequest",
        )
        assert (
            "'favouriteColour' does not exist on type 'microsoft.graph.user'" in unknown["message"]
        )
        assert_graph_error(
            graph.post("/users", json=user_body(_upn(tenant, "a"), accountEnabled="yes")),
            400,
            "BadRequest",
            "Cannot convert the literal '\"yes\"' to the expected type 'Edm.Boolean'.",
        )
        assert_graph_error(
            graph.post(
                "/users", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            400,
            "BadRequest",
        )


class TestGet:
    def test_by_id_upn_and_key_syntax(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "kim"))
        for key in (user["id"], _upn(tenant, "KIM"), f"('{_upn(tenant, 'kim')}')"):
            path = f"/users{key}" if key.startswith("(") else f"/users/{key}"
            response = graph.get(path)
            assert response.status_code == 200, (key, response.text)
            assert response.json()["id"] == user["id"]

    def test_select_non_default_properties(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "sel"), passwordPolicies="DisablePasswordExpiration")
        response = graph.get(
            f"/users/{user['id']}",
            params={
                "$select": "id,userPrincipalName,accountEnabled,passwordPolicies,mail,"
                "proxyaddresses,mailNickname,createdDateTime"
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["@odata.context"] == (
            "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,accountEnabled,"
            "passwordPolicies,mail,proxyAddresses,mailNickname,createdDateTime)/$entity"
        )
        assert body["accountEnabled"] is True
        assert body["passwordPolicies"] == "DisablePasswordExpiration"
        assert body["proxyAddresses"] == []
        assert body["mailNickname"] == "sel"
        assert body["createdDateTime"].endswith("Z")
        assert "displayName" not in body

    def test_mailbox_user_shows_exchange_addresses(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        upn = _upn(tenant, "shared1")
        user_id = seed_exchange_user(sandbox, tenant, upn)
        seed_mailbox(sandbox, tenant, user_id, [upn, _upn(tenant, "s1")])
        body = (
            sandbox.graph(tenant)
            .get(f"/users/{user_id}", params={"$select": "mail,proxyAddresses,accountEnabled"})
            .json()
        )
        assert body["mail"] == upn
        assert body["proxyAddresses"] == [f"SMTP:{upn}", f"smtp:{_upn(tenant, 's1')}"]
        assert body["accountEnabled"] is False

    def test_unknown_user_is_404(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        missing = "0b5a1f1c-0000-4000-8000-000000000000"
        assert_graph_error(
            graph.get(f"/users/{missing}"),
            404,
            "Request_ResourceNotFound",
            f"Resource '{missing}' does not exist or one of its queried reference-property"
            " objects are not present.",
        )

    def test_user_of_another_tenant_is_invisible(self, sandbox: SandboxHarness) -> None:
        first, second = sandbox.create_tenant(), sandbox.create_tenant()
        user = create_user(sandbox.graph(first), _upn(first, "mine"))
        assert sandbox.graph(second).get(f"/users/{user['id']}").status_code == 404

    def test_unknown_select_property(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "x"))
        assert_graph_error(
            graph.get(f"/users/{user['id']}", params={"$select": "id,shoeSize"}),
            400,
            "BadRequest",
            "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.",
        )


class TestUpdate:
    def test_enable_rename_and_reset_password(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        upn = _upn(tenant, "mbx")
        user_id = seed_exchange_user(sandbox, tenant, upn)
        graph = sandbox.graph(tenant)
        response = graph.patch(
            f"/users/{user_id}",
            json={
                "accountEnabled": True,
                "displayName": "Sales Outreach 1",
                "passwordProfile": {
                    "forceChangePasswordNextSignIn": False,
                    "password": "N3w-Passw0rd!",
                },
                "passwordPolicies": "DisablePasswordExpiration",
            },
        )
        assert response.status_code == 204
        assert response.content == b""
        body = graph.get(
            f"/users/{upn}", params={"$select": "accountEnabled,displayName,passwordPolicies"}
        ).json()
        assert body["accountEnabled"] is True
        assert body["displayName"] == "Sales Outreach 1"
        assert body["passwordPolicies"] == "DisablePasswordExpiration"
        row = core(sandbox).store.one("SELECT * FROM directory_user WHERE id = ?", (user_id,))
        assert row is not None
        assert verify_password("N3w-Passw0rd!", row["password_hash"])
        assert row["force_change_password"] == 0

    def test_rejections_leave_the_user_unchanged(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "keep"))
        other = create_user(graph, _upn(tenant, "taken"))
        path = f"/users/{user['id']}"
        assert_graph_error(
            graph.patch(path, json={"passwordProfile": {"password": "weak"}}),
            400,
            "Request_BadRequest",
            COMPLEXITY,
        )
        for cleared in ("", None):
            assert_graph_error(
                graph.patch(path, json={"displayName": cleared}),
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'displayName' of resource 'User'.",
            )
        assert_graph_error(
            graph.patch(path, json={"userPrincipalName": "keep@unverified.example"}),
            400,
            "Request_BadRequest",
        )
        conflict = assert_graph_error(
            graph.patch(path, json={"userPrincipalName": other["userPrincipalName"]}),
            400,
            "Request_BadRequest",
        )
        assert conflict["details"][0]["code"] == "ObjectConflict"
        assert_graph_error(
            graph.patch(path, json={"id": "x"}),
            400,
            "Request_BadRequest",
            "Property 'id' is read-only and cannot be set.",
        )
        assert graph.get(path).json()["displayName"] == user["displayName"]

    def test_rename_upn_and_empty_patch(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "old"))
        assert graph.patch(f"/users/{user['id']}", json={}).status_code == 204
        assert (
            graph.patch(
                f"/users/{user['id']}", json={"userPrincipalName": _upn(tenant, "new")}
            ).status_code
            == 204
        )
        assert graph.get(f"/users/{_upn(tenant, 'new')}").json()["id"] == user["id"]
        assert graph.get(f"/users/{_upn(tenant, 'old')}").status_code == 404

    def test_unknown_user(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        assert_graph_error(
            sandbox.graph(tenant).patch(f"/users/{_upn(tenant, 'ghost')}", json={}),
            404,
            "Request_ResourceNotFound",
        )


class TestDelete:
    def test_delete_then_404(self, sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
        graph = sandbox.graph(tenant)
        user = create_user(graph, _upn(tenant, "gone"))
        response = graph.delete(f"/users/{user['id']}")
        assert response.status_code == 204
        assert response.content == b""
        assert graph.get(f"/users/{user['id']}").status_code == 404
        assert_graph_error(graph.delete(f"/users/{user['id']}"), 404, "Request_ResourceNotFound")

    def test_mailbox_addresses_and_memberships_go_too(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        upn = _upn(tenant, "shared")
        user_id = seed_exchange_user(sandbox, tenant, upn)
        mailbox = seed_mailbox(sandbox, tenant, user_id, [upn, _upn(tenant, "alt")])
        store = core(sandbox).store
        with store.transaction():
            store.execute(
                "INSERT INTO distribution_group(guid, tenant_id, name, alias, display_name,"
                " primary_smtp_address, group_type, created_at, changed_at)"
                " VALUES ('g1', ?, 'blockers', 'blockers', 'blockers', ?, 'Security', 'x', 'x')",
                (tenant.tenant_id, _upn(tenant, "blockers")),
            )
            store.execute(
                "INSERT INTO group_member(group_guid, member_guid) VALUES ('g1', ?)", (mailbox,)
            )
        assert sandbox.graph(tenant).delete(f"/users/{upn}").status_code == 204
        for table, column in (
            ("mailbox", "guid"),
            ("proxy_address", "owner_guid"),
            ("group_member", "member_guid"),
        ):
            rows = store.all(f"SELECT * FROM {table} WHERE {column} = ?", (mailbox,))  # noqa: S608
            assert rows == [], table
        # The address is free again.
        assert (
            sandbox.graph(tenant).post("/users", json=user_body(_upn(tenant, "alt"))).status_code
            == 201
        )


class TestReplicationLag:
    def test_fresh_user_may_404_until_replicated(
        self, sandbox: SandboxHarness, tenant: SandboxTenant
    ) -> None:
        graph = sandbox.graph(tenant)
        sandbox.configure(replication_lag_probability=1.0, replication_lag_seconds=30)
        user = create_user(graph, _upn(tenant, "fresh"))
        for method in ("GET", "PATCH", "DELETE"):
            response = graph.request(
                method, f"/users/{user['id']}", json={} if method == "PATCH" else None
            )
            assert_graph_error(response, 404, "Request_ResourceNotFound")
        sandbox.advance_clock(31)
        assert sandbox.graph(tenant).get(f"/users/{user['id']}").status_code == 200
