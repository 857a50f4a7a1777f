"""Background DNS re-checks: every domain's health is re-judged every
`settings.dns.recheck_seconds`, so `last_checked` and the statuses follow what the customer
changes at their DNS host without anyone asking; a verified domain whose DKIM signing is not
on yet, every `dkim_pending_recheck_seconds` during its first `dkim_pending_days`, so signing
starts soon after its records are published (domains/dkim.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.domains import repository, service


async def due_domains(context: AppContext, session: AsyncSession, limit: int) -> list[str]:
    """The domains whose re-check is due, stalest first."""
    now, dns = context.now(), context.settings.dns
    return await repository.due_for_recheck(
        session,
        now - timedelta(seconds=dns.recheck_seconds),
        limit,
        dkim_pending_checked_before=now - timedelta(seconds=dns.dkim_pending_recheck_seconds),
        dkim_pending_created_after=now - timedelta(days=dns.dkim_pending_days),
    )


async def recheck_due_domains(context: AppContext, limit: int = 50) -> int:
    """One pass over the stalest domains; returns how many were checked. Safe to run in
    several workers at once: a check only overwrites verdicts with newer ones."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        due = await due_domains(context, session, limit)
    worked = 0
    for domain_pk in due:
        worked += await service.recheck(context, domain_pk)
    return worked
