"""`POST /v1/api-key/rotate`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from tenantcore.accounts.errors import AUTH_ERRORS
from tenantcore.accounts.service import rotate_key
from tenantcore.core.deps import PrincipalDep, SessionDep
from tenantcore.core.errors import responses

router = APIRouter(prefix="/v1", tags=["API keys"])


class RotatedKey(BaseModel):
    api_key: str
    created_at: datetime
    message: str


@router.post("/api-key/rotate", responses=responses(*AUTH_ERRORS))
async def rotate(principal: PrincipalDep, session: SessionDep) -> RotatedKey:
    """Issue a new key and revoke the one used for this call, at once."""
    issued = await rotate_key(session, principal)
    return RotatedKey(
        api_key=issued.key,
        created_at=issued.created_at,
        message="Store this key now: it is shown once. The previous key no longer works.",
    )
