"""Per-key rate limiting: past its rate a key gets 429 `rate_limited` with `Retry-After`,
nothing it asked for is done, other keys are unaffected, and the budget refills with time."""

from __future__ import annotations

import uuid

import pytest

from tenantcore.core.ratelimit import RateLimiter
from tenantcore.settings import Settings
from tests.api.conftest import Api


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_past_the_rate_a_key_gets_429_with_retry_after(api: Api) -> None:
    clock = ManualClock()
    # 30 per minute (one every 2 s) in bursts of 3.
    api.context.rate_limiter = RateLimiter(per_minute=30, burst=3, clock=clock)
    http = api.http
    for _ in range(3):
        assert (await http.get("/v1/tenants")).status_code == 200

    limited = await http.get("/v1/tenants")
    assert limited.status_code == 429
    assert limited.json()["detail"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "2"

    # A limited write changes nothing.
    tenant_id = str(uuid.uuid4())
    refused = await http.post("/v1/tenants", json={"tenant_id": tenant_id})
    assert refused.status_code == 429
    clock.now += 2.0
    assert (await http.get(f"/v1/tenants/{tenant_id}")).json()["detail"]["code"] == (
        "tenant_not_found"
    )

    # Another key has its own budget.
    other = api.client(await api.new_key("other-account"))
    assert (await other.get("/v1/tenants")).status_code == 200

    # Time refills the bucket, never beyond the burst.
    clock.now += 3600
    statuses = [(await http.get("/v1/tenants")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


async def test_bad_keys_are_refused_before_any_budget_is_spent(api: Api) -> None:
    api.context.rate_limiter = RateLimiter(per_minute=30, burst=1, clock=ManualClock())
    for _ in range(3):
        response = await api.client("tc_live_" + "0" * 48).get("/v1/tenants")
        assert response.json()["detail"]["code"] == "invalid_api_key"
    assert (await api.http.get("/v1/tenants")).status_code == 200


async def test_zero_disables_the_limit(api: Api) -> None:
    api.context.rate_limiter = RateLimiter(per_minute=0, burst=1, clock=ManualClock())
    statuses = {(await api.http.get("/v1/tenants")).status_code for _ in range(20)}
    assert statuses == {200}


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTCORE_RATE_LIMIT_PER_MINUTE", "90")
    monkeypatch.setenv("TENANTCORE_RATE_LIMIT_BURST", "15")
    settings = Settings()
    limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    assert (limiter.rate, limiter.burst) == (1.5, 15.0)


async def test_the_read_pool_endpoints_count_against_the_same_budget(api: Api) -> None:
    tenant_id = await api.connect_tenant()
    clock = ManualClock()
    api.context.rate_limiter = RateLimiter(per_minute=30, burst=3, clock=clock)
    mailboxes = f"/v1/tenants/{tenant_id}/mailboxes"
    assert (await api.http.get(mailboxes)).status_code == 200
    assert (await api.http.get("/v1/enforcement/events")).status_code == 200
    assert (await api.http.get("/v1/tenants")).status_code == 200
    for path in (mailboxes, "/v1/enforcement/events"):
        limited = await api.http.get(path)
        assert limited.status_code == 429, path
        assert limited.json()["detail"]["code"] == "rate_limited"
        assert limited.headers["Retry-After"] == "2"
    clock.now += 2.0
    assert (await api.http.get(mailboxes)).status_code == 200
