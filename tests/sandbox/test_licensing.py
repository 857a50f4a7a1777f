"""A tenant's subscriptions (Graph `/directory/subscriptions`) and the tenant external
recipient rate limit they set, which Exchange enforces over SMTP on the whole tenant's mail to
external recipients in a rolling 24 hours (`550 5.7.233`, `5.7.232` on a trial tenant)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from tenantcore.sandbox.licensing import external_recipient_limit
from tenantcore.sandbox.store import SandboxStore
from tenantcore.sandbox.timeutil import iso
from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.graph_support import assert_graph_error
from tests.sandbox.smtp_seed import add_domain, add_mailbox, now, rows, send, write

PATH = "/directory/subscriptions"
DOMAIN = "outreach.example"
PAID_E3 = {
    "skuPartNumber": "ENTERPRISEPACK",
    "totalLicenses": 100,
    "servicePlans": ["EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE"],
}
POWER_BI = {
    "skuPartNumber": "POWER_BI_PRO",
    "totalLicenses": 50,
    "servicePlans": ["BI_AZURE_P2", "EXCHANGE_S_FOUNDATION"],
}
TRIAL = {
    "skuPartNumber": "O365_BUSINESS_PREMIUM",
    "isTrial": True,
    "totalLicenses": 25,
    "servicePlans": ["EXCHANGE_S_STANDARD"],
}


def _limit(sandbox: SandboxHarness, tenant: SandboxTenant) -> int:
    return int(
        sandbox.http.get(f"/_sandbox/tenants/{tenant.tenant_id}").json()["external_recipient_limit"]
    )


def _set_subscriptions(
    sandbox: SandboxHarness, tenant: SandboxTenant, subscriptions: list[dict[str, Any]]
) -> None:
    response = sandbox.http.patch(
        f"/_sandbox/tenants/{tenant.tenant_id}", json={"subscriptions": subscriptions}
    )
    assert response.status_code == 200, response.text


def test_a_new_tenant_has_one_exchange_online_license(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    body = sandbox.graph(tenant).get(PATH).json()
    assert (
        body["@odata.context"]
        == "https://graph.microsoft.com/v1.0/$metadata#directory/subscriptions"
    )
    (subscription,) = body["value"]
    assert subscription["skuPartNumber"] == "EXCHANGESTANDARD"
    assert (subscription["isTrial"], subscription["status"], subscription["totalLicenses"]) == (
        False,
        "Enabled",
        1,
    )
    assert [plan["servicePlanName"] for plan in subscription["serviceStatus"]] == [
        "EXCHANGE_S_STANDARD"
    ]
    # 500 * 1^0.7 + 9,500
    assert _limit(sandbox, tenant) == 10_000


def test_only_working_exchange_licenses_count(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant(subscriptions=[PAID_E3, POWER_BI])
    listed = sandbox.graph(tenant).get(PATH).json()["value"]
    assert [s["skuPartNumber"] for s in listed] == ["ENTERPRISEPACK", "POWER_BI_PRO"]
    assert len({s["id"] for s in listed}) == 2
    # 100 licenses: 500 * 100^0.7 + 9,500 = 22,059 (Power BI's Exchange Foundation is no mailbox)
    assert _limit(sandbox, tenant) == 22_059
    _set_subscriptions(sandbox, tenant, [{**PAID_E3, "status": "Suspended"}, TRIAL])
    assert _limit(sandbox, tenant) == 5_000  # only the trial works: a trial tenant
    _set_subscriptions(sandbox, tenant, [PAID_E3, TRIAL])
    assert _limit(sandbox, tenant) == 22_059  # trial licenses add nothing to paid ones


def test_reading_subscriptions_needs_an_organization_or_directory_role(
    sandbox: SandboxHarness,
) -> None:
    reader = sandbox.create_tenant(graph_roles=["Organization.Read.All"])
    assert sandbox.graph(reader).get(PATH).status_code == 200
    nobody = sandbox.create_tenant(graph_roles=["User.ReadWrite.All"])
    assert_graph_error(sandbox.graph(nobody).get(PATH), 403, "Authorization_RequestDenied")


def test_subscriptions_are_validated(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    for bad in (
        [{"skuPartNumber": "X", "totalLicenses": -1}],
        [{"skuPartNumber": "X", "totalLicenses": 1, "status": "Active"}],
        [{"totalLicenses": 1}],
    ):
        response = sandbox.http.patch(
            f"/_sandbox/tenants/{tenant.tenant_id}", json={"subscriptions": bad}
        )
        assert response.status_code == 400, bad
    assert _limit(sandbox, tenant) == 10_000


def _seed_external_sends(
    sandbox: SandboxHarness, tenant: SandboxTenant, count: int, hours_ago: float
) -> None:
    """`count` delivered messages to external recipients, sent `hours_ago` (one statement)."""
    received = iso(now(sandbox) - timedelta(hours=hours_ago))
    write(
        sandbox,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
        " INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
        " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
        " SELECT ? || '-' || i, 'lead' || i || '@prospect.example', ?, '<seed>', ?, 'Seed',"
        " 'Delivered', 100, '127.0.0.1', '', ?, ? FROM n",
        (count, tenant.tenant_id, tenant.tenant_id, f"old@{DOMAIN}", received, received),
    )


def test_the_tenant_limit_refuses_external_mail_past_it(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant(subscriptions=[TRIAL])
    add_domain(sandbox, tenant, DOMAIN)
    sdr1 = add_mailbox(sandbox, tenant, f"sdr1@{DOMAIN}")
    _seed_external_sends(sandbox, tenant, 4_998, hours_ago=2)
    assert send(sandbox, sdr1, ["a@prospect.example"])[0] == 250  # 4,999
    # Two more external recipients would make 5,001: the whole message is refused.
    code, reply = send(sandbox, sdr1, ["b@prospect.example", "c@prospect.example"])
    assert code == 550
    assert reply.startswith(b"5.7.232 Your message can't be sent because your tenant exceeded")
    # Internal recipients do not count; one more external one fits exactly.
    assert send(sandbox, sdr1, [f"colleague@{DOMAIN}", "d@prospect.example"])[0] == 250
    assert send(sandbox, sdr1, ["e@prospect.example"])[0] == 550
    assert send(sandbox, sdr1, [f"colleague@{DOMAIN}"])[0] == 250
    failed = rows(
        sandbox,
        "SELECT recipient_address FROM trace WHERE tenant_id = ? AND status = 'Failed'"
        " ORDER BY recipient_address",
        (tenant.tenant_id,),
    )
    assert [row["recipient_address"] for row in failed] == [
        "b@prospect.example",
        "c@prospect.example",
        "e@prospect.example",
    ]
    # Buying licenses lifts the limit at once: a paid tenant's reply names 5.7.233 past it.
    _set_subscriptions(sandbox, tenant, [{**TRIAL, "isTrial": False, "totalLicenses": 1}])
    assert send(sandbox, sdr1, ["e@prospect.example"])[0] == 250


def test_the_window_rolls_over_24_hours(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant(subscriptions=[{**TRIAL, "isTrial": False, "totalLicenses": 0}])
    add_domain(sandbox, tenant, DOMAIN)
    sdr1 = add_mailbox(sandbox, tenant, f"sdr1@{DOMAIN}")
    _seed_external_sends(sandbox, tenant, 9_500, hours_ago=23.5)  # no licenses: 9,500
    code, reply = send(sandbox, sdr1, ["a@prospect.example"])
    assert code == 550
    assert reply.startswith(b"5.7.233 Your message can't be sent")
    sandbox.http.post("/_sandbox/clock", json={"advance_seconds": 31 * 60})
    assert send(sandbox, sdr1, ["a@prospect.example"])[0] == 250


def test_tenants_of_an_older_sandbox_file_get_the_default_license(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    SandboxStore(path).close()
    with sqlite3.connect(path) as old:  # as files written before subscriptions existed
        old.execute("ALTER TABLE tenant DROP COLUMN subscriptions")
        old.execute(
            "INSERT INTO tenant(id, display_name, initial_domain, is_dehydrated, created_at)"
            " VALUES ('t1', 'Old', 'old.onmicrosoft.com', 0, '2026-01-01T00:00:00.000000Z')"
        )
    store = SandboxStore(path)
    try:
        (row,) = store.all("SELECT subscriptions FROM tenant")
        assert external_recipient_limit(json.loads(row["subscriptions"])) == (10_000, False)
    finally:
        store.close()
