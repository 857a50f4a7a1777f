"""FastAPI dependencies: the context, one unit of work per request, the calling account.

The session dependency uses `scope="function"` so its commit runs before the response is sent:
a failed commit becomes an error response, never a 2xx for a change that was not saved.

`ReaderDep` is for the hot read endpoints: authentication and the endpoint's queries run as
one synchronous read on the read pool (core/reads.py), with no session at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.errors import RateLimited, ReadOnlyKey
from tenantcore.accounts.service import Principal, authenticate, authenticate_on
from tenantcore.audit.trail import note_write
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.ratelimit import retry_after_header


async def get_context(request: Request) -> AppContext:
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


class ApiKeyScheme(SecurityBase):
    """Declares the API key as an HTTP bearer scheme in OpenAPI (so `/docs` can authorize
    requests and clients generated from the schema send it) and hands the raw Authorization
    header to `accounts.service`, which tells a missing key, a malformed header and a wrong
    key apart (FastAPI's own `HTTPBearer` answers all three alike)."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            bearerFormat="tc_live_ + 48 hex",
            description="An API key from `tenantcore keys create`: "
            "`Authorization: Bearer tc_live_…`.",
        )
        self.scheme_name = "ApiKey"

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get("authorization")


AuthorizationDep = Annotated[str | None, Depends(ApiKeyScheme())]


def _within_rate(context: AppContext, principal: Principal) -> Principal:
    wait = context.rate_limiter.take(principal.key_id)
    if wait is not None:
        raise RateLimited(headers={"Retry-After": retry_after_header(wait)})
    return principal


# What a read-only key may call besides GET: rotating itself.
_READ_KEY_ALSO = frozenset({("POST", "/v1/api-key/rotate")})


def _in_scope(principal: Principal, request: Request) -> Principal:
    if (
        principal.read_only
        and request.method not in ("GET", "HEAD")
        and (request.method, request.url.path) not in _READ_KEY_ALSO
    ):
        raise ReadOnlyKey
    return principal


async def principal_for_write(
    context: ContextDep,
    session: SessionDep,
    authorization: AuthorizationDep,
    request: Request,
) -> Principal:
    principal = await authenticate(session, authorization)
    await note_write(request, principal)
    _in_scope(principal, request)
    context.key_use.seen(principal.key_id, principal.last_used_at, context.now())
    return _within_rate(context, principal)


async def principal_for_read(
    context: ContextDep,
    session: ReadSessionDep,
    authorization: AuthorizationDep,
    request: Request,
) -> Principal:
    principal = await authenticate(session, authorization)
    await note_write(request, principal)
    _in_scope(principal, request)
    context.key_use.seen(principal.key_id, principal.last_used_at, context.now())
    return _within_rate(context, principal)


# Routes that write take PrincipalDep + SessionDep; read-only routes take the Read variants.
# FastAPI caches a dependency per request, so the principal and the route share one session.
PrincipalDep = Annotated[Principal, Depends(principal_for_write)]
ReadPrincipalDep = Annotated[Principal, Depends(principal_for_read)]


T = TypeVar("T")


@dataclass(frozen=True)
class Reader:
    """A read-only request: `await reader.run(query)` authenticates the caller, applies the
    rate limit and calls `query(connection, principal)`, all on one read-only connection on a
    read thread (core/reads.py)."""

    context: AppContext
    authorization: str | None

    async def run(self, query: Callable[[Connection, Principal], T]) -> T:
        caller: list[Principal] = []

        def authenticated(connection: Connection) -> T:
            principal = authenticate_on(connection, self.authorization)
            caller.append(principal)
            return query(connection, _within_rate(self.context, principal))

        try:
            return await self.context.reads.run(authenticated)
        finally:
            # Back on the event loop (the query ran on a read thread): a use counts even when
            # the answer is a 404 or a 429, as long as the key was valid.
            if caller:
                self.context.key_use.seen(
                    caller[0].key_id, caller[0].last_used_at, self.context.now()
                )


async def reader(request: Request, authorization: AuthorizationDep) -> Reader:
    return Reader(request.app.state.context, authorization)


ReaderDep = Annotated[Reader, Depends(reader)]
