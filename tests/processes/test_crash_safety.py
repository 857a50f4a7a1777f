"""Crash safety (issue 5, acceptances 2 and 3): background work SIGKILLed at random points while
30 mailboxes and their enforcement are provisioned ends, after restarts, with all 30 `ready`,
nothing duplicated in TenantCore or in Exchange, and each cap policy there once — on the
embedded default (one `tenantcore serve` process) and on PostgreSQL with two `tenantcore worker`
processes, which never work one tenant's Exchange at the same time.

(Exchange's peak concurrency is asserted without kills: a killed worker's last request is still
in flight at Exchange when the tenant's lock passes on, as it would be at Microsoft.)"""

from __future__ import annotations

import functools
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
import sqlalchemy as sa

from tenantcore.core.db import sync_database_url
from tests.databases import scratch_database, server_url
from tests.processes.harness import (
    Deployment,
    Process,
    add_verified_domain,
    all_ready,
    connect_tenant,
    json_of,
    mailboxes,
    provision,
    wait_for,
)
from tests.processes.inventory import read_inventory

LOCALS = ("alpha", "bravo", "charlie")
# Own caps of the first 15 mailboxes (3/5/7 in turn); the other 15 take the tenant-wide 20.
OWN_CAPS = (3, 5, 7)
TENANT_CEILING = 20
KILLS = 6
# Exchange slowed down while the work is asked for, and slower still while the kills land, so
# that they land in the middle of the work however fast the machine; the faults are cleared
# once the kills are over, so the rest runs at full speed. Mailboxes take 5 s to propagate, so
# those asked for last are still on their way while the kills land.
SLOW_EXCHANGE = {"rules": [{"host": "exchange", "latency_ms": 250, "latency_jitter_ms": 100}]}
CHAOS_EXCHANGE = {"rules": [{"host": "exchange", "latency_ms": 1200, "latency_jitter_ms": 300}]}
SETTINGS = {
    "TENANTCORE_SANDBOX__PROPAGATION_SECONDS": "5",
    "TENANTCORE_USAGE_SYNC_SECONDS": "5",
}


def _arrange(api: httpx2.Client, tenant_id: str, company: str = "acmecorp") -> dict[str, int]:
    """Connect, add the domains, ask for 30 mailboxes, give 15 their own cap and enforce a
    tenant-wide ceiling; returns the cap each address must end with in Exchange."""
    connect_tenant(api, tenant_id)
    for domain in (f"m{n}.{company}.com" for n in range(10)):
        add_verified_domain(api, tenant_id, domain)
        provision(api, tenant_id, domain, *LOCALS)
    expected: dict[str, int] = {}
    for n, mailbox in enumerate(sorted(mailboxes(api, tenant_id), key=lambda m: m["primary_smtp"])):
        cap = OWN_CAPS[n % len(OWN_CAPS)] if n < 15 else None
        if cap is not None:
            patch = {"daily_send_limit": cap}
            json_of(api.patch(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox['id']}", json=patch))
        expected[mailbox["primary_smtp"]] = cap or TENANT_CEILING
    json_of(
        api.post(
            f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": TENANT_CEILING}
        )
    )
    return expected


def _chaos(
    rng: random.Random,
    victims: Callable[[], list[Process]],
    after_restart: Callable[[], None],
    unfinished: Callable[[], bool],
) -> int:
    """Kill and restart at random moments; returns how many kills hit unfinished work."""
    mid_work = 0
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.2, 1.0))
        chosen = victims()
        mid_work += unfinished()
        for process in chosen:
            process.kill()
        time.sleep(rng.uniform(0.0, 0.3))
        for process in chosen:
            process.start()
        after_restart()
    return mid_work


def _settled(api: httpx2.Client, tenant_id: str) -> bool:
    if not all_ready(api, tenant_id, 30):
        return False
    state = json_of(api.get(f"/v1/tenants/{tenant_id}/mailbox-limits"))
    return bool(state["policy"]["provisioning_status"] == "provisioned")


def _assert_nothing_duplicated(
    deployment: Deployment, api: httpx2.Client, tenant_id: str, expected: dict[str, int]
) -> None:
    listed = mailboxes(api, tenant_id)
    assert sorted(m["primary_smtp"] for m in listed) == sorted(expected)
    assert {m["status"] for m in listed} == {"ready"}

    exchange = read_inventory(deployment.sandbox_http_port, tenant_id)
    assert exchange.mailboxes == Counter(list(expected)), "each mailbox once in Exchange"
    caps = sorted(set(expected.values()))
    assert sorted(exchange.policies) == sorted(f"TenantCore cap {cap}" for cap in caps)
    assert set(exchange.policies.values()) == {1}, exchange.policies
    assert set(exchange.policy_rules.values()) == {1}, exchange.policy_rules
    assert set(exchange.transport_rules.values()) == {1}, exchange.transport_rules
    for cap in caps:
        wanted = sorted(address for address, c in expected.items() if c == cap)
        assert exchange.senders_by_cap[cap] == wanted, f"cap {cap}"


