"""Reading the audit log: filters checked, one page."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.audit import repository
from tenantcore.audit.errors import InvalidAuditFilter
from tenantcore.audit.schemas import AuditEntryOut, AuditPage
from tenantcore.audit.trail import WRITE_METHODS
from tenantcore.core.pagination import cut, decode_cursor, key_time, time_key
from tenantcore.core.timefilter import time_window

MAX_PER_PAGE = 500
MAX_OFFSET = 2**31 - 1
_CURSOR_KIND = "audit"


async def audit_page(
    session: AsyncSession,
    principal: Principal,
    *,
    tenant_id: str | None,
    api_key_id: str | None,
    method: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    cursor: str | None = None,
) -> AuditPage:
    if method is not None:
        method = method.upper()
        if method not in WRITE_METHODS:
            raise InvalidAuditFilter
    if not 1 <= limit <= MAX_PER_PAGE or not 0 <= offset <= MAX_OFFSET:
        raise InvalidAuditFilter
    since_at, until_at = time_window(since, until, InvalidAuditFilter)
    key = decode_cursor(_CURSOR_KIND, cursor, 2)
    if key is not None and offset:
        raise InvalidAuditFilter("Send cursor or offset, not both.")
    fetched, total = await repository.page(
        session,
        principal.account_id,
        tenant_id=None if tenant_id is None else tenant_id.strip().lower(),
        api_key_id=api_key_id,
        method=method,
        since=since_at,
        until=until_at,
        limit=limit + 1,
        offset=offset,
        after=None if key is None else (key_time(key[0]), key[1]),
    )
    entries, next_cursor = cut(
        fetched, limit, _CURSOR_KIND, lambda entry: (time_key(entry.created_at), entry.id)
    )
    return AuditPage(
        entries=[
            AuditEntryOut(
                id=entry.id,
                api_key_id=entry.api_key_id,
                request_id=entry.request_id,
                method=entry.method,
                route=entry.route,
                path=entry.path,
                tenant_id=entry.tenant_id,
                fields=list(entry.fields),
                status_code=entry.status_code,
                created_at=entry.created_at,
            )
            for entry in entries
        ],
        count=len(entries),
        total=total,
        limit=limit,
        offset=offset,
        next_cursor=next_cursor,
    )
