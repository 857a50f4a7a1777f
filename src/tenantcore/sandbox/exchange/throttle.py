"""The request budget behind Exchange's `Rate-Limit-*` headers (wire reference 3.3, 3.6).

Only `Rate-Limit-Limit: 30000` has been observed; the window is UNCONFIRMED, so the sandbox
uses a fixed 5-minute window per tenant (the span of Microsoft's historical PowerShell
budgets). A tenant that spends the whole budget gets 429 until the window resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantcore.sandbox.timeutil import iso

LIMIT = 30_000
WINDOW = timedelta(minutes=5)


@dataclass
class _Window:
    started: datetime
    used: int = 0


class RateBudget:
    def __init__(self, limit: int = LIMIT, window: timedelta = WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[str, _Window] = {}

    def _current(self, tenant_id: str, now: datetime) -> _Window:
        window = self._windows.get(tenant_id)
        if window is None or now >= window.started + self.window or now < window.started:
            window = self._windows[tenant_id] = _Window(started=now)
        return window

    def take(self, tenant_id: str, now: datetime) -> float | None:
        """Spend one request; None, or the seconds until the budget resets."""
        window = self._current(tenant_id, now)
        if window.used >= self.limit:
            return max((window.started + self.window - now).total_seconds(), 0.001)
        window.used += 1
        return None

    def headers(self, tenant_id: str, now: datetime) -> dict[str, str]:
        window = self._current(tenant_id, now)
        reset = iso(window.started + self.window)
        # Exchange prints milliseconds: 2024-05-22T16:52:26.365Z.
        return {
            "Rate-Limit-Limit": str(self.limit),
            "Rate-Limit-Remaining": str(max(self.limit - window.used, 0)),
            "Rate-Limit-Reset": reset[:23] + "Z",
        }
