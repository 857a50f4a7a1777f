"""The in-process background worker: periodic passes over unfinished work found in the rows.

The database rows are the truth (a tenant's `next_attempt_at`, a mailbox's `next_check_at`);
each pass asks every reconciler to advance what is due, so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import structlog

from tenantcore.core.context import AppContext

log = structlog.get_logger(__name__)

Reconciler = Callable[[AppContext], Awaitable[int]]


class Worker:
    def __init__(self, context: AppContext, reconcilers: Sequence[Reconciler]) -> None:
        self.context = context
        self.reconcilers = list(reconcilers)

    async def run_once(self) -> int:
        """One pass of every reconciler; how many items were worked. A failing reconciler is
        logged and does not stop the others."""
        worked = 0
        try:
            await self.context.refresh_clock()
        except Exception as exc:  # noqa: BLE001 - a sandbox hiccup must not stop the pass
            log.warning("could not read the sandbox clock", error=repr(exc))
        for reconciler in self.reconcilers:
            try:
                worked += await reconciler(self.context)
            except Exception as exc:
                log.error(
                    "background pass failed",
                    reconciler=reconciler.__name__,
                    error=repr(exc),
                    exc_info=exc,
                )
        return worked

    async def drain(self, max_passes: int = 100) -> int:
        """Run passes until nothing is due (tests and the CLI use it to settle)."""
        total = 0
        for _ in range(max_passes):
            worked = await self.run_once()
            total += worked
            if worked == 0:
                break
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        interval = self.context.settings.worker_interval_seconds
        while not stop.is_set():
            await self.run_once()
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                continue


def default_reconcilers() -> list[Reconciler]:
    from tenantcore.domains.jobs import recheck_due_domains
    from tenantcore.enforcement.service import provision_due_tenants
    from tenantcore.mailboxes.provisioning import advance_due_mailboxes
    from tenantcore.tenants.bootstrap import advance_due_tenants
    from tenantcore.usage.sync import sync_due_tenants

    # Mailboxes before enforcement: a mailbox turning ready asks for its cap to be provisioned.
    return [
        advance_due_tenants,
        recheck_due_domains,
        advance_due_mailboxes,
        provision_due_tenants,
        sync_due_tenants,
    ]