@pytest.mark.skipif(server_url() is not None, reason="the embedded default runs on SQLite")
def test_embedded_service_killed_at_random_points(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    deployment = Deployment(tmp_path, settings=SETTINGS)
    try:
        key = deployment.create_key("acme")
        serve = deployment.serve()
        api, control = deployment.api(key), deployment.control()

        def chaos_exchange() -> None:
            control.put("/_sandbox/faults", json=CHAOS_EXCHANGE).raise_for_status()

        control.put("/_sandbox/faults", json=SLOW_EXCHANGE).raise_for_status()
        tenant_id = str(uuid.uuid4())
        expected = _arrange(api, tenant_id)
        chaos_exchange()
        mid_work = _chaos(
            rng, lambda: [serve], chaos_exchange, lambda: not _settled(api, tenant_id)
        )
        assert serve.kills == KILLS
        assert mid_work >= KILLS // 2, "the kills must interrupt work, or they prove nothing"
        control.delete("/_sandbox/faults").raise_for_status()
        wait_for(lambda: _settled(api, tenant_id), timeout=120, what=f"settled (seed {seed})")
        _assert_nothing_duplicated(deployment, api, tenant_id, expected)
    except BaseException:
        print(f"random seed {seed}\n{deployment.logs()}")  # noqa: T201 - shown on failure
        raise
    finally:
        deployment.stop()


@pytest.fixture
def postgres_deployment(tmp_path: Path) -> Iterator[Deployment]:
    if server_url() is None:
        pytest.skip("needs PostgreSQL (TENANTCORE_TEST_DATABASE_URL)")
    with scratch_database(tmp_path) as database_url:
        deployment = Deployment(
            tmp_path, database_url=database_url, embedded_sandbox=False, settings=SETTINGS
        )
        try:
            yield deployment
        finally:
            deployment.stop()


def test_two_postgres_workers_killed_at_random_points(postgres_deployment: Deployment) -> None:
    deployment = postgres_deployment
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    try:
        deployment.sandbox()
        key = deployment.create_key("acme")
        deployment.serve(worker=False)
        workers = [deployment.worker(1), deployment.worker(2)]
        api, control = deployment.api(key), deployment.control()
        control.put("/_sandbox/faults", json=SLOW_EXCHANGE).raise_for_status()
        control.delete("/_sandbox/counters").raise_for_status()
        tenants = [str(uuid.uuid4()) for _ in range(2)]
        expected = {
            tenant_id: _arrange(api, tenant_id, f"company{n}")
            for n, tenant_id in enumerate(tenants)
        }
        control.put("/_sandbox/faults", json=CHAOS_EXCHANGE).raise_for_status()
        mid_work = _chaos(
            rng,
            lambda: rng.sample(workers, rng.choice((1, 1, 2))),
            lambda: None,
            lambda: not all(_settled(api, tenant_id) for tenant_id in tenants),
        )
        assert mid_work >= KILLS // 2, "the kills must interrupt work, or they prove nothing"
        control.delete("/_sandbox/faults").raise_for_status()
        for tenant_id in tenants:
            wait_for(functools.partial(_settled, api, tenant_id), timeout=150, what=f"seed {seed}")
        for tenant_id in tenants:
            _assert_nothing_duplicated(deployment, api, tenant_id, expected[tenant_id])
    except BaseException:
        print(f"random seed {seed}\n{deployment.logs()}")  # noqa: T201 - shown on failure
        raise


def _policies_provisioned(database_url: str) -> bool:
    """Read from the rows: asking the API would read Exchange and add to its concurrency."""
    engine = sa.create_engine(sync_database_url(database_url), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            states = connection.execute(
                sa.text("SELECT provisioning_status FROM enforcement_policy")
            ).scalars()
            found = set(states)
    finally:
        engine.dispose()
    return found == {"provisioned"}


def test_two_postgres_workers_never_work_one_tenant_at_once(
    postgres_deployment: Deployment,
) -> None:
    deployment = postgres_deployment
    # One Exchange request per tenant at a time from each process: a peak of 2 or more could
    # then only come from two processes working one tenant together.
    deployment.settings["TENANTCORE_MICROSOFT__EXCHANGE_MAX_CONCURRENCY"] = "1"
    deployment.sandbox()
    key = deployment.create_key("acme")
    deployment.serve(worker=False)
    deployment.worker(1)
    deployment.worker(2)
    api, control = deployment.api(key), deployment.control()
    control.put("/_sandbox/faults", json=SLOW_EXCHANGE).raise_for_status()
    tenants = [str(uuid.uuid4()) for _ in range(4)]
    for n, tenant_id in enumerate(tenants):
        connect_tenant(api, tenant_id)
        for domain in (f"p{d}.company{n}.com" for d in range(2)):
            add_verified_domain(api, tenant_id, domain)
    # Counted from here: everything below is background work plus the API's own locked calls.
    control.delete("/_sandbox/counters").raise_for_status()
    for n, tenant_id in enumerate(tenants):
        for domain in (f"p{d}.company{n}.com" for d in range(2)):
            provision(api, tenant_id, domain, *LOCALS)
        json_of(api.post(f"/v1/tenants/{tenant_id}/mailbox-limits", json={"daily_send_limit": 9}))
    for tenant_id in tenants:
        wait_for(functools.partial(all_ready, api, tenant_id, 6), timeout=120, what="ready")
    assert deployment.database_url is not None
    wait_for(lambda: _policies_provisioned(deployment.database_url or ""), what="provisioned")
    counters = json_of(control.get("/_sandbox/counters"))
    peaks = counters["exchange_peak_concurrency"]
    assert {peaks[tenant_id] for tenant_id in tenants} == {1}, peaks
