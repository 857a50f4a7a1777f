"""FastAPI dependencies: the context, one unit of work per request, the calling account.

The session dependency uses `scope="function"` so its commit runs before the response is sent:
a failed commit becomes an error response, never a 2xx for a change that was not saved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.errors import RateLimited
from tenantcore.accounts.service import Principal, authenticate
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.ratelimit import retry_after_header


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def write_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(context.sessionmaker) as session:
        yield session


async def read_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(write_session, scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(read_session, scope="function")]


def _within_rate(context: AppContext, principal: Principal) -> Principal:
    wait = context.rate_limiter.take(principal.key_id)
    if wait is not None:
        raise RateLimited(headers={"Retry-After": retry_after_header(wait)})
    return principal


async def principal_for_write(
    context: ContextDep,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return _within_rate(context, await authenticate(session, authorization))


async def principal_for_read(
    context: ContextDep,
    session: ReadSessionDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return _within_rate(context, await authenticate(session, authorization))


# Routes that write take PrincipalDep + SessionDep; read-only routes take the Read variants.
# FastAPI caches a dependency per request, so the principal and the route share one session.
PrincipalDep = Annotated[Principal, Depends(principal_for_write)]
ReadPrincipalDep = Annotated[Principal, Depends(principal_for_read)]
