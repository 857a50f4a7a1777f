"""`GET /v1/audit-log`: the account's change requests, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tenantcore.accounts.errors import AUTH_ERRORS
from tenantcore.audit.errors import InvalidAuditFilter
from tenantcore.audit.schemas import AuditPage
from tenantcore.audit.service import audit_page
from tenantcore.core.deps import ReadPrincipalDep, ReadSessionDep
from tenantcore.core.errors import responses
from tenantcore.core.pagination import InvalidCursor, LogCursor

router = APIRouter(prefix="/v1", tags=["Audit log"])


@router.get("/audit-log", responses=responses(*AUTH_ERRORS, InvalidAuditFilter, InvalidCursor))
async def list_audit_log(
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    tenant_id: Annotated[str | None, Query()] = None,
    api_key_id: Annotated[str | None, Query()] = None,
    method: Annotated[str | None, Query(description="POST, PATCH, PUT or DELETE.")] = None,
    since: Annotated[
        str | None,
        Query(description="Only entries recorded at or after this ISO 8601 date-time."),
    ] = None,
    until: Annotated[
        str | None, Query(description="Only entries recorded before this ISO 8601 date-time.")
    ] = None,
    limit: Annotated[int, Query()] = 50,
    offset: Annotated[int, Query()] = 0,
    cursor: LogCursor = None,
) -> AuditPage:
    """Every POST, PATCH, PUT and DELETE any of the account's keys sent, with the answer's
    status (429s and idempotent replays aside), kept for `audit_retention_days`. Read-only
    keys may read it."""
    return await audit_page(
        session,
        principal,
        tenant_id=tenant_id,
        api_key_id=api_key_id,
        method=method,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )
