"""The FastAPI application: routers, error envelope, OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from tenantcore import __version__
from tenantcore.accounts.router import router as accounts_router
from tenantcore.core.context import AppContext
from tenantcore.core.errors import install_error_handlers
from tenantcore.domains.router import router as domains_router
from tenantcore.enforcement.router import router as enforcement_router
from tenantcore.tenants.router import router as tenants_router


def create_app(context: AppContext) -> FastAPI:
    app = FastAPI(
        title="TenantCore",
        version=__version__,
        description=(
            "Sending mailboxes on your own Microsoft 365 tenants: connect a tenant, register "
            "domains, provision shared mailboxes, cap daily sends inside Exchange Online."
        ),
    )
    app.state.context = context
    install_error_handlers(app)

    if context.sandbox is not None:

        @app.middleware("http")
        async def follow_sandbox_clock(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            await context.refresh_clock()
            return await call_next(request)

    app.include_router(accounts_router)
    app.include_router(tenants_router)
    app.include_router(domains_router)
    app.include_router(enforcement_router)
    return app
