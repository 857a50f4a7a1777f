"""Audit log responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    id: str
    api_key_id: str = Field(description="The key that asked (its id in `GET /v1/api-keys`).")
    request_id: str | None = Field(description="The answer's `X-Request-Id`.")
    method: str
    route: str = Field(description="The endpoint, as its path template.")
    path: str = Field(description="The path asked for.")
    tenant_id: str | None = Field(description="The path's tenant, if the endpoint has one.")
    fields: list[str] = Field(
        description="The top-level field names of the JSON body, sorted; never their values."
    )
    status_code: int = Field(description="What the API answered.")
    created_at: datetime


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    count: int = Field(description="Entries in this page.")
    total: int = Field(description="Entries matching the filters.")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="The `cursor` of the next (older) page; null on the last."
    )
