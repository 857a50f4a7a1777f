"""Per-API-key request rate limiting: a token bucket per key, in this process.

Each key may make `per_minute` requests per minute on average, in bursts of up to `burst`.
Buckets live in the API process's memory: with N API processes behind a load balancer a key
gets up to N times the rate, which bounds what one key can cost a process — the point of the
limit — without a shared store on every request's path.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Buckets kept before idle (full) ones are dropped.
_MAX_BUCKETS = 100_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = per_minute > 0
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # Read endpoints take from the buckets on the read threads (core/reads.py).
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float | None:
        """Spend one request of `key_id`'s budget: None if allowed, else the seconds until
        the next request would be."""
        if not self.enabled:
            return None
        with self._lock:
            return self._take(key_id)

    def _take(self, key_id: str) -> float | None:
        now = self._clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._drop_idle(now)
            bucket = self._buckets[key_id] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _drop_idle(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {
            key: bucket for key, bucket in self._buckets.items() if now - bucket.updated < refill
        }


def retry_after_header(seconds: float) -> str:
    """HTTP's Retry-After takes whole seconds; round up so a client that waits is let in."""
    return str(max(1, math.ceil(seconds)))
