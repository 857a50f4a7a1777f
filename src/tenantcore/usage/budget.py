"""The per-tenant message-trace budget the usage sync spends from.

Microsoft allows 100 message-trace queries per 5 minutes per tenant (wire reference 4.8), over
a window we cannot see. Spending at most half of it per fixed window of ours keeps any 5-minute
span, which overlaps at most two of our windows, within the 100. The window is kept on the
tenant row, so every worker sees what the others spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tenantcore.tenants.models import Tenant

TRACE_WINDOW = timedelta(minutes=5)
TRACE_QUERIES_PER_WINDOW = 50


@dataclass
class TraceBudget:
    started_at: datetime
    spent: int

    @classmethod
    def of(cls, tenant: Tenant, now: datetime) -> TraceBudget:
        started = tenant.trace_window_started_at
        if started is None or now - started >= TRACE_WINDOW:
            return cls(now, 0)
        return cls(started, tenant.trace_queries_in_window)

    @property
    def left(self) -> int:
        return TRACE_QUERIES_PER_WINDOW - self.spent

    @property
    def renews_at(self) -> datetime:
        return self.started_at + TRACE_WINDOW

    def charge(self) -> None:
        """One message-trace request sent (a retry is one more to Microsoft)."""
        self.spent += 1

    def keep_on(self, tenant: Tenant) -> None:
        tenant.trace_window_started_at = self.started_at
        tenant.trace_queries_in_window = self.spent
