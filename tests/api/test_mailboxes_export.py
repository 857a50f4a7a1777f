"""`GET /v1/tenants/{tenant_id}/mailboxes/export`: the mailboxes as a CSV file for a sending
tool's bulk import, with the SMTP server and today's cap."""

from __future__ import annotations

import csv
import io

from tenantcore.mailboxes.export import COLUMNS
from tenantcore.settings import MicrosoftSettings
from tests.api.conftest import Api
from tests.api.mailbox_support import (
    DOMAIN,
    OPS,
    SALES,
    one,
    provision,
    tenant_with_domain,
    tenant_with_ready_mailboxes,
)

OTHER = "news.acmecorp.com"


def _url(tenant_id: str) -> str:
    return f"/v1/tenants/{tenant_id}/mailboxes/export"


async def _rows(api: Api, tenant_id: str, **params: str) -> list[dict[str, str]]:
    response = await api.http.get(_url(tenant_id), params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


async def test_each_mailbox_with_its_login_and_today_s_cap(api: Api) -> None:
    tenant_id = await tenant_with_ready_mailboxes(api, "sales", "ops")
    ops_id = (await one(api, tenant_id, OPS))["id"]
    patched = await api.http.patch(
        f"/v1/tenants/{tenant_id}/mailboxes/{ops_id}", json={"daily_send_limit": 7}
    )
    assert patched.status_code == 200
    # Stored but not enforced: the tool gets the mailbox's own limit.
    assert [row["daily_limit"] for row in await _rows(api, tenant_id)] == ["7", ""]

    limits = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 10, "domain_scope": DOMAIN},
    )
    assert limits.status_code == 200
    response = await api.http.get(_url(tenant_id))
    today = (await api.sandbox_now()).date().isoformat()
    assert response.headers["content-disposition"] == (
        f'attachment; filename="mailboxes-{tenant_id}-{today}.csv"'
    )
    assert response.text.startswith(",".join(COLUMNS) + "\r\n")
    rows = await _rows(api, tenant_id)
    smtp = api.context.settings.microsoft
    assert rows == [
        {
            "email": address,
            "display_name": f"{local.title()} Outreach",
            "first_name": local.title(),
            "last_name": "Outreach",
            "username": address,
            "password": "",
            "smtp_host": smtp.smtp_host,
            "smtp_port": str(smtp.smtp_port),
            "smtp_security": "starttls",
            "daily_limit": cap,
            "domain": DOMAIN,
            "status": "ready",
            "smtp_auth_enabled": "true",
            "mailbox_id": (await one(api, tenant_id, address))["id"],
        }
        for local, address, cap in (("ops", OPS, "7"), ("sales", SALES, "10"))
    ]
    # The sandbox's SMTP side in sandbox mode; Microsoft's submission endpoint live.
    assert (rows[0]["smtp_host"], rows[0]["smtp_port"]) == ("127.0.0.1", "2587")
    assert (MicrosoftSettings().smtp_host, MicrosoftSettings().smtp_port) == (
        "smtp.office365.com",
        587,
    )

    ramped = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={
            "daily_send_limit": 10,
            "domain_scope": DOMAIN,
            "ramp": {"start": 3, "daily_increase": 2},
        },
    )
    assert ramped.status_code == 200
    assert [row["daily_limit"] for row in await _rows(api, tenant_id)] == ["3", "3"]


async def test_filters_and_spreadsheet_safe_names(api: Api) -> None:
    tenant_id = await tenant_with_domain(api, DOMAIN, OTHER)
    named = {
        "name": '=HYPERLINK("http://x.test","Click")',
        "email": f"hype@{OTHER}",
    }
    response = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailboxes",
        json={"domain": OTHER, "account_password": "SecureP@ssw0rd!", "mailboxes": [named]},
    )
    assert response.status_code == 200, response.text
    assert (await provision(api, tenant_id, "sales")).status_code == 200

    everything = await _rows(api, tenant_id)
    assert [row["email"] for row in everything] == [SALES, f"hype@{OTHER}"]
    hype = everything[1]
    # A spreadsheet shows the name; it does not run it.
    assert hype["display_name"] == '\'=HYPERLINK("http://x.test","Click")'
    assert hype["first_name"] == '\'=HYPERLINK("http://x.test","Click")'
    assert hype["last_name"] == ""
    assert hype["status"] == "provisioning"

    assert [row["email"] for row in await _rows(api, tenant_id, domain=OTHER.upper())] == [
        f"hype@{OTHER}"
    ]
    assert await _rows(api, tenant_id, status="ready") == []
    assert len(await _rows(api, tenant_id, status="provisioning")) == 2


async def test_errors_and_other_accounts(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    assert await _rows(api, tenant_id) == []
    cases = [
        ({"domain": "absent.acmecorp.com"}, 404, "domain_not_found"),
        ({"domain": "not a domain"}, 404, "domain_not_found"),
        ({"status": "done"}, 400, "invalid_request"),
    ]
    for params, status, code in cases:
        response = await api.http.get(_url(tenant_id), params=params)
        assert (response.status_code, response.json()["detail"]["code"]) == (status, code)

    other = api.client(await api.new_key("globex"))
    response = await other.get(_url(tenant_id))
    assert response.status_code == 404
    assert response.json()["detail"]["code"] == "tenant_not_found"

    # A read-only key may export: it is a read.
    created = await api.http.post("/v1/api-keys", json={"scope": "read", "name": "reports"})
    assert created.status_code == 201, created.text
    reader = api.client(created.json()["api_key"])
    assert (await reader.get(_url(tenant_id))).status_code == 200
