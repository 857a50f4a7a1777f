"""Contract: every Graph response shape the sandbox serves matches the wire reference's examples.

The examples below are transcribed from `reference/microsoft-365-wire.md` section 2 (field
names, OData annotations and envelopes; values are illustrative there, so only the shape and
the fixed values are compared).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from tests.conftest import EXCHANGE_SCOPE, SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import (
    ADVANCED,
    JSON_TYPE,
    assert_graph_error,
    assert_graph_headers,
    assert_throttled,
    create_user,
    sandbox_now,
    seed_trace,
    user_body,
    verify_domain,
)

METADATA = "https://graph.microsoft.com/v1.0/$metadata#"

# 2.1 Create user: 201 response.
REF_CREATED_USER = {
    "@odata.context": f"{METADATA}users/$entity",
    "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
    "businessPhones": [],
    "displayName": "Adele Vance",
    "givenName": "Adele",
    "jobTitle": "Product Marketing Manager",
    "mail": "AdeleV@contoso.onmicrosoft.com",
    "mobilePhone": "+1 425 555 0109",
    "officeLocation": "18/2111",
    "preferredLanguage": "en-US",
    "surname": "Vance",
    "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
}
# 2.5 List users with an advanced query.
REF_USER_LIST = {
    "@odata.context": (f"{METADATA}users(id,userPrincipalName,displayName,accountEnabled,mail)"),
    "@odata.count": 3,
    "value": [
        {
            "id": "...",
            "userPrincipalName": "a@outreach-example.com",
            "displayName": "...",
            "accountEnabled": True,
            "mail": "a@outreach-example.com",
        }
    ],
}
# 2.6 Domain object.
REF_DOMAIN = {
    "authenticationType": "Managed",
    "availabilityStatus": None,
    "id": "contoso.com",
    "isAdminManaged": True,
    "isDefault": False,
    "isInitial": False,
    "isRoot": True,
    "isVerified": True,
    "passwordNotificationWindowInDays": 14,
    "passwordValidityPeriodInDays": 90,
    "state": None,
    "supportedServices": ["Email"],
}
# 2.6 Verification records.
REF_VERIFICATION_TXT = {
    "@odata.type": "#microsoft.graph.domainDnsTxtRecord",
    "id": "aceff52c-06a5-447f-ac5f-256ad243cc5c",
    "isOptional": False,
    "label": "contoso.com",
    "recordType": "Txt",
    "supportedService": None,
    "ttl": 3600,
    "text": "MS=ms12345678",
}
REF_VERIFICATION_MX = {
    "@odata.type": "#microsoft.graph.domainDnsMxRecord",
    "id": "5fbde38c-0865-497f-82b1-126f596bcee9",
    "isOptional": False,
    "label": "contoso.com",
    "recordType": "Mx",
    "supportedService": None,
    "ttl": 3600,
    "mailExchange": "ms12345678.msv1.invalid",
    "preference": 32767,
}
# 2.7 Error envelope.
REF_ERROR = {
    "error": {
        "code": "Request_BadRequest",
        "message": (
            "Another object with the same value for property userPrincipalName already exists."
        ),
        "details": [
            {
                "code": "ObjectConflict",
                "message": (
                    "Another object with the same value for property userPrincipalName"
                    " already exists."
                ),
                "target": "userPrincipalName",
            }
        ],
        "innerError": {
            "date": "2024-08-20T04:25:57",
            "request-id": "e87c1654-53e7-4a9f-a0ca-4eae330fedac",
            "client-request-id": "e87c1654-53e7-4a9f-a0ca-4eae330fedac",
        },
    }
}
# 2.8 Throttled.
REF_THROTTLED = {
    "error": {
        "code": "TooManyRequests",
        "innerError": {
            "code": "429",
            "date": "2020-08-18T12:51:51",
            "message": "Please retry after",
            "request-id": "94fb3b52-452a-4535-a601-69e0a90e3aa2",
            "status": "429",
        },
        "message": "Please retry again later.",
    }
}
# 2.9 Batch response items.
REF_BATCH_NO_CONTENT = {
    "id": "1",
    "status": 204,
    "headers": {"Cache-Control": "no-cache"},
    "body": None,
}
REF_BATCH_JSON_HEADERS = {"Content-Type": JSON_TYPE}
# 2.10 Message trace list.
REF_TRACES = {
    "@odata.context": f"{METADATA}admin/exchange/tracing/messageTraces",
    "value": [
        {
            "id": "4451a062-48cb-e80d-e8c0-196330437ae6",
            "senderAddress": "sender@contoso.com",
            "recipientAddress": "recipient@contoso.com",
            "messageId": "<d9683b4c-...@contoso.com>",
            "receivedDateTime": "2025-06-13T10:30:00Z",
            "subject": "Quarterly Report",
            "size": 45678,
            "fromIP": "192.168.1.100",
            "toIP": "",
            "status": "delivered",
        }
    ],
}


def _same_shape(actual: Any, reference: Any, where: str = "$") -> None:
    """Same keys at every level, same JSON kinds where the reference has a non-null value."""
    if isinstance(reference, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(reference), (where, set(actual) ^ set(reference))
        for key, value in reference.items():
            _same_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(reference, list):
        assert isinstance(actual, list), where
        for item in actual:
            if reference:
                _same_shape(item, reference[0], f"{where}[]")
    elif reference is not None and actual is not None:
        assert type(actual) is type(reference), (where, actual, reference)


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    return sandbox.create_tenant()


def test_create_user_matches_2_1(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.graph(tenant).post(
        "/users", json=user_body(f"AdeleV@{tenant.initial_domain}")
    )
    assert response.status_code == 201
    assert_graph_headers(response)
    _same_shape(response.json(), REF_CREATED_USER)
    assert response.json()["@odata.context"] == REF_CREATED_USER["@odata.context"]


def test_get_user_has_the_default_property_set_2_3(
    sandbox: SandboxHarness, tenant: SandboxTenant
) -> None:
    graph = sandbox.graph(tenant)
    user = create_user(graph, f"kim@{tenant.initial_domain}")
    response = graph.get(f"/users/{user['id']}")
    assert_graph_headers(response)
    _same_shape(response.json(), REF_CREATED_USER)


def test_advanced_user_list_matches_2_5(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    graph = sandbox.graph(tenant)
    verify_domain(sandbox, graph, "outreach-example.com")
    for alias in ("a", "b", "c"):
        create_user(graph, f"{alias}@outreach-example.com")
    response = graph.get(
        "/users",
        params={
            "$filter": "endswith(userPrincipalName,'@outreach-example.com')",
            "$count": "true",
            "$select": "id,userPrincipalName,displayName,accountEnabled,mail",
            "$top": "999",
        },
        headers=ADVANCED,
    )
    assert_graph_headers(response)
    body = response.json()
    _same_shape(body, REF_USER_LIST)
    assert body["@odata.context"] == REF_USER_LIST["@odata.context"]
    assert body["@odata.count"] == 3


def test_domain_shapes_match_2_6(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    graph = sandbox.graph(tenant)
    created = graph.post("/domains", json={"id": "contoso.com"})
    assert_graph_headers(created)
    _same_shape({k: v for k, v in created.json().items() if k != "@odata.context"}, REF_DOMAIN)
    records = graph.get("/domains/contoso.com/verificationDnsRecords")
    assert_graph_headers(records)
    txt, mx = records.json()["value"]
    _same_shape(txt, REF_VERIFICATION_TXT)
    _same_shape(mx, REF_VERIFICATION_MX)
    code = txt["text"].removeprefix("MS=")
    sandbox.publish_dns("contoso.com", [{"type": "TXT", "value": txt["text"]}])
    verified = graph.post("/domains/contoso.com/verify").json()
    _same_shape({k: v for k, v in verified.items() if k != "@odata.context"}, REF_DOMAIN)
    assert verified["@odata.context"] == f"{METADATA}domains/$entity"
    assert mx["mailExchange"] == f"{code}.msv1.invalid"
    listed = graph.get("/domains").json()
    assert set(listed) == {"@odata.context", "value"}
    for domain in listed["value"]:
        _same_shape(domain, REF_DOMAIN)


def test_error_envelope_matches_2_7(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    graph = sandbox.graph(tenant)
    create_user(graph, f"dup@{tenant.initial_domain}")
    response = graph.post("/users", json=user_body(f"dup@{tenant.initial_domain}"))
    assert_graph_error(response, 400, "Request_BadRequest")
    _same_shape(response.json(), REF_ERROR)
    assert response.json()["error"]["message"] == REF_ERROR["error"]["message"]
    assert response.json()["error"]["details"] == REF_ERROR["error"]["details"]


def test_throttling_matches_2_8(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    sandbox.configure(graph_writes_per_window=1)
    graph = sandbox.graph(tenant)
    graph.post("/domains", json={"id": "one.example"})
    response = graph.post("/domains", json={"id": "two.example"})
    assert_throttled(response)
    _same_shape(response.json(), REF_THROTTLED)


def test_batch_matches_2_9(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    graph = sandbox.graph(tenant)
    user = create_user(graph, f"b@{tenant.initial_domain}")
    response = graph.post(
        "/$batch",
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "PATCH",
                    "url": f"/users/{user['id']}",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"accountEnabled": True},
                },
                {
                    "id": "2",
                    "method": "GET",
                    "url": f"users?$filter=endswith(mail,'@{tenant.initial_domain}')&$count=true",
                    "headers": {"ConsistencyLevel": "eventual"},
                },
            ]
        },
    )
    assert response.status_code == 200
    assert_graph_headers(response)
    first, second = response.json()["responses"]
    assert set(first) == set(REF_BATCH_NO_CONTENT)
    assert first["status"] == 204
    assert first["body"] is None
    assert first["headers"]["Cache-Control"] == "no-cache"
    assert second["status"] == 200
    assert second["headers"]["Content-Type"] == REF_BATCH_JSON_HEADERS["Content-Type"]
    assert {"@odata.context", "@odata.count", "value"} <= set(second["body"])


def test_message_traces_match_2_10(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    now = sandbox_now(sandbox)
    seed_trace(
        sandbox,
        tenant,
        sender="sender@contoso.com",
        recipient="recipient@contoso.com",
        received=now - timedelta(minutes=5),
    )
    response = sandbox.graph(tenant).get("/admin/exchange/tracing/messageTraces")
    assert_graph_headers(response)
    body = response.json()
    _same_shape(body, REF_TRACES)
    assert body["@odata.context"] == REF_TRACES["@odata.context"]
    assert body["value"][0]["status"] == "delivered"


def _complexity(graph: httpx2.Client, tenant: SandboxTenant) -> httpx2.Response:
    return graph.post(
        "/users", json=user_body(f"a@{tenant.initial_domain}", passwordProfile={"password": "x"})
    )


def _unverified(graph: httpx2.Client, tenant: SandboxTenant) -> httpx2.Response:
    return graph.post("/users", json=user_body("a@unverified.example"))


def _nickname(graph: httpx2.Client, tenant: SandboxTenant) -> httpx2.Response:
    return graph.post("/users", json=user_body(f"a@{tenant.initial_domain}", mailNickname="a b"))


def _missing(graph: httpx2.Client, tenant: SandboxTenant) -> httpx2.Response:
    return graph.get("/users/87d349ed-44d7-43e1-9a83-5f2406dee5bd")


def _filter(graph: httpx2.Client, tenant: SandboxTenant) -> httpx2.Response:
    return graph.get("/users", params={"$filter": "passwordPolicies eq 'None'"})


# 2.7's table of directory errors: (scenario, HTTP status, code, exact message).
ERROR_TABLE: list[
    tuple[Callable[[httpx2.Client, SandboxTenant], httpx2.Response], int, str, str]
] = [
    (
        _complexity,
        400,
        "Request_BadRequest",
        "The specified password does not comply with password complexity requirements."
        " Please provide a different password.",
    ),
    (
        _unverified,
        400,
        "Request_BadRequest",
        "The domain portion of the userPrincipalName property is invalid. You must use one of"
        " the verified domain names in your organization.",
    ),
    (
        _nickname,
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'mailNickname' of resource 'User'.",
    ),
    (
        _missing,
        404,
        "Request_ResourceNotFound",
        "Resource '87d349ed-44d7-43e1-9a83-5f2406dee5bd' does not exist or one of its queried"
        " reference-property objects are not present.",
    ),
    (
        _filter,
        400,
        "Request_UnsupportedQuery",
        "Unsupported or invalid query filter clause specified for property 'passwordPolicies'"
        " of resource 'User'.",
    ),
]


@pytest.mark.parametrize(
    ("scenario", "status", "code", "message"),
    ERROR_TABLE,
    ids=["complexity", "unverified-domain", "mail-nickname", "not-found", "unsupported-filter"],
)
def test_directory_error_table_2_7(
    sandbox: SandboxHarness,
    tenant: SandboxTenant,
    scenario: Callable[[httpx2.Client, SandboxTenant], httpx2.Response],
    status: int,
    code: str,
    message: str,
) -> None:
    assert_graph_error(scenario(sandbox.graph(tenant), tenant), status, code, message)


def test_auth_rows_of_the_error_table(sandbox: SandboxHarness) -> None:
    limited = sandbox.create_tenant(graph_roles=["User.Read.All"])
    denied = sandbox.graph(limited).patch("/users/a@b.com", json={"accountEnabled": True})
    assert_graph_error(
        denied,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
    graph = sandbox.graph(limited)
    sandbox.advance_clock(3600)
    assert_graph_error(
        graph.get("/users"),
        401,
        "InvalidAuthenticationToken",
        "Lifetime validation failed, the token is expired.",
    )
    wrong = httpx2.Client(
        base_url=f"{sandbox.url}/v1.0",
        headers={"Authorization": f"Bearer {sandbox.token(limited, EXCHANGE_SCOPE)}"},
    )
    assert_graph_error(wrong.get("/users"), 401, "InvalidAuthenticationToken")
