"""Bad input in every field of every write: oversize and chunked bodies, malformed JSON, wrong
types, control characters and unicode, injection strings, huge numbers. Each gets a 4xx with a
stable code, and nothing is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from tenantcore.core.db import unit_of_work
from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, PASSWORD, tenant_with_domain

TABLES = (
    "account",
    "api_key",
    "tenant",
    "domain",
    "mailbox",
    "enforcement_policy",
    "enforcement_event",
)
INJECTION = "'; DROP TABLE mailbox; --"
HUGE = 10**400


async def _counts(api: Api) -> dict[str, int]:
    async with unit_of_work(api.context.sessionmaker, read_only=True) as session:
        return {
            table: (await session.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608 - fixed names
            for table in TABLES
        }


def _mailboxes(**override: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "domain": DOMAIN,
        "account_password": PASSWORD,
        "mailboxes": [{"name": "Sales", "email": f"sales@{DOMAIN}"}],
    }
    body.update(override)
    return body


def _mailbox(**override: Any) -> dict[str, Any]:
    return _mailboxes(mailboxes=[{"name": "Sales", "email": f"sales@{DOMAIN}", **override}])


# (method, path under the tenant or absolute, JSON body)
CASES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/tenants", {"tenant_id": INJECTION}),
    ("POST", "/v1/tenants", {"tenant_id": 12345}),
    ("POST", "/v1/tenants", {"tenant_id": None}),
    ("POST", "/v1/tenants", {"tenant_id": ["a"]}),
    ("POST", "/v1/tenants", {"tenant_id": "\uff58" * 36}),  # fullwidth x
    ("POST", "/v1/tenants", []),
    ("POST", "{t}/domains", {"domain": INJECTION}),
    ("POST", "{t}/domains", {"domain": "mail.acme\u0000corp.com"}),
    ("POST", "{t}/domains", {"domain": "ä" * 300 + ".com"}),
    ("POST", "{t}/domains", {"domain": HUGE}),
    ("POST", "{t}/domains", {"domain": {"name": DOMAIN}}),
    ("POST", "{t}/mailboxes", _mailboxes(domain=INJECTION)),
    ("POST", "{t}/mailboxes", _mailboxes(domain=7)),
    ("POST", "{t}/mailboxes", _mailboxes(account_password=HUGE)),
    ("POST", "{t}/mailboxes", _mailboxes(account_password="short")),
    ("POST", "{t}/mailboxes", _mailboxes(account_password="🔑" * 300)),
    ("POST", "{t}/mailboxes", _mailboxes(mailboxes={"name": "x"})),
    ("POST", "{t}/mailboxes", _mailboxes(mailboxes=[])),
    ("POST", "{t}/mailboxes", _mailboxes(mailboxes=[None])),
    ("POST", "{t}/mailboxes", _mailbox(email=INJECTION)),
    ("POST", "{t}/mailboxes", _mailbox(email=f"sales\r\n@{DOMAIN}")),
    ("POST", "{t}/mailboxes", _mailbox(email=f"s\u0000les@{DOMAIN}")),
    ("POST", "{t}/mailboxes", _mailbox(email=f"{'a' * 300}@{DOMAIN}")),
    ("POST", "{t}/mailboxes", _mailbox(name="\u0000\u0007")),
    ("POST", "{t}/mailboxes", _mailbox(name="x" * 1000)),
    ("POST", "{t}/mailboxes", _mailbox(name=HUGE)),
    ("POST", "{t}/mailbox-limits", {"daily_send_limit": HUGE}),
    ("POST", "{t}/mailbox-limits", b'{"daily_send_limit": 1e400}'),
    ("POST", "{t}/mailbox-limits", {"daily_send_limit": "25; DROP TABLE x"}),
    ("POST", "{t}/mailbox-limits", {"daily_send_limit": -(2**63)}),
    ("POST", "{t}/mailbox-limits", {"daily_send_limit": 5, "domain_scope": INJECTION}),
    ("POST", "{t}/mailbox-limits", {"daily_send_limit": 5, "domain_scope": 9}),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES)
async def test_bad_field_is_a_4xx_with_a_code_and_nothing_is_stored(
    api: Api, method: str, path: str, body: Any
) -> None:
    tenant_id = await tenant_with_domain(api)
    before = await _counts(api)
    url = path.replace("{t}", f"/v1/tenants/{tenant_id}")
    if isinstance(body, bytes):  # JSON that Python's encoder will not write (1e400)
        response = await api.http.request(
            method, url, content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = await api.http.request(method, url, json=body)
    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    assert detail["code"]
    assert detail["message"]
    assert await _counts(api) == before


async def test_malformed_json_is_invalid_request(api: Api) -> None:
    before = await _counts(api)
    not_utf8 = b'{"tenant_id": "\xff"}'
    for raw in (b"{", b'{"tenant_id": }', b"\xff\xfe", not_utf8, b"null", b'"just a string"'):
        response = await api.http.post(
            "/v1/tenants", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (raw, response.text)
        assert response.json()["detail"]["code"] == "invalid_request"
    assert await _counts(api) == before


async def test_oversize_body_is_413_declared_or_streamed(api: Api) -> None:
    before = await _counts(api)
    big = b'{"tenant_id": "' + b"a" * 2_000_000 + b'"}'
    declared = await api.http.post(
        "/v1/tenants", content=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["detail"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = await api.http.post(
        "/v1/tenants", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["detail"]["code"] == "payload_too_large"
    assert await _counts(api) == before


async def test_path_parameters_out_of_shape_are_404s_not_errors(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    for path in (
        f"/v1/tenants/{INJECTION}",
        f"/v1/tenants/{tenant_id}/mailboxes/{INJECTION}/usage",
        f"/v1/tenants/{tenant_id}/domains/{'ä' * 300}",
        f"/v1/tenants/{tenant_id}/mailboxes/%00",
    ):
        response = await api.http.get(path)
        assert response.status_code in (400, 404, 405), (path, response.text)
        assert response.json()["detail"]["code"], path


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/tenants/{tenant_id}", "DELETE, GET, HEAD"),
        ("DELETE", "/v1/tenants/{tenant_id}/mailboxes", "GET, HEAD, POST"),
        ("GET", "/v1/api-key/rotate", "POST"),
        ("PUT", "/v1/tenants/{tenant_id}/mailbox-limits", "DELETE, GET, HEAD, POST"),
    ],
)
async def test_a_method_the_path_lacks_is_405_with_every_allowed_method(
    api: Api, method: str, path: str, allowed: str
) -> None:
    tenant_id = await tenant_with_domain(api)
    response = await api.http.request(method, path.format(tenant_id=tenant_id))
    assert response.status_code == 405
    assert response.json()["detail"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == allowed


async def test_head_answers_as_get_without_a_body(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    path = f"/v1/tenants/{tenant_id}/domains"
    got = await api.http.get(path)
    head = await api.http.head(path)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    anonymous = await api.client(**{"X-Nothing": "1"}).head(path)
    assert anonymous.status_code == 401
    assert anonymous.content == b""
    rotate = await api.http.head("/v1/api-key/rotate")
    assert rotate.status_code == 405
    assert rotate.headers["Allow"] == "POST"
