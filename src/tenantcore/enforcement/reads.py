"""`GET /v1/enforcement/events` on the read pool (core/reads.py): rows straight to JSON in the
shape of `EventPage` (the API tests hold it to the model)."""

from __future__ import annotations

import orjson
from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
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
) -> bytes:
    """Blocks and unblocks of the caller's tenants (or of one tenant or mailbox, by id or by
    address: events outlive a deleted mailbox under its address), newest first, optionally only
    those recorded in [since, until)."""
    if action is not None and action not in _ACTIONS:
        raise InvalidEventFilter
    if not 1 <= limit <= MAX_EVENTS_PER_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidEventFilter
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
        limit=limit,
        offset=offset,
    )
    events = [dict(zip(repository.EVENT_FIELDS, row, strict=True)) for row in rows]
    return orjson.dumps(
        {"events": events, "count": len(events), "total": total, "limit": limit, "offset": offset},
        option=JSON_OPTIONS,
    )
