"""`GET /v1/tenants/{tenant_id}/usage` on the read pool (core/reads.py): a tenant's sending
today, in all and per domain, from the numbers the usage sync keeps on each mailbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
from tenantcore.core.dayrange import history_range
from tenantcore.core.reads import JSON_OPTIONS, AnyRow
from tenantcore.enforcement.caps import Ceiling, mailbox_cap, scope_limit
from tenantcore.mailboxes.models import MailboxStatus
from tenantcore.mailboxes.reads import todays_count
from tenantcore.tenants.sending_limit import external_recipient_limit
from tenantcore.tenants.service import require_tenant_row
from tenantcore.usage import repository


def _totals(
    mailboxes: Iterable[dict[str, Any]], policies: Mapping[str, Ceiling], today: str
) -> dict[str, int]:
    totals = dict.fromkeys(
        (
            "sends_today",
            "capacity_today",
            "uncapped_mailboxes",
            "mailbox_count",
            "ready_count",
            "enforced_count",
            "blocked_count",
            "smtp_auth_disabled_count",
        ),
        0,
    )
    for mailbox in mailboxes:
        totals["mailbox_count"] += 1
        totals["sends_today"] += todays_count(mailbox["sends_today"], mailbox["usage_day"], today)
        totals["blocked_count"] += bool(mailbox["blocked"])
        if mailbox["status"] != MailboxStatus.READY:
            continue
        totals["ready_count"] += 1
        own = mailbox["daily_send_limit"]
        effective = mailbox_cap(
            own, mailbox["domain_name"], mailbox["ready_at"], policies, date.fromisoformat(today)
        )
        totals["enforced_count"] += effective is not None
        applicable = effective if effective is not None else own
        if applicable is None:
            totals["uncapped_mailboxes"] += 1
        else:
            totals["capacity_today"] += applicable
        totals["smtp_auth_disabled_count"] += mailbox["smtp_auth_enabled"] is False
    return totals


def capacity_today(connection: Connection, tenant_pk: str, today: str) -> int:
    """The sum of the caps that apply to the tenant's ready mailboxes (`capacity_today`)."""
    summary = repository.summary_rows_on(connection, tenant_pk)
    mailboxes = [_as_dict(row) for row in summary.mailboxes]
    return _totals(mailboxes, summary.policies, today)["capacity_today"]


def tenant_usage(connection: Connection, principal: Principal, tenant_id: str, today: str) -> bytes:
    """The `TenantUsage` document, serialized."""
    tenant_pk, tenant_guid, _ = require_tenant_row(connection, principal, tenant_id)
    summary = repository.summary_rows_on(connection, tenant_pk)
    policies = summary.policies
    mailboxes = [_as_dict(row) for row in summary.mailboxes]
    per_domain: dict[str, list[dict[str, Any]]] = {domain: [] for domain in summary.domains}
    for mailbox in mailboxes:
        per_domain.setdefault(mailbox["domain_name"], []).append(mailbox)
    totals = _totals(mailboxes, policies, today)
    limit = external_recipient_limit(summary.exchange_licenses, summary.trial_only)
    return orjson.dumps(
        {
            "tenant_id": tenant_guid,
            "day": today,
            "usage_synced_at": summary.synced_at,
            **totals,
            "external_recipient_limit": limit,
            "capacity_exceeds_tenant_limit": (
                None if limit is None else totals["capacity_today"] > limit
            ),
            "domains": [
                {
                    "domain_name": domain,
                    "policy_limit": _limit_of(scope_limit(domain, policies)),
                    **_totals(members, policies, today),
                }
                for domain, members in sorted(per_domain.items())
            ],
        },
        option=JSON_OPTIONS,
    )


def _limit_of(ceiling: Ceiling | None) -> int | None:
    return None if ceiling is None else ceiling.limit


def _as_dict(row: AnyRow) -> dict[str, Any]:
    return dict(zip(repository.SUMMARY_MAILBOX_FIELDS, row, strict=True))


def tenant_usage_history(
    connection: Connection,
    principal: Principal,
    tenant_id: str,
    *,
    first: str | None,
    last: str | None,
    today: str,
) -> bytes:
    """The `TenantUsageHistory` document, serialized: the tenant's kept days summed over its
    mailboxes, and the days still being counted."""
    from_day, to_day = history_range(first, last, today)
    tenant_pk, tenant_guid, _ = require_tenant_row(connection, principal, tenant_id)
    kept, counting = repository.tenant_days_on(connection, tenant_pk, from_day, to_day)
    days: dict[str, dict[str, Any]] = {}
    for day, sends, mailboxes, blocked, settled in kept:
        days[day] = {
            "day": day,
            "sends": int(sends or 0),
            "mailbox_count": mailboxes,
            "blocked_count": blocked,
            "state": "settled" if settled == mailboxes else "closed",
        }
    for day, sends, mailboxes, blocked in counting:
        entry = days.setdefault(
            day, {"day": day, "sends": 0, "mailbox_count": 0, "blocked_count": 0}
        )
        entry["sends"] += int(sends or 0)
        entry["mailbox_count"] += mailboxes
        entry["blocked_count"] += blocked
        entry["state"] = "open"
    ordered = [days[day] for day in sorted(days)]
    return orjson.dumps(
        {
            "tenant_id": tenant_guid,
            "from": from_day,
            "to": to_day,
            "days": ordered,
            "count": len(ordered),
        },
        option=JSON_OPTIONS,
    )
