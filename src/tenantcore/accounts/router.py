"""`POST /v1/api-key/rotate` (TenantCore docs) and, beyond them, `/v1/api-keys`: an account's
keys, full or read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from tenantcore.accounts import service
from tenantcore.accounts.errors import (
    AUTH_ERRORS,
    WRITE_AUTH_ERRORS,
    ApiKeyNotFound,
    LastFullKey,
)
from tenantcore.accounts.last_used import after_use
from tenantcore.accounts.models import ApiKey, KeyScope
from tenantcore.core.deps import (
    ContextDep,
    PrincipalDep,
    ReadPrincipalDep,
    ReadSessionDep,
    SessionDep,
)
from tenantcore.core.errors import IDEMPOTENCY_ERRORS, InvalidRequest, responses

router = APIRouter(prefix="/v1", tags=["API keys"])

SHOWN_ONCE = "Store this key now: it is shown once."


class RotatedKey(BaseModel):
    api_key: str
    created_at: datetime
    message: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None, min_length=1, max_length=100, description="What the key is for."
    )
    scope: Literal["full", "read"] = Field(
        default="full",
        description="`full`: everything the account may do. `read`: GET requests only (and "
        "rotating itself); any other call is 403 `read_only_key`.",
    )


class KeyOut(BaseModel):
    id: str
    name: str | None
    scope: Literal["full", "read"]
    key_prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When the key last authenticated a request, to the minute (written at "
        "most once a minute per key); null if it never has. A key unused for months is a "
        "candidate for revoking."
    )
    current: bool = Field(description="True for the key that made this request.")


class CreatedKey(KeyOut):
    api_key: str = Field(description="The key itself, shown only in this response.")
    message: str


class KeyList(BaseModel):
    keys: list[KeyOut]
    count: int


def _out(row: ApiKey, current_key_id: str, now: datetime | None = None) -> KeyOut:
    """`now`: the request's time, which counts as a use of the calling key (its write may
    still be on the way)."""
    current = row.id == current_key_id
    return KeyOut(
        id=row.id,
        name=row.name,
        scope=KeyScope(row.scope).value,
        key_prefix=f"tc_live_{row.prefix[:8]}",
        created_at=row.created_at,
        last_used_at=(
            after_use(row.last_used_at, now) if current and now is not None else row.last_used_at
        ),
        current=current,
    )


@router.post("/api-key/rotate", responses=responses(*AUTH_ERRORS, *IDEMPOTENCY_ERRORS))
async def rotate(principal: PrincipalDep, session: SessionDep) -> RotatedKey:
    """Issue a new key (same name and scope) and revoke the one used for this call, at once.
    A read-only key may rotate itself."""
    issued = await service.rotate_key(session, principal)
    return RotatedKey(
        api_key=issued.key,
        created_at=issued.row.created_at,
        message=f"{SHOWN_ONCE} The previous key no longer works.",
    )


@router.post("/api-keys", status_code=201, responses=responses(*WRITE_AUTH_ERRORS, InvalidRequest))
async def create_key(body: KeyCreate, principal: PrincipalDep, session: SessionDep) -> CreatedKey:
    """Another key for the account, full or read-only; the key is shown once."""
    issued = await service.create_key(
        session, principal, scope=KeyScope(body.scope), name=body.name
    )
    return CreatedKey(
        **_out(issued.row, principal.key_id).model_dump(), api_key=issued.key, message=SHOWN_ONCE
    )


@router.get("/api-keys", responses=responses(*AUTH_ERRORS))
async def list_keys(
    principal: ReadPrincipalDep, session: ReadSessionDep, context: ContextDep
) -> KeyList:
    """The account's keys in force, oldest first (never the keys themselves)."""
    rows = await service.list_keys(session, principal)
    now = context.now()
    return KeyList(keys=[_out(row, principal.key_id, now) for row in rows], count=len(rows))


@router.delete(
    "/api-keys/{key_id}",
    status_code=204,
    responses=responses(*WRITE_AUTH_ERRORS, ApiKeyNotFound, LastFullKey),
)
async def revoke_key(key_id: str, principal: PrincipalDep, session: SessionDep) -> Response:
    """Revoke a key of the account at once (the caller's own too). The account's last full
    key cannot be revoked (409 `last_full_key`): rotate it instead."""
    await service.revoke(session, principal, key_id)
    return Response(status_code=204)
