"""`GET /v1/enforcement/events` on the read pool (core/reads.py): rows straight to JSON in the
shape of `EventPage` (the API tests hold it to the model)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
from tenantcore.core.pagination import cut, decode_cursor, key_time, time_key
from tenantcore.core.reads import JSON_OPTIONS
from tenantcore.core.timefilter import time_window
from tenantcore.enforcement import repository
from tenantcore.enforcement.errors import InvalidEventFilter
from tenantcore.enforcement.models import EnforcementAction
from tenantcore.mailboxes.errors import MailboxNotFound
from tenantcore.tenants.service import require_tenant_row

MAX_EVENTS_PER_PAGE = 500
# Deeper than any account's history; keeps the value inside every database's integer.
MAX_OFFSET = 2**31 - 1
_ACTIONS = frozenset(action.value for action in EnforcementAction)
_CURSOR_KIND = "events"
_CREATED_AT = repository.EVENT_FIELDS.index("created_at")
_OCCURRED_AT = repository.EVENT_FIELDS.index("occurred_at")
_ID = repository.EVENT_FIELDS.index("id")


def event_page(
    connection: Connection,
    principal: Principal,
    *,
    tenant_id: str | None,
    mailbox_id: str | None,
    mailbox_address: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> bytes:
    """Blocks and unblocks of the caller's tenants (or of one tenant or mailbox, by id or by
    address: events outlive a deleted mailbox under its address), newest first, optionally only
    those recorded in [since, until); a page by `offset`, or after a `cursor`."""
    if action is not None and action not in _ACTIONS:
        raise InvalidEventFilter
    if not 1 <= limit <= MAX_EVENTS_PER_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidEventFilter
    after = _after(cursor)
    if after is not None and offset:
        raise InvalidEventFilter("Send cursor or offset, not both.")
    since_at, until_at = time_window(since, until, InvalidEventFilter)
    tenant_pk = None
    if tenant_id is not None:
        tenant_pk = require_tenant_row(connection, principal, tenant_id)[0]
    if mailbox_id is not None:
        mailbox_tenant = repository.owned_mailbox_tenant_on(
            connection, principal.account_id, mailbox_id
        )
        if mailbox_tenant is None or tenant_pk not in (None, mailbox_tenant):
            raise MailboxNotFound
    rows, total = repository.events_page_on(
        connection,
        principal.account_id,
        tenant_pk=tenant_pk,
        mailbox_pk=mailbox_id,
        mailbox_address=None if mailbox_address is None else mailbox_address.strip().lower(),
        action=action,
        since=since_at,
        until=until_at,
        limit=limit + 1,
        offset=offset,
        after=after,
    )
    page, next_cursor = cut(rows, limit, _CURSOR_KIND, _position)
    events = [dict(zip(repository.EVENT_FIELDS, row, strict=True)) for row in page]
    return orjson.dumps(
        {
            "events": events,
            "count": len(events),
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": next_cursor,
        },
        option=JSON_OPTIONS,
    )


def _after(cursor: str | None) -> tuple[datetime, datetime, str] | None:
    key = decode_cursor(_CURSOR_KIND, cursor, 3)
    if key is None:
        return None
    return key_time(key[0]), key_time(key[1]), key[2]


def _position(row: Any) -> tuple[str, str, str]:
    """An event row's place in the order: when recorded, when it happened, its id."""
    return time_key(row[_CREATED_AT]), time_key(row[_OCCURRED_AT]), row[_ID]
