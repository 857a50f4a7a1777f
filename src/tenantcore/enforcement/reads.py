"""`GET /v1/enforcement/events` on the read pool (core/reads.py): rows straight to JSON in the
shape of `EventPage` (the API tests hold it to the model)."""

from __future__ import annotations

import orjson
from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
from tenantcore.core.reads import JSON_OPTIONS
from tenantcore.enforcement import repository
from tenantcore.enforcement.errors import InvalidEventFilter
from tenantcore.enforcement.models import EnforcementAction
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
    action: str | None,
    limit: int,
    offset: int,
) -> bytes:
    """Blocks and unblocks of the caller's tenants (or one of them), newest first."""
    if action is not None and action not in _ACTIONS:
        raise InvalidEventFilter
    if not 1 <= limit <= MAX_EVENTS_PER_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidEventFilter
    tenant_pk = None
    if tenant_id is not None:
        tenant_pk = require_tenant_row(connection, principal, tenant_id)[0]
    rows, total = repository.events_page_on(
        connection,
        principal.account_id,
        tenant_pk=tenant_pk,
        action=action,
        limit=limit,
        offset=offset,
    )
    events = [dict(zip(repository.EVENT_FIELDS, row, strict=True)) for row in rows]
    return orjson.dumps(
        {"events": events, "count": len(events), "total": total, "limit": limit, "offset": offset},
        option=JSON_OPTIONS,
    )
