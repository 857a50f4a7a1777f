"""Daily caps end to end on `tenantcore serve` (issue 5, acceptance 1): Exchange refuses the
sends beyond a mailbox's cap whatever the sync interval, the sync reports the block and its
event, a lowered cap reaches Exchange, and UTC midnight releases the mailbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.conftest import seconds_until_hour
from tests.databases import scratch_database
from tests.processes.harness import (
    PASSWORD,
    Deployment,
    add_verified_domain,
    all_ready,
    connect_tenant,
    json_of,
    mailboxes,
    provision,
    send,
    wait_for,
)

DOMAIN = "mail.acmecorp.com"
SALES = f"sales@{DOMAIN}"
OPS = f"ops@{DOMAIN}"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    # SQLite, or PostgreSQL in the CI leg that runs on it. A long sync interval on purpose:
    # no overshoot must not depend on the sync.
    with scratch_database(tmp_path) as database_url:
        deployment = Deployment(
            tmp_path,
            database_url=database_url,
            settings={"TENANTCORE_USAGE_SYNC_SECONDS": "3600"},
        )
        try:
            yield deployment
        finally:
            deployment.stop()


def _usage(api: httpx2.Client, tenant_id: str, mailbox_id: str) -> dict[str, Any]:
    usage: dict[str, Any] = json_of(
        api.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage")
    )
    return usage


def _events(api: httpx2.Client, tenant_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json_of(
        api.get("/v1/enforcement/events", params={"tenant_id": tenant_id})
    )["events"]
    return events


def _advance(control: httpx2.Client, seconds: float) -> datetime:
    moved = json_of(control.post("/_sandbox/clock", json={"advance_seconds": seconds}))
    return datetime.fromisoformat(moved["now"])


def _move_to_hour(control: httpx2.Client, hour: int) -> None:
    now = datetime.fromisoformat(json_of(control.get("/_sandbox/clock"))["now"])
    _advance(control, seconds_until_hour(now, hour))


def _cap_of(api: httpx2.Client, tenant_id: str, address: str) -> int | None:
    """The cap Exchange holds for `address`: the RecipientLimitPerDay of the policy naming it."""
    state = json_of(
        api.get(f"/v1/tenants/{tenant_id}/mailbox-limits", params={"domain_scope": DOMAIN})
    )
    for policy in state["provisioning"]["outbound_spam_policies"]:
        if address in policy["senders"]:
            return int(policy["recipient_limit_per_day"])
    return None


def test_caps_hold_in_exchange_and_midnight_releases(deployment: Deployment) -> None:
    key = deployment.create_key("acme")
    deployment.serve()
    api, control = deployment.api(key), deployment.control()
    ca = control.get("/_sandbox/tls/ca.pem").text
    # The day's sends, the sync an hour later and the lower cap all well before midnight,
    # whatever the hour the suite runs at; and the tenant's first sync at 10:00, so the next
    # one, an hour later, sees the sends whole.
    _move_to_hour(control, 10)
    tenant_id = str(uuid.uuid4())
    connect_tenant(api, tenant_id)
    add_verified_domain(api, tenant_id, DOMAIN)
    provision(api, tenant_id, DOMAIN, "sales", "ops")
    wait_for(lambda: all_ready(api, tenant_id, 2), what="mailboxes ready")
    ids = {m["primary_smtp"]: m["id"] for m in mailboxes(api, tenant_id)}
    for address, cap in ((SALES, 5), (OPS, 4)):
        patched = api.patch(
            f"/v1/tenants/{tenant_id}/mailboxes/{ids[address]}", json={"daily_send_limit": cap}
        )
        json_of(patched)
    limits = json_of(
        api.post(
            f"/v1/tenants/{tenant_id}/mailbox-limits",
            json={"daily_send_limit": 25, "domain_scope": DOMAIN},
        )
    )
    assert limits["policy"]["provisioning_status"] == "provisioned", limits
    assert _cap_of(api, tenant_id, SALES) == 5

    codes = [send(deployment.smtp_port, ca, SALES, PASSWORD) for _ in range(8)]
    assert codes[:5] == [250] * 5
    assert all(code >= 500 for code in codes[5:]), codes

    # The next sync (the clock reaches it) reports what Exchange did.
    _advance(control, 3600)
    wait_for(lambda: _usage(api, tenant_id, ids[SALES])["is_blocked"], what="sales blocked")
    usage = _usage(api, tenant_id, ids[SALES])
    assert usage["sends_today"] == 5
    assert usage["blocked_at"] is not None
    assert [
        (e["action_taken"], e["sent_count"], e["limit_value"]) for e in _events(api, tenant_id)
    ] == [("blocked", 5, 5)]

    # Lowering an enforced mailbox's cap reaches Exchange without another POST mailbox-limits.
    json_of(
        api.patch(f"/v1/tenants/{tenant_id}/mailboxes/{ids[OPS]}", json={"daily_send_limit": 2})
    )
    wait_for(lambda: _cap_of(api, tenant_id, OPS) == 2, what="ops capped at 2 in Exchange")
    codes = [send(deployment.smtp_port, ca, OPS, PASSWORD) for _ in range(3)]
    assert codes[:2] == [250, 250]
    assert codes[2] >= 500, codes

    now = datetime.fromisoformat(json_of(control.get("/_sandbox/clock"))["now"])
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    _advance(control, (midnight - now).total_seconds() + 60)
    wait_for(
        lambda: [e["action_taken"] for e in _events(api, tenant_id)].count("unblocked") == 1,
        what="one unblocked event",
    )
    unblocked = [e for e in _events(api, tenant_id) if e["action_taken"] == "unblocked"]
    assert [e["mailbox_address"] for e in unblocked] == [SALES]
    usage = _usage(api, tenant_id, ids[SALES])
    assert usage["sends_today"] == 0
    assert usage["is_blocked"] is False
    assert send(deployment.smtp_port, ca, SALES, PASSWORD) == 250
