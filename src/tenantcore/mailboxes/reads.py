"""The mailbox read endpoints: the list and one mailbox's usage (seed), one mailbox, and its
usage history.

They run on the read pool (core/reads.py): plain rows straight to JSON, no ORM objects. The
fields and formats are those of `MailboxList`/`MailboxOut` and `UsageOut`, which document
them; the API tests compare the documents with those models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
from tenantcore.core.dayrange import history_range
from tenantcore.core.errors import InvalidRequest
from tenantcore.core.pagination import cut, decode_cursor, fetch_size
from tenantcore.core.reads import JSON_OPTIONS
from tenantcore.domains.errors import DomainNotFound
from tenantcore.domains.names import lookup_name
from tenantcore.enforcement.caps import Ceiling, mailbox_cap
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE
from tenantcore.enforcement.repository import ceilings_on, row_ceilings
from tenantcore.mailboxes import repository
from tenantcore.mailboxes.errors import MailboxNotFound
from tenantcore.mailboxes.models import MailboxStatus
from tenantcore.mailboxes.schemas import UsageOut
from tenantcore.tenants.service import path_guid, require_tenant_row

_LIST_OUTPUT_FIELDS = repository.LIST_FIELDS[:-1]  # all but usage_day (and the tenant's name)
_LIST_DAY_AT = len(_LIST_OUTPUT_FIELDS)
_DOMAIN_AT = repository.LIST_FIELDS.index("domain_name")
_ADDRESS_AT = repository.LIST_FIELDS.index("primary_smtp")
_OWN_LIMIT_AT = repository.LIST_FIELDS.index("daily_send_limit")
_READY_AT = repository.LIST_FIELDS.index("ready_at")
_CURSOR_KIND = "mailboxes"


def todays_count(sends_today: int, usage_day: str | None, today: str) -> int:
    """Today's count; a counter the usage sync last wrote on an earlier UTC day is stale."""
    if usage_day is not None and usage_day != today:
        return 0
    return sends_today


_STATUSES = frozenset(status.value for status in MailboxStatus)


