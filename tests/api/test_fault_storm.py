"""A fault storm: the sandbox fails half of all Graph and Exchange calls (some only after they
took effect, as lost responses) and adds latency. Every operation still converges — tenants
bootstrapped, domains verified, mailboxes ready, enforcement provisioned — nothing is
duplicated in Exchange, and no client ever sees a 5xx."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx2

from tests.api.conftest import open_api
from tests.api.mailbox_support import exchange_mailboxes, faults

STORM = (
    {"host": "graph", "error_rate": 0.5, "error_statuses": [429, 500, 503], "latency_ms": 5},
    {"host": "exchange", "error_rate": 0.5, "error_statuses": [429, 500, 503], "latency_ms": 5},
    {"host": "graph", "error_rate": 0.2, "phase": "after"},
    {"host": "exchange", "error_rate": 0.2, "phase": "after"},
)
for rule in STORM:
    rule.setdefault("retry_after_seconds", 0.01)


async def test_everything_converges_and_no_client_sees_a_5xx(tmp_path: Path) -> None:
    # More attempts than the default 6: at ~60% failures per attempt, 14 leave about one call
    # in a thousand failing, which the background retries absorb and the test must not see.
    async with open_api(tmp_path, max_attempts=14) as api:
        statuses: Counter[int] = Counter()

        async def record(response: httpx2.Response) -> None:
            statuses[response.status_code] += 1
            assert response.status_code < 500, (response.request.url, response.status_code)

        http = api.client()
        http.event_hooks["response"].append(record)
        await faults(api, *STORM)

        tenants = []
        for n in range(2):
            tenant_id = await api.connect_tenant()
            tenants.append(tenant_id)
            for d in range(2):
                domain = f"storm{d}.company{n}.com"
                added = await http.post(f"/v1/tenants/{tenant_id}/domains", json={"domain": domain})
                assert added.status_code in (200, 201), added.text
                verified = await http.post(f"/v1/tenants/{tenant_id}/domains/{domain}/verify")
                assert verified.status_code == 200, verified.text
                body = {
                    "domain": domain,
                    "account_password": "SecureP@ssw0rd!",
                    "mailboxes": [
                        {"name": local, "email": f"{local}@{domain}"} for local in ("a", "b", "c")
                    ],
                }
                created = await http.post(f"/v1/tenants/{tenant_id}/mailboxes", json=body)
                assert created.status_code == 200, created.text
            limits = await http.post(
                f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 10}
            )
            assert limits.status_code == 200, limits.text
        await api.worker.drain(max_passes=400)

        for tenant_id in tenants:
            tenant = (await http.get(f"/v1/tenants/{tenant_id}")).json()
            assert tenant["exchange_bootstrap_status"] == "ready"
            listing = (await http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()
            assert listing["count"] == 6
            assert {m["status"] for m in listing["mailboxes"]} == {"ready"}, listing
            policy = (await http.get(f"/v1/tenants/{tenant_id}/mailbox-limits")).json()
            assert policy["policy"]["provisioning_status"] == "provisioned", policy
            in_exchange = Counter(
                m.primary_smtp_address for m in await exchange_mailboxes(api, tenant_id)
            )
            assert sorted(in_exchange) == sorted(m["primary_smtp"] for m in listing["mailboxes"])
            assert set(in_exchange.values()) == {1}
        injected = (await api.control.get("/_sandbox/counters")).json()["injected_faults"]
        assert sum(injected.values()) > 50, "the storm must really have hit"
        assert not [status for status in statuses if status >= 500]
