"""Background DNS re-checks: every domain's health is re-judged every
`settings.dns.recheck_seconds`, so `last_checked` and the statuses follow what the customer
changes at their DNS host without anyone asking."""

from __future__ import annotations

from datetime import timedelta

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains import repository, service


async def recheck_due_domains(context: AppContext, limit: int = 50) -> int:
    """One pass over the stalest domains; returns how many were checked. Safe to run in
    several workers at once: a check only overwrites verdicts with newer ones."""
    checked_before = context.now() - timedelta(seconds=context.settings.dns.recheck_seconds)
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await repository.due_for_recheck(session, checked_before, limit)
    worked = 0
    for domain_pk in due:
        worked += await service.recheck(context, domain_pk)
    return worked