def mailbox_list(
    connection: Connection,
    principal: Principal,
    tenant_id: str,
    today: str,
    *,
    domain: str | None = None,
    status: str | None = None,
    blocked: bool | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> bytes:
    """The `MailboxList` document, serialized: every mailbox of the tenant (or of one domain,
    and/or in one status, and/or blocked or not), by domain and address; a page of them with
    `limit`."""
    if status is not None and status not in _STATUSES:
        raise InvalidRequest("status must be provisioning, ready or failed.")
    after = decode_cursor(_CURSOR_KIND, cursor, 2)
    domain_name = None if domain is None else lookup_name(domain)
    if domain is not None and domain_name is None:
        require_tenant_row(connection, principal, tenant_id)  # tenant_not_found first
        raise DomainNotFound
    tenant_guid = path_guid(tenant_id)
    rows, next_cursor = cut(
        repository.list_rows_on(
            connection,
            principal.account_id,
            tenant_guid,
            domain_name=domain_name,
            status=status,
            blocked=blocked,
            after=after,
            limit=fetch_size(limit),
        ),
        limit,
        _CURSOR_KIND,
        _position,
    )
    policies: dict[str, Ceiling] = {}
    if rows:
        tenant_name = rows[0][-1]
        policies = ceilings_on(connection, rows[0][repository.LIST_TENANT_PK_AT])
    else:  # none matching, a tenant without mailboxes, or none of the caller's
        tenant_pk, _, tenant_name = require_tenant_row(connection, principal, tenant_id)
        if domain_name is not None and not repository.domain_exists_on(
            connection, tenant_pk, domain_name
        ):
            raise DomainNotFound
    cap = list_row_caps(policies, date.fromisoformat(today))
    mailboxes = [_list_item(row, tenant_name, today, cap(row)) for row in rows]
    return orjson.dumps(
        {
            "tenant_id": tenant_guid,
            "mailboxes": mailboxes,
            "count": len(mailboxes),
            "next_cursor": next_cursor,
        },
        option=JSON_OPTIONS,
    )


def _position(row: Any) -> tuple[str, str]:
    """A list row's place in the list's order: (domain, address)."""
    return row[_DOMAIN_AT], row[_ADDRESS_AT]


def _no_cap(_row: Any) -> None:
    return None


def list_row_caps(policies: Mapping[str, Ceiling], today: date) -> Callable[[Any], int | None]:
    """The function giving a list row's `effective_send_limit` under the tenant's `policies`
    (enforcement/caps.py: the domain's policy, else the tenant-wide one; the mailbox's own
    cap never above it). Built once per request: at thousands of rows, one call per row is
    what the rule may cost."""
    if not policies:
        return _no_cap
    tenant_wide = policies.get(TENANT_WIDE_SCOPE)

    def cap(row: Any) -> int | None:
        ceiling = policies.get(row[_DOMAIN_AT], tenant_wide)
        if ceiling is None:
            return None
        if ceiling.ramp_start is None:  # the common case: no timestamp to read
            limit = ceiling.limit
        else:
            ready_at = row[_READY_AT]
            if isinstance(ready_at, str):  # SQLite's stored text (core/reads.as_stored)
                ready_at = datetime.fromisoformat(ready_at)
            limit = ceiling.on(today, ready_at)
        own: int | None = row[_OWN_LIMIT_AT]
        return limit if own is None or own > limit else own

    return cap


def _list_item(
    row: Any, tenant_name: str | None, today: str, effective: int | None
) -> dict[str, Any]:
    mailbox = dict(zip(_LIST_OUTPUT_FIELDS, row, strict=False))
    if row[_LIST_DAY_AT] is not None and row[_LIST_DAY_AT] != today:
        mailbox["sends_today"] = 0  # last counted on an earlier UTC day
    mailbox["tenant_name"] = tenant_name
    mailbox["effective_send_limit"] = effective
    return mailbox


def one_mailbox(
    connection: Connection, principal: Principal, tenant_id: str, mailbox_id: str, today: str
) -> bytes:
    """The `MailboxOut` document of one mailbox, serialized: the list's item for it."""
    rows = repository.list_rows_on(
        connection, principal.account_id, path_guid(tenant_id), mailbox_id=mailbox_id
    )
    if not rows:
        require_tenant_row(connection, principal, tenant_id)  # tenant_not_found first
        raise MailboxNotFound
    row = rows[0]
    policies = ceilings_on(connection, row[repository.LIST_TENANT_PK_AT])
    effective = list_row_caps(policies, date.fromisoformat(today))(row)
    return orjson.dumps(_list_item(row, row[-1], today, effective), option=JSON_OPTIONS)


def _percent(sends: int, cap: int) -> float:
    ratio = Decimal(sends * 100) / Decimal(cap)
    return float(ratio.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _usage_source(
    connection: Connection, principal: Principal, tenant_id: str, mailbox_id: str, today: str
) -> dict[str, Any]:
    """The mailbox's `USAGE_FIELDS` and `effective` (its enforced cap, see `UsageOut`), or
    `tenant_not_found` / `mailbox_not_found`."""
    row = repository.usage_row_on(
        connection, principal.account_id, path_guid(tenant_id), mailbox_id
    )
    if row is None:
        require_tenant_row(connection, principal, tenant_id)  # tenant_not_found first
        raise MailboxNotFound
    mailbox = dict(zip(repository.USAGE_FIELDS, row, strict=True))
    domain = mailbox["domain_name"]
    mailbox["effective"] = mailbox_cap(
        mailbox["daily_send_limit"],
        domain,
        mailbox["ready_at"],
        row_ceilings(mailbox, domain),
        date.fromisoformat(today),
    )
    return mailbox


def mailbox_usage(
    connection: Connection, principal: Principal, tenant_id: str, mailbox_id: str, today: str
) -> bytes:
    """The `UsageOut` document, serialized: today's numbers from the mailbox row (filled by the
    usage sync) measured against the cap that applies — the enforced one, else the mailbox's
    own; with none, remaining and utilization are null."""
    mailbox = _usage_source(connection, principal, tenant_id, mailbox_id, today)
    own_limit = mailbox["daily_send_limit"]
    effective = mailbox["effective"]
    applicable = effective if effective is not None else own_limit
    sends = todays_count(mailbox["sends_today"], mailbox["usage_day"], today)
    usage = UsageOut(
        mailbox_id=mailbox["id"],
        primary_smtp=mailbox["primary_smtp"],
        display_name=mailbox["display_name"],
        account_enabled=mailbox["account_enabled"],
        daily_send_limit=own_limit,
        sends_today=sends,
        remaining_sends=None if applicable is None else max(applicable - sends, 0),
        is_blocked=mailbox["blocked_at"] is not None,
        blocked_at=mailbox["blocked_at"],
        utilization_pct=None if applicable is None else _percent(sends, applicable),
        effective_send_limit=effective,
        usage_synced_at=mailbox["usage_synced_at"],
        status=mailbox["status"],
        smtp_auth_enabled=mailbox["smtp_auth_enabled"],
    )
    return usage.model_dump_json().encode()


def mailbox_usage_history(
    connection: Connection,
    principal: Principal,
    tenant_id: str,
    mailbox_id: str,
    *,
    first: str | None,
    last: str | None,
    today: str,
) -> bytes:
    """The `UsageHistory` document, serialized: the kept days in the range, then the day the
    usage sync is still counting (from the mailbox row), if it falls in the range."""
    from_day, to_day = history_range(first, last, today)
    mailbox = _usage_source(connection, principal, tenant_id, mailbox_id, today)
    days: list[dict[str, Any]] = []
    for row in repository.history_rows_on(connection, mailbox_id, from_day, to_day):
        day = dict(zip(repository.HISTORY_FIELDS, row, strict=True))
        day["state"] = "closed" if day["settled_at"] is None else "settled"
        days.append(day)
    counting = mailbox["usage_day"]
    kept = {day["day"] for day in days}
    if counting is not None and from_day <= counting <= to_day and counting not in kept:
        days.append(
            {
                "day": counting,
                "sends": mailbox["sends_today"],
                "limit_value": mailbox["effective"],
                "blocked_at": mailbox["blocked_at"],
                "state": "open",
                "settled_at": None,
            }
        )
    return orjson.dumps(
        {
            "mailbox_id": mailbox["id"],
            "primary_smtp": mailbox["primary_smtp"],
            "from": from_day,
            "to": to_day,
            "days": days,
            "count": len(days),
        },
        option=JSON_OPTIONS,
    )
