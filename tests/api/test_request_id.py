"""`X-Request-Id`: on every response, the caller's own kept, and on the log lines of the request."""

from __future__ import annotations

import re

import httpx2
import pytest
import structlog

from tenantcore.app import create_app
from tests.api.conftest import Api
from tests.api.mailbox_support import exchange_fails


async def test_every_response_carries_a_new_request_id(api: Api) -> None:
    first = await api.http.get("/v1/tenants")
    second = await api.http.get("/v1/tenants")
    for response in (first, second):
        assert response.status_code == 200
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


async def test_errors_and_head_carry_it_too(api: Api) -> None:
    anonymous = await api.client(Accept="application/json").get("/v1/tenants")
    assert anonymous.status_code == 401
    missing = await api.http.get("/v1/tenants/6f1c1c8e-2f0a-4c47-9a55-0c4a3b1f9d10")
    assert missing.status_code == 404
    unknown_path = await api.http.get("/v1/nowhere")
    head = await api.http.head("/v1/tenants")
    assert head.status_code == 200
    for response in (anonymous, missing, unknown_path, head):
        assert "X-Request-Id" in response.headers, response


async def test_a_callers_own_id_is_kept(api: Api) -> None:
    mine = "checkout-7f3a.retry:2"
    response = await api.http.get("/v1/tenants", headers={"X-Request-Id": mine})
    assert response.headers["X-Request-Id"] == mine


@pytest.mark.parametrize("unusable", ["has spaces", "x" * 129, "<script>", ""])
async def test_an_unusable_caller_id_is_replaced(api: Api, unusable: str) -> None:
    response = await api.http.get("/v1/tenants", headers={"X-Request-Id": unusable})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


async def test_log_lines_of_the_request_name_it(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    await exchange_fails(api)
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        response = await api.http.post(
            f"/v1/tenants/{tenant_id}/mailbox-limits",
            json={"daily_send_limit": 5},
            headers={"X-Request-Id": "support-case-1234"},
        )
    assert response.status_code == 200
    assert response.json()["policy"]["provisioning_status"] == "pending"
    failures = [line for line in logs if line["event"] == "enforcement provisioning failed"]
    assert failures
    assert {line.get("request_id") for line in failures} == {"support-case-1234"}
    # And nothing leaks into what runs after the request.
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as later:
        structlog.get_logger("test").info("after the request")
    assert "request_id" not in later[0]


async def test_an_unexpected_failure_is_a_500_that_names_the_request(api: Api) -> None:
    app = create_app(api.context)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/broken", broken)
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    with structlog.testing.capture_logs() as logs:
        async with httpx2.AsyncClient(transport=transport, base_url="http://api.test") as client:
            response = await client.get("/v1/broken", headers={"X-Request-Id": "incident-42"})
    assert response.status_code == 500
    assert response.json() == {
        "detail": {
            "code": "internal_error",
            "message": "An unexpected error occurred.",
            "retryable": True,
            "request_id": "incident-42",
        }
    }
    assert response.headers["X-Request-Id"] == "incident-42"
    (logged,) = [line for line in logs if line["event"] == "unhandled error"]
    assert logged["request_id"] == "incident-42"
