"""The OpenAPI document: every route's errors declared with TenantCore's envelope, no 422."""

from __future__ import annotations

from tests.api.conftest import Api


async def test_openapi_declares_errors_and_no_422(api: Api) -> None:
    response = await api.http.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "422" not in codes, (method, path)
            if path.startswith("/v1/") and "consent/callback" not in path:
                assert "401" in codes, (method, path)
    tenant_get = schema["paths"]["/v1/tenants/{tenant_id}"]["get"]["responses"]
    assert "tenant_not_found" in tenant_get["404"]["description"]


async def test_docs_page_is_served(api: Api) -> None:
    response = await api.http.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_the_api_key_is_a_declared_bearer_scheme(api: Api) -> None:
    """Clients generated from the schema, and /docs's Authorize button, send the key."""
    schema = (await api.http.get("/openapi.json")).json()
    scheme = schema["components"]["securitySchemes"]["ApiKey"]
    assert scheme["type"] == "http"
    assert scheme["scheme"].lower() == "bearer"
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            parameters = {p["name"].lower() for p in operation.get("parameters", [])}
            assert "authorization" not in parameters, (method, path)
            if path.startswith("/v1/") and "consent/callback" not in path:
                assert operation.get("security") == [{"ApiKey": []}], (method, path)
            else:
                assert "security" not in operation, (method, path)


async def test_fields_checked_by_the_service_still_say_what_they_accept(api: Api) -> None:
    """Caps and names are validated in the service (for the seed's error codes), yet clients
    generated from the schema must know the ranges."""
    components = (await api.http.get("/openapi.json")).json()["components"]["schemas"]
    update = components["MailboxUpdate"]["properties"]
    assert {"type": "integer", "minimum": 1, "maximum": 25} in update["daily_send_limit"]["anyOf"]
    assert {"type": "null"} in update["daily_send_limit"]["anyOf"]
    assert update["display_name"]["type"] == "string"
    assert (update["display_name"]["minLength"], update["display_name"]["maxLength"]) == (1, 256)
    policy = components["PolicySet"]
    assert policy["required"] == ["daily_send_limit"]
    limit = policy["properties"]["daily_send_limit"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 25)
    assert "default" not in limit
